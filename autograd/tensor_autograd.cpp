// Tensor's autograd members, record() (the one place nodes are created), grad mode, and the
// tensor-level writes that must respect autograd (copy_, fill_, contiguous).
// Read next: engine.cpp.
#include "../core/kernels/copy.h"
#include "engine.h"
#include "function.h"
#include "grad_mode.h"
#include "node.h"
#include "ops.h"

namespace ember {

namespace {
thread_local bool t_grad_enabled = true;
thread_local bool t_anomaly_enabled = false;
const Tensor kUndefined;
}  // namespace

bool GradMode::is_enabled() { return t_grad_enabled; }
void GradMode::set_enabled(bool enabled) { t_grad_enabled = enabled; }
bool autograd::AnomalyMode::is_enabled() { return t_anomaly_enabled; }
void autograd::AnomalyMode::set_enabled(bool enabled) { t_anomaly_enabled = enabled; }

void AutogradMetaDeleter::operator()(autograd::AutogradMeta* meta) const { delete meta; }

namespace autograd {

AutogradMeta& meta(const Tensor& t) {
  auto& slot = t.impl().autograd;
  if (!slot) slot.reset(new AutogradMeta());
  return *slot;
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.impl().autograd) return nullptr;
  AutogradMeta& m = *t.impl().autograd;
  if (m.grad_fn) return m.grad_fn;
  if (!m.requires_grad) return nullptr;
  if (auto acc = m.accumulator.lock()) return acc;
  auto acc = std::make_shared<Node>();
  acc->name = "AccumulateGrad";
  acc->leaf = t.impl_ptr();
  acc->out_sizes = Shape(t.sizes().begin(), t.sizes().end());
  m.accumulator = acc;
  return acc;
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output, std::weak_ptr<Node> made_by)
    : is_output_(is_output), by_other_node_(!made_by.expired()), made_by_(std::move(made_by)) {
  if (!t.defined()) return;
  // An output is kept as a fresh alias without autograd state: holding the op's own output
  // (whose grad_fn is the node that saves it) would be a reference cycle.
  data_ = is_output ? make_view(t, t.impl().sizes, t.impl().strides, t.storage_offset()) : t;
  version_ = t.storage()->version();
}

bool any_requires_grad(std::initializer_list<Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(const char* name, const Tensor& output, const std::vector<Tensor>& inputs,
              BackwardFn backward) {
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!GradMode::is_enabled() || !any) return output;
  auto node = std::make_shared<Node>();
  node->name = name;
  for (const Tensor& t : inputs) {
    node->next.push_back({t.defined() && t.requires_grad() ? gradient_edge(t) : nullptr});
    node->inputs.push_back({t.defined() ? Shape(t.sizes().begin(), t.sizes().end()) : Shape{},
                            t.defined() ? t.dtype() : kFloat32});
  }
  node->out_sizes = Shape(output.sizes().begin(), output.sizes().end());
  node->backward = std::move(backward);
  // A fresh handle: the kernel's tensor may be referenced elsewhere (a saved alias, an input).
  Tensor out =
      make_view(output, output.impl().sizes, output.impl().strides, output.storage_offset());
  AutogradMeta& m = meta(out);
  m.requires_grad = true;
  m.grad_fn = std::move(node);
  return out;
}

Tensor record(const char* name, const Tensor& output, std::initializer_list<Tensor> inputs,
              BackwardFn backward) {
  return record(name, output, std::vector<Tensor>(inputs), std::move(backward));
}

Tensor mark_nondifferentiable(const char* name, const Tensor& output,
                              std::initializer_list<Tensor> inputs) {
  if (any_requires_grad(inputs)) meta(output).made_by_nondifferentiable = name;
  return output;
}

void check_inplace(const Tensor& t, const char* op) {
  if (!(!(GradMode::is_enabled() && t.requires_grad())))
    fail(op, ": the tensor of shape ", shape_str(t.sizes()),
         " requires grad, so autograd cannot follow an in-place write to it; write under "
         "NoGradGuard (as optimizers do) or use an out-of-place op");
}

}  // namespace autograd

using autograd::meta;

bool Tensor::requires_grad() const { return impl().autograd && impl().autograd->requires_grad; }

Tensor& Tensor::requires_grad_(bool requires_grad) {
  check(!requires_grad || is_floating_point(),
        "requires_grad_: only floating tensors can require gradients, got ", dtype());
  check(is_leaf() || requires_grad,
        "requires_grad_: only leaves can stop requiring grad; use detach() to cut a non-leaf from "
        "the graph");
  meta(*this).requires_grad = requires_grad;
  return *this;
}

const Tensor& Tensor::grad() const { return impl().autograd ? impl().autograd->grad : kUndefined; }

void Tensor::set_grad(const Tensor& grad) const {
  if (!(!grad.defined() ||
        Shape(grad.sizes().begin(), grad.sizes().end()) == Shape(sizes().begin(), sizes().end())))
    fail("set_grad: gradient of shape ", shape_str(grad.sizes()), " for a tensor of shape ",
         shape_str(sizes()));
  meta(*this).grad = grad;
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  return impl().autograd ? impl().autograd->grad_fn : nullptr;
}

bool Tensor::is_leaf() const { return grad_fn() == nullptr; }

Tensor Tensor::detach() const {
  return make_view(*this, impl().sizes, impl().strides, storage_offset());
}

void Tensor::retain_grad() const {
  check(requires_grad(), "retain_grad: the tensor does not require grad");
  if (is_leaf()) return;  // leaves keep their gradient anyway
  meta(*this).retains_grad = true;
  grad_fn()->retained = impl_ptr();
}

bool Tensor::retains_grad() const { return impl().autograd && impl().autograd->retains_grad; }

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  autograd::run_backward({*this}, {gradient}, retain_graph || create_graph, create_graph, {},
                         false);
}

void Tensor::register_hook(std::function<Tensor(const Tensor&)> hook) const {
  check(requires_grad(),
        "register_hook: cannot register a hook on a tensor that does not require grad");
  if (is_leaf())
    meta(*this).leaf_hooks.push_back(std::move(hook));
  else
    grad_fn()->pre_hooks.push_back(std::move(hook));
}

void Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const {
  check(is_leaf() && requires_grad(),
        "register_post_accumulate_grad_hook: only a leaf that requires grad accumulates a "
        "gradient (tensor of shape ",
        shape_str(sizes()), ")");
  meta(*this).post_accumulate_hooks.push_back(std::move(hook));
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : ember::clone(*this); }

const Tensor& Tensor::copy_(const Tensor& src) const {
  autograd::check_inplace(*this, "copy_");
  kernels::copy(*this, src);
  storage()->bump_version();
  return *this;
}

const Tensor& Tensor::fill_(double value) const {
  autograd::check_inplace(*this, "fill_");
  kernels::fill(*this, value);
  storage()->bump_version();
  return *this;
}

}  // namespace ember

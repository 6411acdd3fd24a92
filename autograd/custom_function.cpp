// Function<T>::apply's bookkeeping, done once for every user op:
//   1. check what forward marked: dirty tensors are inputs it returned, non-differentiable
//      tensors are outputs;
//   2. record one node, "T", with an edge to each tensor argument; its backward calls
//      T::backward with one gradient per output and returns one per argument;
//   3. save what forward asked to save, now that forward is done writing (an output is kept
//      detached, as ops keep their own outputs, so the node does not own itself);
//   4. give each differentiable output its grad_fn. A dirty input keeps its handle and gets the
//      node as its new history, as in PyTorch.
// The engine gives each node one gradient, so with several differentiable outputs each one gets
// a small node, "T[output i]", that lays its gradient into a flat buffer at the output's place,
// zeros elsewhere; the engine adds those buffers up at T's node, whose backward cuts the buffer
// back into one gradient per output. Every step is an ember op, so double backward goes through.
#include "custom_function.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "function.h"
#include "ops.h"

namespace ember::autograd {

const char* IValue::kind() const {
  static constexpr const char* kinds[] = {"None",   "bool",   "int",      "double",
                                          "string", "Tensor", "int list", "double list"};
  return kinds[value_.index()];
}

void AutogradContext::save_for_backward(variable_list to_save) {
  check(!saved_taken_, name_,
        ": save_for_backward can only be called in forward, before it returns");
  to_save_ = std::move(to_save);
}

variable_list AutogradContext::get_saved_variables() const {
  check(saved_taken_, name_, ": get_saved_variables can only be called in backward");
  variable_list out;
  for (const SavedTensor& s : saved_) out.push_back(s.unpack());
  return out;
}

void AutogradContext::mark_dirty(const variable_list& inputs) {
  for (const Tensor& t : inputs) dirty_.push_back(t.defined() ? &t.impl() : nullptr);
}

void AutogradContext::mark_non_differentiable(const variable_list& outputs) {
  for (const Tensor& t : outputs) non_differentiable_.push_back(t.defined() ? &t.impl() : nullptr);
}

namespace detail {

std::string demangle(const char* mangled) {
  int status = 0;
  char* readable = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && readable ? readable : mangled;
  std::free(readable);
  return name;
}

namespace {

bool contains(const std::vector<const TensorImpl*>& impls, const Tensor& t) {
  return t.defined() && std::find(impls.begin(), impls.end(), &t.impl()) != impls.end();
}

// Where each differentiable output's gradient sits in the flat buffer of a many-output node.
struct Packing {
  std::vector<int64_t> offset;  // per output; -1 for one that is not differentiable
  int64_t total = 0;
  DType dtype = kFloat64;     // the outputs' dtype if they share one, else float64
  std::vector<bool> arrived;  // which outputs' gradients reached the buffer in this backward
};

}  // namespace

struct FunctionRecord {
  const std::string& name;
  std::shared_ptr<AutogradContext> ctx;
  variable_list inputs, outputs;
  UserBackward user_backward;

  void check_marks() const {
    auto is_output = [&](const TensorImpl* impl) {
      return std::any_of(outputs.begin(), outputs.end(),
                         [&](const Tensor& o) { return o.defined() && &o.impl() == impl; });
    };
    for (const TensorImpl* d : ctx->dirty_) {
      bool input = std::any_of(inputs.begin(), inputs.end(),
                               [&](const Tensor& t) { return t.defined() && &t.impl() == d; });
      check(d && input, name, ": mark_dirty was given a tensor that is not an argument of forward");
      check(is_output(d), name,
            ": a tensor marked dirty must be returned as an output of forward (it was written in "
            "place)");
    }
    for (const TensorImpl* n : ctx->non_differentiable_)
      check(n && is_output(n), name,
            ": mark_non_differentiable was given a tensor that is not an output of forward");
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& t = inputs[i];
      if (!contains(ctx->dirty_, t) || !ctx->needs_[i] || !t.is_leaf()) continue;
      fail(name, ": argument ", i, " (shape ", shape_str(t.sizes()),
           ") is a leaf that requires grad, so forward cannot write it in place (mark_dirty)");
    }
  }

  bool differentiable(const Tensor& o) const {
    return o.defined() && o.is_floating_point() && !contains(ctx->non_differentiable_, o);
  }

  // The gradients T::backward receives, one per output, from the node's incoming gradient.
  static variable_list output_grads(const AutogradContext& ctx, const Tensor& g,
                                    const std::vector<size_t>& diff,
                                    const std::vector<std::optional<InputInfo>>& shapes,
                                    Packing* packing) {
    variable_list grads(shapes.size());
    for (size_t i : diff) {
      if (!packing) {
        grads[i] = g;
      } else if (packing->arrived[i] || ctx.materialize_grads_) {
        int64_t n = numel_of(shapes[i]->sizes);
        grads[i] =
            to(reshape(narrow(g, 0, packing->offset[i], n), shapes[i]->sizes), shapes[i]->dtype);
      }
    }
    if (ctx.materialize_grads_)
      for (size_t i = 0; i < grads.size(); ++i)
        if (!grads[i].defined() && shapes[i]) grads[i] = zeros(shapes[i]->sizes, shapes[i]->dtype);
    if (packing) std::fill(packing->arrived.begin(), packing->arrived.end(), false);
    return grads;
  }

  variable_list run() {
    check_marks();
    for (const TensorImpl* d : ctx->dirty_) d->storage->bump_version();  // even if written raw
    bool any = std::find(ctx->needs_.begin(), ctx->needs_.end(), true) != ctx->needs_.end();
    std::vector<size_t> diff;  // the differentiable outputs
    for (size_t i = 0; i < outputs.size(); ++i)
      if (differentiable(outputs[i])) diff.push_back(i);
    if (!any || diff.empty()) return outputs;  // nothing to record; nothing is saved
    std::vector<std::optional<InputInfo>> shapes;
    for (const Tensor& o : outputs)
      shapes.push_back(o.defined() ? std::optional(InputInfo{shape_of(o), o.dtype()})
                                   : std::nullopt);

    auto node = std::make_shared<Node>();
    node->name = name.c_str();
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& t = inputs[i];
      node->next.push_back({ctx->needs_[i] ? gradient_edge(t) : nullptr});
      node->inputs.push_back(t.defined() ? InputInfo{shape_of(t), t.dtype()}
                                         : InputInfo{{}, kFloat32});
    }
    std::shared_ptr<Packing> packing;
    if (diff.size() > 1) {
      packing = std::make_shared<Packing>();
      packing->offset.assign(outputs.size(), -1);
      packing->arrived.assign(outputs.size(), false);
      packing->dtype = outputs[diff[0]].dtype();
      for (size_t i : diff) {
        packing->offset[i] = packing->total;
        packing->total += outputs[i].numel();
        if (outputs[i].dtype() != packing->dtype) packing->dtype = kFloat64;
      }
      node->out_sizes = {packing->total};
    } else {
      node->out_sizes = shapes[diff[0]]->sizes;
    }
    node->backward = [ctx = ctx, diff, shapes, packing, backward = user_backward,
                      n_args = inputs.size()](const Tensor& g, const Needs& needs) {
      ctx->needs_ = needs;
      variable_list grads = backward(ctx.get(), output_grads(*ctx, g, diff, shapes, packing.get()));
      // Trailing undefined gradients are for forward's defaulted arguments (libtorch's rule).
      while (grads.size() > n_args && !grads.back().defined()) grads.pop_back();
      check(grads.size() == n_args, ctx->name_, "::backward returned ", grads.size(),
            " gradients, but forward takes ", n_args,
            " arguments (return an undefined Tensor() for each one without a gradient)");
      for (size_t i = 0; i < n_args; ++i) {
        check(ctx->is_tensor_[i] || !grads[i].defined(), ctx->name_,
              "::backward returned a gradient for argument ", i,
              ", which is not a tensor (return an undefined Tensor() there)");
        if (!needs[i]) grads[i] = Tensor();  // not wanted: dropped, as PyTorch does
      }
      return grads;
    };

    // Each differentiable output's grad_fn: the node itself, or its own node feeding the buffer.
    std::vector<std::shared_ptr<Node>> makers(outputs.size());
    for (size_t i : diff) {
      if (!packing) {
        makers[i] = node;
        continue;
      }
      auto out = std::make_shared<Node>();
      out->name = "CustomFunction[output]";
      out->next.push_back({node});
      out->inputs.push_back({{packing->total}, packing->dtype});
      out->out_sizes = shapes[i]->sizes;
      out->backward = [packing, i](const Tensor& g, const Needs&) {
        packing->arrived[i] = true;
        int64_t at = packing->offset[i], n = g.numel();
        std::vector<Tensor> parts;
        if (at > 0) parts.push_back(zeros({at}, packing->dtype));
        parts.push_back(to(reshape(g, {-1}), packing->dtype));
        if (packing->total > at + n)
          parts.push_back(zeros({packing->total - at - n}, packing->dtype));
        return grads{parts.size() == 1 ? parts[0] : cat(parts, 0)};
      };
      makers[i] = out;
    }

    // What backward will unpack, saved now that forward's writes are done.
    for (const Tensor& t : ctx->to_save_) {
      auto o = std::find_if(outputs.begin(), outputs.end(),
                            [&](const Tensor& x) { return t.defined() && x.is_same(t); });
      if (o == outputs.end()) {
        ctx->saved_.push_back(save(t));
      } else {
        size_t i = static_cast<size_t>(o - outputs.begin());
        ctx->saved_.emplace_back(t, true,
                                 packing ? std::weak_ptr<Node>(makers[i]) : std::weak_ptr<Node>());
      }
    }
    ctx->to_save_.clear();
    ctx->saved_taken_ = true;

    variable_list result;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& o = outputs[i];
      if (!makers[i]) {  // a backward through it will name this op as where the gradient ends
        if (o.defined() && !o.requires_grad()) meta(o).made_by_nondifferentiable = name.c_str();
        result.push_back(o);
        continue;
      }
      // A dirty input keeps its handle: the caller's tensor now has this node as its history.
      Tensor handle = contains(ctx->dirty_, o) ? o : o.detach();
      AutogradMeta& m = meta(handle);
      m.requires_grad = true;
      m.grad_fn = makers[i];
      result.push_back(handle);
    }
    return result;
  }
};

variable_list record_function(const std::string& name, std::shared_ptr<AutogradContext> ctx,
                              variable_list inputs, variable_list outputs, UserBackward backward) {
  FunctionRecord record{name, std::move(ctx), std::move(inputs), std::move(outputs), backward};
  return record.run();
}

}  // namespace detail
}  // namespace ember::autograd

// Module: registration, traversal, train/eval, state_dict and printing; see module.h.
#include "module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <sstream>
#include <unordered_set>

#include "../autograd/ops.h"

namespace ember::nn {
namespace {

void check_name(const std::string& name, const char* what,
                const std::vector<std::pair<std::string, Tensor>>& taken) {
  if (name.empty() || name.find('.') != std::string::npos)
    fail("register_", what, ": name '", name, "' must be non-empty and contain no '.'");
  for (const auto& [n, t] : taken)
    if (n == name) fail("register_", what, ": '", name, "' is already registered");
}

template <typename Get>
std::vector<std::pair<std::string, Tensor>> collect(const Module& m, bool recurse, Get get,
                                                    const std::string& prefix = "") {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, t] : get(m)) out.push_back({prefix + name, t});
  if (recurse)
    for (const auto& [name, child] : m.named_children()) {
      auto sub = collect(*child, true, get, prefix + name + ".");
      out.insert(out.end(), sub.begin(), sub.end());
    }
  return out;
}

}  // namespace

Tensor Module::forward(const Tensor&) {
  fail(name_, ": this module has no forward(Tensor); call its own forward signature");
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_name(name, "parameter", parameters_);
  if (tensor.defined()) tensor.requires_grad_(requires_grad);
  parameters_.push_back({name, tensor});
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_name(name, "buffer", buffers_);
  buffers_.push_back({name, tensor});
  return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  if (name.empty() || name.find('.') != std::string::npos)
    fail("register_module: name '", name, "' must be non-empty and contain no '.'");
  for (const auto& [n, c] : children_)
    if (n == name) fail("register_module: '", name, "' is already registered");
  children_.push_back({name, std::move(module)});
}

void Module::replace_module(const std::string& name, std::shared_ptr<Module> module) {
  for (auto& [n, c] : children_)
    if (n == name) {
      c = std::move(module);
      return;
    }
  fail("replace_module: no child named '", name, "'");
}

OrderedDict<std::string, Tensor> Module::named_parameters(bool recurse) const {
  auto all = collect(*this, recurse, [](const Module& m) { return m.parameters_; });
  OrderedDict<std::string, Tensor> out;  // a parameter shared by two layers once
  std::unordered_set<const TensorImpl*> seen;
  for (auto& [name, t] : all)
    if (t.defined() && seen.insert(t.impl_ptr().get()).second) out.insert(name, t);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

OrderedDict<std::string, Tensor> Module::named_buffers(bool recurse) const {
  auto all = collect(*this, recurse, [](const Module& m) { return m.buffers_; });
  OrderedDict<std::string, Tensor> out;
  for (auto& [name, t] : all)
    if (t.defined()) out.insert(name, t);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

OrderedDict<std::string, std::shared_ptr<Module>> Module::named_children() const {
  OrderedDict<std::string, std::shared_ptr<Module>> out;
  for (const auto& [name, c] : children_) out.insert(name, c);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, c] : children_) out.push_back(c);
  return out;
}

OrderedDict<std::string, std::shared_ptr<Module>> Module::named_modules() {
  OrderedDict<std::string, std::shared_ptr<Module>> out;
  out.insert("", shared_from_this());
  for (const auto& [name, child] : children_)
    for (auto& [sub, m] : child->named_modules())
      out.insert(sub.empty() ? name : name + "." + sub, m);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules() {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [name, m] : named_modules()) out.push_back(m);
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  fn(*this);
  for (const auto& [name, child] : children_) child->apply(fn);
}

void Module::apply(const std::function<void(const std::string&, Module&)>& fn,
                   const std::string& name_prefix) {
  fn(name_prefix, *this);
  for (const auto& [name, child] : children_)
    child->apply(fn, name_prefix.empty() ? name : name_prefix + "." + name);
}

void Module::train(bool on) {
  training_ = on;
  for (const auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) p.set_grad(Tensor());
}

void Module::to(Device device) { check_cpu(device, "Module::to"); }

void Module::to(Device device, DType dtype) {
  check_cpu(device, "Module::to");
  to(dtype);
}

void Module::to(DType dtype) {
  auto convert = [dtype](const Tensor& t) {
    if (!t.is_floating_point() || t.dtype() == dtype) return;
    Tensor c = ember::to(t.detach(), dtype).contiguous();
    TensorImpl& impl = t.impl();  // every handle to this tensor sees the new data
    impl.storage = c.storage();
    impl.strides = c.impl().strides;
    impl.offset = c.storage_offset();
    impl.dtype = dtype;
    t.set_grad(Tensor());
  };
  for (const Tensor& p : parameters()) convert(p);
  for (const Tensor& b : buffers()) convert(b);
}

TensorMap Module::state_dict() const {
  TensorMap out;
  for (const auto& [name, t] : collect(*this, true, [](const Module& m) { return m.parameters_; }))
    if (t.defined()) out.emplace(name, t.detach());
  for (const auto& [name, t] : named_buffers()) out.emplace(name, t);
  return out;
}

void Module::load_state_dict(const TensorMap& dict, bool strict) {
  auto targets = collect(*this, true, [](const Module& m) { return m.parameters_; });
  auto buffers = named_buffers();
  targets.insert(targets.end(), buffers.begin(), buffers.end());
  // Every tensor is checked before any is written, so a file that fails leaves the module as
  // it was.
  std::unordered_set<std::string> known;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, source)
  for (const auto& [name, t] : targets) {
    if (!t.defined()) continue;
    known.insert(name);
    auto it = dict.find(name);
    if (it == dict.end()) {
      if (strict) fail("load_state_dict: missing key '", name, "' (", shape_str(t.sizes()), ")");
      continue;
    }
    const Tensor& src = it->second;
    if (!src.defined()) fail("load_state_dict: '", name, "' is undefined");
    if (shape_of(src) != shape_of(t))
      fail("load_state_dict: size mismatch for '", name, "': the checkpoint has ",
           shape_str(src.sizes()), ", the model has ", shape_str(t.sizes()));
    if (src.is_floating_point() != t.is_floating_point())
      fail("load_state_dict: '", name, "' is ", src.dtype(), " in the checkpoint but ", t.dtype(),
           " in the model");
    copies.emplace_back(t, src);
  }
  if (strict)
    for (const auto& [name, src] : dict)
      if (!known.count(name))
        fail("load_state_dict: unexpected key '", name, "' (",
             src.defined() ? shape_str(src.sizes()) : std::string("undefined"),
             ") is not in the model");
  NoGradGuard no_grad;
  for (auto& [destination, source] : copies) destination.copy_(source);
}

void Module::pretty_print(std::ostream& out, int indent) const {
  out << name_ << '(' << extra_repr();
  if (children_.empty()) {
    out << ')';
    return;
  }
  out << '\n';
  for (const auto& [name, child] : children_) {
    out << std::string(indent + 2, ' ') << '(' << name << "): ";
    child->pretty_print(out, indent + 2);
    out << '\n';
  }
  out << std::string(indent, ' ') << ')';
}

int64_t parameter_count(const Module& module) {
  int64_t n = 0;
  for (const Tensor& p : module.parameters()) n += p.numel();
  return n;
}

std::ostream& operator<<(std::ostream& out, const Module& module) {
  module.pretty_print(out);
  return out << "\n(" << parameter_count(module) << " parameters)";
}

void save(const Module& module, const std::string& path, const Metadata& metadata) {
  save_safetensors(path, module.state_dict(), metadata);
}

void load(Module& module, const std::string& path, bool strict) {
  module.load_state_dict(load_safetensors(path), strict);
}

void detail::fail_empty_holder(const std::type_info& impl) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(impl.name(), nullptr, nullptr, &status), &std::free);
  fail("ModuleHolder<", status == 0 ? name.get() : impl.name(),
       ">: the handle is empty (made from nullptr and not yet given a module)");
}

}  // namespace ember::nn

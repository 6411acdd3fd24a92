// Module: the base of every layer, with torch::nn::Module's vocabulary: named, ordered
// parameters, buffers and submodules; train/eval; zero_grad; state_dict with PyTorch's dotted
// names ("block1.0.weight"), so weights move between ember and PyTorch through safetensors.
// Layers derive from it once and define forward; modules are held by std::shared_ptr, or by
// the handles of module_holder.h (nn::Linear for LinearImpl), as libtorch holds them.
// Read next: nn/module_holder.h, nn/layers.h.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "../core/ordered_dict.h"
#include "../core/profiler.h"
#include "../core/safetensors.h"
#include "../core/tensor.h"
#include "module_holder.h"

namespace ember::nn {

class Module : public std::enable_shared_from_this<Module> {
 public:
  explicit Module(std::string name = "Module") : name_(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The single-tensor forward most layers have; a module with another signature says so.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) {
    profiler::Scope scope(name_);  // the module's time, in a profile, under its name
    return forward(x);
  }

  /// Registers a parameter (requires grad) under `name`; returns it (a handle to the same data).
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  /// Registers state that is saved but not trained (running statistics, say).
  Tensor register_buffer(const std::string& name, Tensor tensor);
  /// Registers a submodule; its parameters appear as "name.param".
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  /// The same for a handle: fc = register_module("fc", nn::Linear(784, 10)).
  template <typename M>
  ModuleHolder<M> register_module(const std::string& name, ModuleHolder<M> module) {
    add_child(name, module.ptr());
    return module;
  }

  /// Puts `module` in place of the child registered as `name`, as libtorch's replace_module.
  /// NOTE: a parent that kept its own handle to the old child still calls the old one.
  void replace_module(const std::string& name, std::shared_ptr<Module> module);

  std::vector<Tensor> parameters(bool recurse = true) const;
  /// By dotted name, in registration order (libtorch's OrderedDict: p.key(), p.value(), or
  /// auto& [name, tensor] = p; dict["fc.weight"] finds one by name).
  OrderedDict<std::string, Tensor> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  OrderedDict<std::string, Tensor> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  OrderedDict<std::string, std::shared_ptr<Module>> named_children() const;
  /// This module and every descendant, depth first; names are dotted paths ("" for this one).
  OrderedDict<std::string, std::shared_ptr<Module>> named_modules();
  std::vector<std::shared_ptr<Module>> modules();

  /// Calls fn on this module, then on each descendant, depth first, as libtorch's apply:
  ///   model->apply([](nn::Module& m) { if (auto* c = dynamic_cast<nn::Conv2dImpl*>(&m)) ...; });
  /// The second form also passes each module's dotted name ("" for this one).
  void apply(const std::function<void(Module&)>& fn);
  void apply(const std::function<void(const std::string&, Module&)>& fn,
             const std::string& name_prefix = "");

  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Clears every parameter's gradient.
  void zero_grad();
  /// Converts every parameter and floating buffer to dtype in place: handles the layers hold
  /// (weight, bias, ...) see the new data.
  void to(DType dtype);
  /// As libtorch's module->to(device): only the CPU exists, so this checks the device (and
  /// converts the dtype, if given).
  void to(Device device);
  void to(Device device, DType dtype);

  /// Parameters and buffers by dotted name, sharing storage with the module.
  TensorMap state_dict() const;
  /// Copies tensors from `dict` into this module's parameters and buffers (converting between
  /// floating dtypes). With strict, a missing or unexpected key is an error; a shape mismatch,
  /// or an integer tensor for a floating one (or back), always is. Everything is checked before
  /// anything is written: a dict that fails leaves the module as it was.
  void load_state_dict(const TensorMap& dict, bool strict = true);

  const std::string& name() const { return name_; }
  /// One line describing this module's configuration, as in PyTorch's extra_repr.
  virtual std::string extra_repr() const { return ""; }
  /// PyTorch-style tree of modules, with parameter counts.
  void pretty_print(std::ostream& out, int indent = 0) const;

 protected:
  void add_child(const std::string& name, std::shared_ptr<Module> module);

 private:
  std::string name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

std::ostream& operator<<(std::ostream& out, const Module& module);

/// Number of elements over all parameters.
int64_t parameter_count(const Module& module);

/// Writes module.state_dict() to a safetensors file atomically (temporary file, then rename).
void save(const Module& module, const std::string& path, const Metadata& metadata = {});
/// Loads a safetensors file into module (strict: every key must match).
void load(Module& module, const std::string& path, bool strict = true);

}  // namespace ember::nn

// The containers, as torch::nn's: Sequential runs its modules in order, ModuleList and ModuleDict
// hold modules for a forward that uses them its own way, ParameterList holds parameters, and
// Functional makes a function a module. Children are named as PyTorch names them ("0", "1", ...
// or the dict's keys), so state_dict names match.
// Read next: layers.h.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "module.h"

namespace ember::nn {

/// A function as a module, as libtorch's nn::Functional: a step without parameters in a
/// Sequential, e.g. Functional([](const Tensor& x) { return functional::pad(x, {1, 1}); }).
class FunctionalImpl : public Module {
 public:
  explicit FunctionalImpl(std::function<Tensor(const Tensor&)> fn)
      : Module("Functional"), fn(std::move(fn)) {}
  Tensor forward(const Tensor& x) override { return fn(x); }
  std::function<Tensor(const Tensor&)> fn;
};
using Functional = ModuleHolder<FunctionalImpl>;

/// Runs its modules in order; they are named "0", "1", ... as in PyTorch. A BatchNorm1d/2d
/// followed by a ReLU runs as one op, F::batch_norm_relu (the same bits, one pass fewer each way).
class SequentialImpl : public Module {
 public:
  SequentialImpl() : Module("Sequential") {}
  SequentialImpl(std::initializer_list<std::shared_ptr<Module>> modules);
  /// Sequential{nn::Linear(2, 3), nn::ReLU(), ...}: handles or shared_ptrs of any modules, as
  /// libtorch's variadic constructor.
  /// NOTE: a call's arguments are evaluated in no fixed order (GCC goes right to left), so
  /// layers that draw their initial weights would draw them out of order; inside braces they
  /// are made left to right, and so draw what the same model draws in PyTorch after one seed.
  template <typename... M>
  requires(sizeof...(M) > 0 && (std::is_convertible_v<M, std::shared_ptr<Module>> &&
                                ...)) explicit SequentialImpl(M&&... modules)
      : Module("Sequential") {
    (push_back(std::forward<M>(modules)), ...);
  }
  void push_back(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return children().size(); }
  std::shared_ptr<Module> operator[](size_t i) const { return children().at(i); }
};
using Sequential = ModuleHolder<SequentialImpl>;

/// Holds modules (named "0", "1", ...) for a forward that uses them its own way.
class ModuleListImpl : public Module {
 public:
  ModuleListImpl() : Module("ModuleList") {}
  void push_back(std::shared_ptr<Module> module);
  size_t size() const { return children().size(); }
  std::shared_ptr<Module> operator[](size_t i) const { return children().at(i); }
};
using ModuleList = ModuleHolder<ModuleListImpl>;

/// Modules by name, in insertion order (torch::nn::ModuleDict).
class ModuleDictImpl : public Module {
 public:
  ModuleDictImpl() : Module("ModuleDict") {}
  ModuleDictImpl(std::initializer_list<std::pair<std::string, std::shared_ptr<Module>>> items);
  /// Adds `module` under `key`, or replaces the one there.
  void insert(const std::string& key, std::shared_ptr<Module> module);
  std::shared_ptr<Module> operator[](const std::string& key) const;
  bool contains(const std::string& key) const;
  std::vector<std::string> keys() const;
  size_t size() const { return children().size(); }
};
using ModuleDict = ModuleHolder<ModuleDictImpl>;

/// Parameters named "0", "1", ... (torch::nn::ParameterList).
class ParameterListImpl : public Module {
 public:
  ParameterListImpl() : Module("ParameterList") {}
  explicit ParameterListImpl(const std::vector<Tensor>& tensors);
  /// Registers `tensor` as the next parameter (requiring grad); returns it.
  Tensor append(const Tensor& tensor);
  Tensor operator[](size_t i) const;
  size_t size() const { return parameters(false).size(); }
};
using ParameterList = ModuleHolder<ParameterListImpl>;

}  // namespace ember::nn

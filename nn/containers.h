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
class Functional : public Module {
 public:
  explicit Functional(std::function<Tensor(const Tensor&)> fn)
      : Module("Functional"), fn(std::move(fn)) {}
  Tensor forward(const Tensor& x) override { return fn(x); }
  std::function<Tensor(const Tensor&)> fn;
};

/// Runs its modules in order; they are named "0", "1", ... as in PyTorch.
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  /// Sequential(linear, relu, ...): any module handles, as libtorch's variadic constructor.
  template <typename... M>
  requires(sizeof...(M) > 0) explicit Sequential(std::shared_ptr<M>... modules)
      : Module("Sequential") {
    (push_back(std::move(modules)), ...);
  }
  void push_back(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return children().size(); }
  std::shared_ptr<Module> operator[](size_t i) const { return children().at(i); }
};

/// Holds modules (named "0", "1", ...) for a forward that uses them its own way.
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  void push_back(std::shared_ptr<Module> module);
  size_t size() const { return children().size(); }
  std::shared_ptr<Module> operator[](size_t i) const { return children().at(i); }
};

/// Modules by name, in insertion order (torch::nn::ModuleDict).
class ModuleDict : public Module {
 public:
  ModuleDict() : Module("ModuleDict") {}
  ModuleDict(std::initializer_list<std::pair<std::string, std::shared_ptr<Module>>> items);
  /// Adds `module` under `key`, or replaces the one there.
  void insert(const std::string& key, std::shared_ptr<Module> module);
  std::shared_ptr<Module> operator[](const std::string& key) const;
  bool contains(const std::string& key) const;
  std::vector<std::string> keys() const;
  size_t size() const { return children().size(); }
};

/// Parameters named "0", "1", ... (torch::nn::ParameterList).
class ParameterList : public Module {
 public:
  ParameterList() : Module("ParameterList") {}
  explicit ParameterList(const std::vector<Tensor>& tensors);
  /// Registers `tensor` as the next parameter (requiring grad); returns it.
  Tensor append(const Tensor& tensor);
  Tensor operator[](size_t i) const;
  size_t size() const { return parameters(false).size(); }
};

}  // namespace ember::nn

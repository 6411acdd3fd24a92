// The containers; see containers.h.
#include "containers.h"

#include <typeinfo>

#include "../core/profiler.h"
#include "layers.h"

namespace ember::nn {

SequentialImpl::SequentialImpl(std::initializer_list<std::shared_ptr<Module>> modules)
    : Module("Sequential") {
  for (const auto& m : modules) push_back(m);
}

void SequentialImpl::push_back(std::shared_ptr<Module> module) {
  add_child(std::to_string(children().size()), std::move(module));
}

namespace {

// A BatchNorm followed by a ReLU runs as one op, F::batch_norm_relu: the same values and
// gradients, with one pass over the activations fewer each way (the normalised values are never
// stored, nor the ReLU's input gradient). Null for any other pair.
template <int Dims>
BatchNormImpl<Dims>* fusable(const std::shared_ptr<Module>& m,
                             const std::shared_ptr<Module>& next) {
  const Module &module = *m, &after = *next;
  if (typeid(after) != typeid(ReLUImpl)) return nullptr;
  return typeid(module) == typeid(BatchNormImpl<Dims>) ? static_cast<BatchNormImpl<Dims>*>(m.get())
                                                       : nullptr;
}

}  // namespace

Tensor SequentialImpl::forward(const Tensor& x) {
  Tensor y = x;
  auto layers = children();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i + 1 < layers.size()) {
      auto* bn1 = fusable<1>(layers[i], layers[i + 1]);
      auto* bn2 = fusable<2>(layers[i], layers[i + 1]);
      if (bn1 || bn2) {
        profiler::Scope scope(layers[i]->name());  // the pair's time, under the batch norm's name
        y = bn1 ? bn1->forward_relu(y) : bn2->forward_relu(y);
        ++i;  // the ReLU ran too
        continue;
      }
    }
    y = (*layers[i])(y);
  }
  return y;
}

void ModuleListImpl::push_back(std::shared_ptr<Module> module) {
  add_child(std::to_string(children().size()), std::move(module));
}

ModuleDictImpl::ModuleDictImpl(
    std::initializer_list<std::pair<std::string, std::shared_ptr<Module>>> items)
    : Module("ModuleDict") {
  for (const auto& [key, module] : items) insert(key, module);
}

void ModuleDictImpl::insert(const std::string& key, std::shared_ptr<Module> module) {
  if (contains(key))
    replace_module(key, std::move(module));
  else
    add_child(key, std::move(module));
}

std::shared_ptr<Module> ModuleDictImpl::operator[](const std::string& key) const {
  for (const auto& [name, module] : named_children())
    if (name == key) return module;
  fail("ModuleDict: no module named '", key, "'");
}

bool ModuleDictImpl::contains(const std::string& key) const {
  for (const auto& [name, module] : named_children())
    if (name == key) return true;
  return false;
}

std::vector<std::string> ModuleDictImpl::keys() const {
  std::vector<std::string> out;
  for (const auto& [name, module] : named_children()) out.push_back(name);
  return out;
}

ParameterListImpl::ParameterListImpl(const std::vector<Tensor>& tensors) : Module("ParameterList") {
  for (const Tensor& t : tensors) append(t);
}

Tensor ParameterListImpl::append(const Tensor& tensor) {
  return register_parameter(std::to_string(size()), tensor);
}

Tensor ParameterListImpl::operator[](size_t i) const {
  auto params = parameters(false);
  check(i < params.size(), "ParameterList: index ", i, " out of range for ", params.size(),
        " parameters");
  return params[i];
}

}  // namespace ember::nn

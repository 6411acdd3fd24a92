// The containers; see containers.h.
#include "containers.h"

namespace ember::nn {

SequentialImpl::SequentialImpl(std::initializer_list<std::shared_ptr<Module>> modules)
    : Module("Sequential") {
  for (const auto& m : modules) push_back(m);
}

void SequentialImpl::push_back(std::shared_ptr<Module> module) {
  add_child(std::to_string(children().size()), std::move(module));
}

Tensor SequentialImpl::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& m : children()) y = (*m)(y);
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

// libtorch's torch::save / torch::load spellings, for a tensor, a list of tensors, a module and an
// optimizer, written as safetensors underneath (core/safetensors.h):
//   ember::save(x, "x.safetensors");          Tensor y; ember::load(y, "x.safetensors");
//   ember::save(model, "model.safetensors");  ember::load(model, "model.safetensors");
//   ember::save(adam, "adam.safetensors");    ember::load(adam, "adam.safetensors");
// A tensor is stored under the name "tensor", a list as "0", "1", ..., a module as its
// state_dict (the file PyTorch's safetensors reads by the same names), an optimizer as its
// state_dict; the metadata key "ember.kind" says which, and loading one kind from a file of
// another is an Error naming the file. Loading into a module or an optimizer checks every key
// and shape before anything is written, as their load_state_dict does. Call them qualified, as
// libtorch code does (torch::save): nn::save and nn::load, for a module, are found by ADL too.
// Read next: optim/optimizer.h.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/safetensors.h"
#include "../nn/module.h"
#include "optimizer.h"

namespace ember {

void save(const Tensor& tensor, const std::string& path);
void save(const std::vector<Tensor>& tensors, const std::string& path);
void save(const nn::Module& module, const std::string& path);
void save(const optim::Optimizer& optimizer, const std::string& path);

void load(Tensor& tensor, const std::string& path);
void load(std::vector<Tensor>& tensors, const std::string& path);
void load(nn::Module& module, const std::string& path);
void load(optim::Optimizer& optimizer, const std::string& path);

/// A module held by a shared_ptr or a handle, as libtorch's torch::save(model, path) takes it.
template <typename M>
requires std::is_base_of_v<nn::Module, M>
void save(const std::shared_ptr<M>& module, const std::string& path) {
  ember::save(static_cast<const nn::Module&>(*module), path);
}
template <typename M>
requires std::is_base_of_v<nn::Module, M>
void load(const std::shared_ptr<M>& module, const std::string& path) {
  ember::load(static_cast<nn::Module&>(*module), path);
}
template <typename M>
void save(const nn::ModuleHolder<M>& module, const std::string& path) {
  ember::save(module.ptr(), path);
}
template <typename M>
void load(const nn::ModuleHolder<M>& module, const std::string& path) {
  ember::load(module.ptr(), path);
}

}  // namespace ember

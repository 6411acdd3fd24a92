// save and load as libtorch spells them; see serialize.h.
#include "serialize.h"

namespace ember {
namespace {

constexpr const char* kKind = "ember.kind";

void write(const std::string& path, const TensorMap& tensors, const char* kind) {
  save_safetensors(path, tensors, {{kKind, kind}});
}

// The file's tensors, after checking that it holds `kind`.
TensorMap read(const std::string& path, const char* kind) {
  Metadata metadata;
  TensorMap tensors = load_safetensors(path, &metadata);
  auto it = metadata.find(kKind);
  std::string found = it == metadata.end() ? "no ember.kind" : "a " + it->second;
  check(it != metadata.end() && it->second == kind, "load: '", path, "' holds ", found, ", not a ",
        kind, " (written by save of another kind, or by another program)");
  return tensors;
}

}  // namespace

void save(const Tensor& tensor, const std::string& path) {
  check(tensor.defined(), "save: the tensor is undefined");
  write(path, {{"tensor", tensor.detach()}}, "tensor");
}

void save(const std::vector<Tensor>& tensors, const std::string& path) {
  TensorMap map;
  for (size_t i = 0; i < tensors.size(); ++i) {
    check(tensors[i].defined(), "save: tensor ", i, " of the list is undefined");
    map[std::to_string(i)] = tensors[i].detach();
  }
  write(path, map, "tensor list");
}

void save(const nn::Module& module, const std::string& path) {
  write(path, module.state_dict(), "module");
}

void save(const optim::Optimizer& optimizer, const std::string& path) {
  write(path, optimizer.state_dict(), "optimizer");
}

void load(Tensor& tensor, const std::string& path) {
  TensorMap map = read(path, "tensor");
  auto it = map.find("tensor");
  check(it != map.end() && map.size() == 1, "load: '", path,
        "' should hold one tensor named 'tensor'");
  tensor = it->second;
}

void load(std::vector<Tensor>& tensors, const std::string& path) {
  TensorMap map = read(path, "tensor list");
  std::vector<Tensor> out(map.size());
  for (auto& [name, t] : map) {
    size_t i = 0;
    bool index = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos &&
                 name.size() < 10 && (i = std::stoul(name)) < out.size();
    check(index, "load: '", path, "' holds '", name, "', which is not an index of a list of ",
          out.size());
    out[i] = t;
  }
  tensors = std::move(out);
}

void load(nn::Module& module, const std::string& path) {
  module.load_state_dict(read(path, "module"));
}

void load(optim::Optimizer& optimizer, const std::string& path) {
  optimizer.load_state_dict(read(path, "optimizer"));
}

}  // namespace ember

// The main job's checkpoints: one safetensors file holding the model's state_dict under
// "model.", the optimizer's under "optimizer." and the run's settings as string metadata
// (epoch, model, attention, ...), written atomically after every epoch. Reading splits the
// file back into its parts; restoring copies them into a model and an optimizer.
#pragma once

#include <ember/ember.h>

#include <string>

namespace ember::examples {

struct Checkpoint {
  TensorMap model, optimizer;
  Metadata metadata;
};

/// Writes `model`, `optimizer` and `metadata` to `path` atomically (save_safetensors).
inline void save_checkpoint(const std::string& path, const nn::Module& model,
                            const optim::Optimizer& optimizer, const Metadata& metadata) {
  TensorMap all;
  for (auto& [k, v] : model.state_dict()) all.emplace("model." + k, v);
  for (auto& [k, v] : optimizer.state_dict()) all.emplace("optimizer." + k, v);
  save_safetensors(path, all, metadata);
}

/// The checkpoint at `path`, split into its model and optimizer parts.
inline Checkpoint read_checkpoint(const std::string& path) {
  Checkpoint c;
  TensorMap all = load_safetensors(path, &c.metadata);
  for (auto& [k, v] : all) {
    if (k.rfind("model.", 0) == 0)
      c.model.emplace(k.substr(6), v);
    else if (k.rfind("optimizer.", 0) == 0)
      c.optimizer.emplace(k.substr(10), v);
  }
  return c;
}

/// Copies the checkpoint's state into `model` and, when given and the checkpoint has optimizer
/// state, into `optimizer`.
inline void restore_checkpoint(const Checkpoint& c, nn::Module& model,
                               optim::Optimizer* optimizer) {
  model.load_state_dict(c.model);
  if (optimizer && !c.optimizer.empty()) optimizer->load_state_dict(c.optimizer);
}

}  // namespace ember::examples

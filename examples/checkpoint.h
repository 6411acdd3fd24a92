// The main job's checkpoints: one safetensors file holding the model's state_dict under
// "model.", the optimizer's under "optimizer." and the run's settings as string metadata
// (epoch, model, attention, ...), written atomically after every epoch. Reading splits the
// file back into its parts; restoring copies them into a model and an optimizer. Every value
// read is untrusted: metadata is parsed with a clear error, and restoring checks the model's and
// the optimizer's state whole before either changes.
#pragma once

#include <ember/ember.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace ember::examples {

struct Checkpoint {
  std::string path;
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

/// A checkpoint's tensors and metadata, split into its model and optimizer parts; `path` names
/// it in error messages.
inline Checkpoint split_checkpoint(const std::string& path, const TensorMap& all,
                                   Metadata metadata) {
  Checkpoint c;
  c.path = path;
  c.metadata = std::move(metadata);
  for (auto& [k, v] : all) {
    if (k.rfind("model.", 0) == 0)
      c.model.emplace(k.substr(6), v);
    else if (k.rfind("optimizer.", 0) == 0)
      c.optimizer.emplace(k.substr(10), v);
    else
      fail("--resume: '", path, "' holds '", k, "', neither model. nor optimizer. state");
  }
  return c;
}

/// The checkpoint at `path`, split into its model and optimizer parts.
inline Checkpoint read_checkpoint(const std::string& path) {
  Metadata metadata;
  TensorMap all = load_safetensors(path, &metadata);
  return split_checkpoint(path, all, std::move(metadata));
}

/// The metadata value `key` as a whole number in [lo, hi]; nullopt when the checkpoint has none.
template <typename Int>
std::optional<Int> metadata_int(const Checkpoint& c, const std::string& key, Int lo, Int hi) {
  auto it = c.metadata.find(key);
  if (it == c.metadata.end()) return std::nullopt;
  const std::string& text = it->second;
  Int v{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
    fail("--resume: '", c.path, "' has ", key, " '", text, "', not a whole number from ", lo,
         " to ", hi);
  return v;
}

/// The metadata value `key` as a finite number in [lo, hi] (hi may be infinite: no bound);
/// nullopt when the checkpoint has none.
inline std::optional<double> metadata_number(const Checkpoint& c, const std::string& key, double lo,
                                             double hi) {
  auto it = c.metadata.find(key);
  if (it == c.metadata.end()) return std::nullopt;
  const std::string& text = it->second;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi)
    fail("--resume: '", c.path, "' has ", key, " '", text, "', not a finite number from ", lo,
         std::isinf(hi) ? " up" : " to ", std::isinf(hi) ? "" : std::to_string(hi));
  return v;
}

/// The metadata value `key`, which must be one of `allowed`; nullopt when the checkpoint has none.
inline std::optional<std::string> metadata_choice(const Checkpoint& c, const std::string& key,
                                                  const std::vector<std::string>& allowed) {
  auto it = c.metadata.find(key);
  if (it == c.metadata.end()) return std::nullopt;
  for (const std::string& a : allowed)
    if (it->second == a) return a;
  std::string list;
  for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
  fail("--resume: '", c.path, "' has ", key, " '", it->second, "', not one of ", list);
}

/// Copies the checkpoint's state into `model` and, when given and the checkpoint has optimizer
/// state, into `optimizer`. The optimizer's state is checked in full before the model's is
/// written, so a checkpoint that fails changes neither.
inline void restore_checkpoint(const Checkpoint& c, nn::Module& model,
                               optim::Optimizer* optimizer) {
  TensorMap model_before;
  for (const auto& [name, t] : model.state_dict()) model_before.emplace(name, clone(t));
  model.load_state_dict(c.model);
  try {
    if (optimizer && !c.optimizer.empty()) optimizer->load_state_dict(c.optimizer);
  } catch (const Error&) {
    model.load_state_dict(model_before);  // the optimizer refused: the model goes back too
    throw;
  }
}

}  // namespace ember::examples

// Optimizers with PyTorch's update rules. As in PyTorch, parameters come in groups and each group
// holds its hyperparameters by name (group.options["lr"]), which is what LR schedulers change;
// typed option structs fill them (optim/options.h):  optim::Adam adam(model->parameters(), {.lr =
// 1e-3}) or, as libtorch spells it, optim::Adam adam(model->parameters(),
// optim::AdamOptions(1e-3)). Read next: optim/scheduler.h.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../autograd/grad_mode.h"
#include "../core/safetensors.h"
#include "../core/tensor.h"
#include "../nn/utils.h"
#include "options.h"

namespace ember::optim {

/// One parameter's state ("step", "exp_avg", ...), as torch.optim keeps it.
using State = std::map<std::string, Tensor>;

/// What an optimizer accepts, checked by the constructor, add_param_group and load_state_dict
/// alike: everything read from a checkpoint passes the constructor's rules.
struct OptimizerRules {
  const char* name;  // "Adam", in error messages
  /// Throws an ember::Error naming the problem for options the update rule cannot run with.
  void (*check_options)(const Options& options);
  /// Throws unless `state` (empty before the first step) is what the rule keeps for `param`
  /// under `options`: the names it expects, tensors of the parameter's shape and dtype, a
  /// finite step count. `where` names the state in messages ("state.3").
  void (*check_state)(const Options& options, const Tensor& param, const State& state,
                      const std::string& where);
};

struct ParamGroup {
  std::vector<Tensor> params;
  Options options;
};

/// A group for an optimizer's constructor, libtorch's spelling: the parameters, and optionally the
/// group's own options, which replace the optimizer's defaults for it (all of them, as in
/// libtorch). Typed options (SGDConfig, AdamConfig, RMSpropConfig) by value or unique_ptr:
///   std::vector<optim::OptimizerParamGroup> groups;
///   groups.emplace_back(backbone->parameters());
///   groups.emplace_back(head->parameters(), std::make_unique<optim::AdamConfig>(head_options));
///   optim::Adam adam(groups, {.lr = 1e-3});
struct OptimizerParamGroup {
  OptimizerParamGroup(std::vector<Tensor> params) : params(std::move(params)) {}  // NOLINT
  template <typename O>
  requires requires(const O& o) { option_map(o); }
  OptimizerParamGroup(std::vector<Tensor> params, const O& typed)
      : params(std::move(params)), options(option_map(typed)) {}
  template <typename O>
  requires requires(const O& o) { option_map(o); }
  OptimizerParamGroup(std::vector<Tensor> params, const std::unique_ptr<O>& typed)
      : params(std::move(params)), options(option_map(*typed)) {}

  std::vector<Tensor> params;
  std::optional<Options> options;  // absent: the optimizer's defaults
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// One update of every parameter that has a gradient.
  virtual void step() = 0;
  /// Clears gradients (to undefined, PyTorch's set_to_none; or to zeros).
  void zero_grad(bool set_to_none = true);
  /// Adds parameters with the defaults, overridden by `overrides` (say {{"lr", 1e-4}}).
  void add_param_group(const std::vector<Tensor>& params, const Options& overrides = {});
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  /// Hyperparameters ("param_groups.<g>.<name>", float64 scalars) and per-parameter state
  /// ("state.<i>.<name>", i counting parameters across groups), for checkpoints.
  TensorMap state_dict() const;
  /// Restores a state_dict. Every key is parsed, every option checked by the constructor's
  /// rules and every state tensor against its parameter before anything changes: a dict that
  /// fails leaves the optimizer as it was. Each group's options must all be present;
  /// "initial_lr" (a scheduler's) may be.
  void load_state_dict(const TensorMap& dict);

 protected:
  Optimizer(const std::vector<Tensor>& params, Options defaults, OptimizerRules rules);
  /// One group per entry; a group's own options must name exactly the defaults' options.
  Optimizer(const std::vector<OptimizerParamGroup>& groups, Options defaults, OptimizerRules rules);
  /// Named state of parameter i (across groups), created empty on first use.
  State& state(size_t i);
  /// Calls fn(param, grad, state, group options) for every parameter with a gradient.
  template <typename Fn>
  void for_each_param(Fn fn);

 private:
  Options defaults_;
  OptimizerRules rules_;
  std::vector<ParamGroup> groups_;
  std::vector<State> state_;
};

template <typename Fn>
void Optimizer::for_each_param(Fn fn) {
  NoGradGuard no_grad;
  size_t i = 0;
  for (ParamGroup& group : groups_)
    for (const Tensor& p : group.params) {
      size_t index = i++;
      if (!p.grad().defined()) continue;
      Tensor g = p.grad().contiguous();
      if (g.dtype() != p.dtype()) fail("optimizer: gradient dtype differs from the parameter's");
      fn(p, g, state_[index], group.options);
    }
}

class SGD : public Optimizer {
 public:
  SGD(const std::vector<Tensor>& params, const SGDConfig& options);
  SGD(const std::vector<OptimizerParamGroup>& groups, const SGDConfig& defaults);
  /// libtorch's spellings: SGD(params, SGDOptions(0.1).momentum(0.9)) and SGD(params, 0.1).
  SGD(const std::vector<Tensor>& params, const SGDOptions& options)
      : SGD(params, options.config()) {}
  SGD(const std::vector<OptimizerParamGroup>& groups, const SGDOptions& defaults)
      : SGD(groups, defaults.config()) {}
  void step() override;
};

/// Adam; weight_decay is added to the gradient (L2), as torch.optim.Adam.
class Adam : public Optimizer {
 public:
  Adam(const std::vector<Tensor>& params, const AdamConfig& options);
  Adam(const std::vector<OptimizerParamGroup>& groups, const AdamConfig& defaults);
  /// libtorch's spellings: Adam(params, AdamOptions(1e-3).betas({0.9, 0.99})), Adam(params, 1e-3).
  Adam(const std::vector<Tensor>& params, const AdamOptions& options)
      : Adam(params, options.config()) {}
  Adam(const std::vector<OptimizerParamGroup>& groups, const AdamOptions& defaults)
      : Adam(groups, defaults.config()) {}
  void step() override;

 protected:
  Adam(const std::vector<OptimizerParamGroup>& groups, const AdamConfig& defaults, bool decoupled);
  bool decoupled_;
};

/// Adam with decoupled weight decay (p *= 1 - lr * weight_decay), as torch.optim.AdamW.
class AdamW : public Adam {
 public:
  AdamW(const std::vector<Tensor>& params, AdamConfig options = {.weight_decay = 1e-2})
      : Adam(std::vector<OptimizerParamGroup>{params}, options, /*decoupled=*/true) {}
  AdamW(const std::vector<OptimizerParamGroup>& groups,
        AdamConfig defaults = {.weight_decay = 1e-2})
      : Adam(groups, defaults, /*decoupled=*/true) {}
  /// libtorch's spelling: AdamW(params, AdamWOptions(1e-3).weight_decay(0.05)).
  AdamW(const std::vector<Tensor>& params, const AdamWOptions& options)
      : AdamW(params, options.config()) {}
  AdamW(const std::vector<OptimizerParamGroup>& groups, const AdamWOptions& defaults)
      : AdamW(groups, defaults.config()) {}
};

class RMSprop : public Optimizer {
 public:
  RMSprop(const std::vector<Tensor>& params, const RMSpropConfig& options);
  RMSprop(const std::vector<OptimizerParamGroup>& groups, const RMSpropConfig& defaults);
  /// libtorch's spellings: RMSprop(params, RMSpropOptions(1e-2).alpha(0.9)), RMSprop(params, 1e-2).
  RMSprop(const std::vector<Tensor>& params, const RMSpropOptions& options)
      : RMSprop(params, options.config()) {}
  RMSprop(const std::vector<OptimizerParamGroup>& groups, const RMSpropOptions& defaults)
      : RMSprop(groups, defaults.config()) {}
  void step() override;
};

/// Gradient clipping lives in nn/utils.h, where libtorch has it; these are the same functions.
using nn::utils::clip_grad_norm_;
using nn::utils::clip_grad_value_;

}  // namespace ember::optim

// Each optimizer's hyperparameters twice over: the aggregate ember's code fills with designated
// initialisers (optim::Adam adam(params, {.lr = 1e-3})), and libtorch's builder that converts to
// it (optim::Adam adam(params, optim::AdamOptions(1e-3).weight_decay(1e-4))); a builder's setter
// is also its getter, as in libtorch. option_map turns either into the named hyperparameters a
// parameter group keeps (group.options["lr"]).
// Read next: optim/optimizer.h.
#pragma once

#include <map>
#include <string>
#include <tuple>

#include "../nn/options.h"

namespace ember::optim {

/// A parameter group's hyperparameters by name, as torch.optim keeps them.
using Options = std::map<std::string, double>;

struct SGDConfig {
  double lr = 1e-3, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};

struct AdamConfig {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool amsgrad = false;
};

struct RMSpropConfig {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false;
};

Options option_map(const SGDConfig& options);
Options option_map(const AdamConfig& options);
Options option_map(const RMSpropConfig& options);

/// libtorch's optim::SGDOptions(lr): the rate has no default.
class SGDOptions : public OptionsBuilder<SGDOptions, SGDConfig> {
 public:
  SGDOptions(double lr) { config_.lr = lr; }  // NOLINT: SGD(params, 0.1) as in libtorch
  SGDOptions& lr(double v) { return set(&SGDConfig::lr, v); }
  SGDOptions& momentum(double v) { return set(&SGDConfig::momentum, v); }
  SGDOptions& dampening(double v) { return set(&SGDConfig::dampening, v); }
  SGDOptions& weight_decay(double v) { return set(&SGDConfig::weight_decay, v); }
  SGDOptions& nesterov(bool v) { return set(&SGDConfig::nesterov, v); }
  double lr() const { return config_.lr; }
  double momentum() const { return config_.momentum; }
  double dampening() const { return config_.dampening; }
  double weight_decay() const { return config_.weight_decay; }
  bool nesterov() const { return config_.nesterov; }
};

/// libtorch's optim::AdamOptions(lr = 1e-3), and AdamWOptions, whose weight decay defaults to
/// 1e-2 (decoupled, applied by AdamW).
template <typename Self>
class AdamOptionsBuilder : public OptionsBuilder<Self, AdamConfig> {
  using Base = OptionsBuilder<Self, AdamConfig>;

 public:
  Self& lr(double v) { return Base::set(&AdamConfig::lr, v); }
  Self& betas(std::tuple<double, double> v) {
    Base::set(&AdamConfig::beta1, std::get<0>(v));
    return Base::set(&AdamConfig::beta2, std::get<1>(v));
  }
  Self& eps(double v) { return Base::set(&AdamConfig::eps, v); }
  Self& weight_decay(double v) { return Base::set(&AdamConfig::weight_decay, v); }
  Self& amsgrad(bool v) { return Base::set(&AdamConfig::amsgrad, v); }
  double lr() const { return this->config_.lr; }
  std::tuple<double, double> betas() const { return {this->config_.beta1, this->config_.beta2}; }
  double eps() const { return this->config_.eps; }
  double weight_decay() const { return this->config_.weight_decay; }
  bool amsgrad() const { return this->config_.amsgrad; }
};

class AdamOptions : public AdamOptionsBuilder<AdamOptions> {
 public:
  AdamOptions(double lr = 1e-3) { config_.lr = lr; }  // NOLINT: Adam(params, 1e-3)
};

class AdamWOptions : public AdamOptionsBuilder<AdamWOptions> {
 public:
  AdamWOptions(double lr = 1e-3) {  // NOLINT: AdamW(params, 1e-3)
    config_.lr = lr;
    config_.weight_decay = 1e-2;
  }
};

/// libtorch's optim::RMSpropOptions(lr = 1e-2).
class RMSpropOptions : public OptionsBuilder<RMSpropOptions, RMSpropConfig> {
 public:
  RMSpropOptions(double lr = 1e-2) { config_.lr = lr; }  // NOLINT: RMSprop(params, 1e-2)
  RMSpropOptions& lr(double v) { return set(&RMSpropConfig::lr, v); }
  RMSpropOptions& alpha(double v) { return set(&RMSpropConfig::alpha, v); }
  RMSpropOptions& eps(double v) { return set(&RMSpropConfig::eps, v); }
  RMSpropOptions& weight_decay(double v) { return set(&RMSpropConfig::weight_decay, v); }
  RMSpropOptions& momentum(double v) { return set(&RMSpropConfig::momentum, v); }
  RMSpropOptions& centered(bool v) { return set(&RMSpropConfig::centered, v); }
  double lr() const { return config_.lr; }
  double alpha() const { return config_.alpha; }
  double eps() const { return config_.eps; }
  double weight_decay() const { return config_.weight_decay; }
  double momentum() const { return config_.momentum; }
  bool centered() const { return config_.centered; }
};

}  // namespace ember::optim

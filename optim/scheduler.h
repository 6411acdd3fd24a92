// Learning-rate schedulers, as torch.optim.lr_scheduler: each sets every group's "lr" from the
// group's initial lr (options["initial_lr"], which the first scheduler sets from "lr" and the
// optimizer's state_dict keeps) and the epoch count, in closed form. Call step() once per epoch (or
// per batch for OneCycleLR), after optimizer.step(). Construction sets the epoch-0 rate, as
// PyTorch. ReduceLROnPlateau, which follows a metric rather than the epoch count, is the one
// with state of its own. Every scheduler has state_dict/load_state_dict; a schedule's arguments
// are code, not state, so loading checks them against the scheduler's rather than replacing
// them (PyTorch replaces them).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "../core/safetensors.h"
#include "optimizer.h"

namespace ember::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  void step();
  std::vector<double> get_last_lr() const;
  int64_t last_epoch() const { return last_epoch_; }
  /// Resumes at a given epoch (for checkpoints).
  void set_last_epoch(int64_t epoch);
  /// "last_epoch" and the schedule's arguments, as 0-dim float64 tensors.
  TensorMap state_dict() const;
  /// Resumes at the saved epoch; every key is read, and the arguments must equal this
  /// scheduler's (an Error names the first that differs).
  void load_state_dict(const TensorMap& dict);

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  /// The scheduler's name and constructor arguments, for state_dict and its errors.
  virtual const char* name() const = 0;
  virtual std::vector<std::pair<std::string, double>> arguments() const = 0;
  /// The rate of a group with initial rate base_lr at `epoch`.
  virtual double lr_at(double base_lr, int64_t epoch) const = 0;
  /// Other hyperparameters a scheduler sets along with the rate (OneCycleLR's momentum).
  virtual void on_apply(std::vector<ParamGroup>&, int64_t) const {}
  void apply();  // subclasses call this at the end of their constructor

 private:
  Optimizer& optimizer_;
  int64_t last_epoch_ = 0;
};

/// lr = base * gamma^(epoch / step_size)
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(double base, int64_t epoch) const override;
  const char* name() const override { return "StepLR"; }
  std::vector<std::pair<std::string, double>> arguments() const override;
  int64_t step_size_;
  double gamma_;
};

/// lr = base * gamma^(milestones reached)
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  double lr_at(double base, int64_t epoch) const override;
  const char* name() const override { return "MultiStepLR"; }
  std::vector<std::pair<std::string, double>> arguments() const override;
  std::vector<int64_t> milestones_;
  double gamma_;
};

/// lr = eta_min + (base - eta_min) (1 + cos(pi epoch / t_max)) / 2
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0.0);

 protected:
  double lr_at(double base, int64_t epoch) const override;
  const char* name() const override { return "CosineAnnealingLR"; }
  std::vector<std::pair<std::string, double>> arguments() const override;
  int64_t t_max_;
  double eta_min_;
};

/// lr = base * (start + (end - start) min(epoch, total_iters) / total_iters): a linear warmup.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0,
           int64_t total_iters = 5);

 protected:
  double lr_at(double base, int64_t epoch) const override;
  const char* name() const override { return "LinearLR"; }
  std::vector<std::pair<std::string, double>> arguments() const override;
  double start_, end_;
  int64_t total_;
};

/// lr = base * factor(epoch), for any schedule written as a function; a warm-up, say:
///   LambdaLR warmup(adam, [](int64_t e) { return std::min(1.0, (e + 1) / 5.0); });
class LambdaLR : public LRScheduler {
 public:
  LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> factor);

 protected:
  double lr_at(double base, int64_t epoch) const override;
  const char* name() const override { return "LambdaLR"; }
  std::vector<std::pair<std::string, double>> arguments() const override;
  std::function<double(int64_t)> factor_;
};

/// The 1cycle policy (cosine annealing, two phases): from max_lr / div_factor up to max_lr over
/// pct_start of total_steps, then down to max_lr / div_factor / final_div_factor. Stepped once
/// per batch. With cycle_momentum (PyTorch's default), the momentum moves the other way: from
/// max_momentum down to base_momentum while the rate rises, then back up; it is the optimizer's
/// "momentum" (SGD, RMSprop) or "beta1" (Adam, AdamW), and construction sets it to max_momentum.
struct OneCycleLROptions {
  double pct_start = 0.3, div_factor = 25.0, final_div_factor = 1e4;
  bool cycle_momentum = true;
  double base_momentum = 0.85, max_momentum = 0.95;
};

class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps,
             const OneCycleLROptions& options = {});

 protected:
  double lr_at(double base, int64_t epoch) const override;
  const char* name() const override { return "OneCycleLR"; }
  std::vector<std::pair<std::string, double>> arguments() const override;
  void on_apply(std::vector<ParamGroup>& groups, int64_t epoch) const override;

 private:
  // The value at `epoch` of a quantity (the rate or the momentum) that follows a cosine from
  // up_start to peak in the first phase and from peak to down_end in the second.
  double anneal(int64_t epoch, double up_start, double peak, double down_end) const;
  double max_lr_, initial_lr_, min_lr_;
  int64_t total_steps_;
  OneCycleLROptions options_;
  std::string momentum_key_;  // "momentum" or "beta1"; empty when momentum is not cycled
};

/// lr = base * gamma^epoch
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  double lr_at(double base, int64_t epoch) const override;
  const char* name() const override { return "ExponentialLR"; }
  std::vector<std::pair<std::string, double>> arguments() const override;
  double gamma_;
};

/// Multiplies every group's rate by factor when the metric passed to step() has not improved for
/// more than patience epochs, then waits cooldown epochs, never going below min_lr; as
/// torch.optim.lr_scheduler.ReduceLROnPlateau. "Improved" is, for mode kMin with threshold_mode
/// kRel, metric < best (1 - threshold); kAbs: metric < best - threshold (kMax: the other way).
struct ReduceLROnPlateauOptions {
  enum Mode { kMin, kMax };
  enum ThresholdMode { kRel, kAbs };
  Mode mode = kMin;
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = kRel;
  int64_t cooldown = 0;
  double min_lr = 0;
  double eps = 1e-8;  // a reduction smaller than this is skipped
};

class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options = {});
  /// Once per epoch, with the metric it follows (a validation loss, say).
  void step(double metric);
  std::vector<double> get_last_lr() const;
  int64_t last_epoch() const { return last_epoch_; }
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  /// The counters (last_epoch, best, num_bad_epochs, cooldown_counter) and the options.
  TensorMap state_dict() const;
  void load_state_dict(const TensorMap& dict);

 private:
  bool improves(double metric) const;
  std::vector<std::pair<std::string, double>> arguments() const;
  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  int64_t last_epoch_ = 0;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

}  // namespace ember::optim

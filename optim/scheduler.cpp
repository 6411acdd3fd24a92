// LR schedulers; see scheduler.h.
#include "scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "../core/error.h"

namespace ember::optim {

// As PyTorch: a group's base rate is its "initial_lr", set from its rate by the first scheduler
// and saved with the optimizer's state, so that a resumed schedule starts from the same base.
LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (ParamGroup& g : optimizer.param_groups())
    if (!g.options.count("initial_lr")) g.options["initial_lr"] = g.options.at("lr");
}

void LRScheduler::apply() {
  auto& groups = optimizer_.param_groups();
  for (ParamGroup& g : groups) {  // a group added after construction starts from its own rate
    double base = g.options.try_emplace("initial_lr", g.options.at("lr")).first->second;
    g.options["lr"] = lr_at(base, last_epoch_);
  }
  on_apply(groups, last_epoch_);
}

void LRScheduler::step() {
  ++last_epoch_;
  apply();
}

void LRScheduler::set_last_epoch(int64_t epoch) {
  last_epoch_ = epoch;
  apply();
}

std::vector<double> LRScheduler::get_last_lr() const {
  std::vector<double> out;
  for (const ParamGroup& g : optimizer_.param_groups()) out.push_back(g.options.at("lr"));
  return out;
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  check(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
  apply();
}

double StepLR::lr_at(double base, int64_t epoch) const {
  return base * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  apply();
}

double MultiStepLR::lr_at(double base, int64_t epoch) const {
  auto reached =
      std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base * std::pow(gamma_, static_cast<double>(reached));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  check(t_max > 0, "CosineAnnealingLR: T_max must be positive, got ", t_max);
  apply();
}

double CosineAnnealingLR::lr_at(double base, int64_t epoch) const {
  double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
  return eta_min_ + (base - eta_min_) * (1 + std::cos(phase)) / 2;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor,
                   int64_t total_iters)
    : LRScheduler(optimizer), start_(start_factor), end_(end_factor), total_(total_iters) {
  check(start_factor > 0 && start_factor <= 1 && end_factor >= 0 && end_factor <= 1 &&
            total_iters > 0,
        "LinearLR: expected 0 < start_factor <= 1, 0 <= end_factor <= 1, total_iters > 0");
  apply();
}

double LinearLR::lr_at(double base, int64_t epoch) const {
  double progress = static_cast<double>(std::min(epoch, total_)) / static_cast<double>(total_);
  return base * (start_ + (end_ - start_) * progress);
}

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> factor)
    : LRScheduler(optimizer), factor_(std::move(factor)) {
  check(static_cast<bool>(factor_), "LambdaLR: expected a factor function, got an empty one");
  apply();
}

double LambdaLR::lr_at(double base, int64_t epoch) const { return base * factor_(epoch); }

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps,
                       const OneCycleLROptions& options)
    : LRScheduler(optimizer),
      max_lr_(max_lr),
      initial_lr_(max_lr / options.div_factor),
      min_lr_(max_lr / options.div_factor / options.final_div_factor),
      total_steps_(total_steps),
      options_(options) {
  check(total_steps > 1 && options.pct_start > 0 && options.pct_start < 1,
        "OneCycleLR: expected total_steps > 1 and 0 < pct_start < 1, got total_steps ", total_steps,
        " and pct_start ", options.pct_start);
  if (options.cycle_momentum) {
    const Options& first = optimizer.param_groups().at(0).options;
    momentum_key_ = first.count("beta1") ? "beta1" : first.count("momentum") ? "momentum" : "";
    if (momentum_key_.empty())
      fail("OneCycleLR: cycle_momentum needs an optimizer with momentum or beta1");
  }
  apply();
}

// Two cosine phases, exactly as PyTorch computes them (including its float phase boundary).
double OneCycleLR::anneal(int64_t epoch, double up_start, double peak, double down_end) const {
  // As PyTorch: a training loop that steps after every batch leaves the count at total_steps
  // (a rate just past the cycle's end that no batch uses); one step more is an error.
  check(epoch <= total_steps_, "OneCycleLR: stepped ", epoch, " times, more than total_steps ",
        total_steps_);
  auto cosine = [](double start, double end, double pct) {
    return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
  };
  double up_end = options_.pct_start * static_cast<double>(total_steps_) - 1;
  double step = static_cast<double>(epoch);
  if (step <= up_end) return cosine(up_start, peak, step / up_end);
  double last = static_cast<double>(total_steps_ - 1);
  return cosine(peak, down_end, (step - up_end) / (last - up_end));
}

double OneCycleLR::lr_at(double, int64_t epoch) const {
  return anneal(epoch, initial_lr_, max_lr_, min_lr_);
}

void OneCycleLR::on_apply(std::vector<ParamGroup>& groups, int64_t epoch) const {
  if (momentum_key_.empty()) return;
  double momentum =
      anneal(epoch, options_.max_momentum, options_.base_momentum, options_.max_momentum);
  for (ParamGroup& g : groups) g.options[momentum_key_] = momentum;
}

}  // namespace ember::optim

// LR schedulers; see scheduler.h.
#include "scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "../core/error.h"
#include "../core/factory.h"

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

namespace {

Tensor scalar(double v) { return full({}, v, kFloat64); }

// A one-element value from a scheduler's state_dict, naming the scheduler and key when absent.
double read(const TensorMap& dict, const char* who, const std::string& key) {
  auto it = dict.find(key);
  check(it != dict.end(), who, ".load_state_dict: no key '", key, "'");
  check(it->second.defined() && it->second.numel() == 1, who, ".load_state_dict: '", key,
        "' must hold one value");
  return it->second.item<double>();
}

int64_t read_count(const TensorMap& dict, const char* who, const std::string& key) {
  double v = read(dict, who, key);
  check(std::isfinite(v) && v == std::floor(v) && v >= 0 && v < 9.0e15, who, ".load_state_dict: '",
        key, "' must be a count, got ", v);
  return static_cast<int64_t>(v);
}

// Every key is known, and every argument saved equals the one this scheduler was built with.
void check_arguments(const TensorMap& dict, const char* who,
                     const std::vector<std::pair<std::string, double>>& arguments,
                     const std::vector<std::string>& counters) {
  for (const auto& [key, value] : arguments) {
    double saved = read(dict, who, key);
    check(saved == value, who, ".load_state_dict: the state was saved with ", key, " ", saved,
          ", this scheduler has ", value, "; construct it with the arguments it was saved with");
  }
  for (const auto& entry : dict) {
    const std::string& key = entry.first;
    bool known = std::find(counters.begin(), counters.end(), key) != counters.end() ||
                 std::any_of(arguments.begin(), arguments.end(),
                             [&](const auto& a) { return a.first == key; });
    check(known, who, ".load_state_dict: unknown key '", key, "'");
  }
}

}  // namespace

TensorMap LRScheduler::state_dict() const {
  TensorMap dict{{"last_epoch", scalar(static_cast<double>(last_epoch_))}};
  for (const auto& [key, value] : arguments()) dict[key] = scalar(value);
  return dict;
}

void LRScheduler::load_state_dict(const TensorMap& dict) {
  check_arguments(dict, name(), arguments(), {"last_epoch"});
  set_last_epoch(read_count(dict, name(), "last_epoch"));
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  check(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
  apply();
}

std::vector<std::pair<std::string, double>> StepLR::arguments() const {
  return {{"step_size", static_cast<double>(step_size_)}, {"gamma", gamma_}};
}

double StepLR::lr_at(double base, int64_t epoch) const {
  return base * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  apply();
}

std::vector<std::pair<std::string, double>> MultiStepLR::arguments() const {
  std::vector<std::pair<std::string, double>> args{{"gamma", gamma_}};
  for (size_t i = 0; i < milestones_.size(); ++i)
    args.push_back({"milestones." + std::to_string(i), static_cast<double>(milestones_[i])});
  return args;
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

std::vector<std::pair<std::string, double>> CosineAnnealingLR::arguments() const {
  return {{"T_max", static_cast<double>(t_max_)}, {"eta_min", eta_min_}};
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

std::vector<std::pair<std::string, double>> LinearLR::arguments() const {
  return {
      {"start_factor", start_}, {"end_factor", end_}, {"total_iters", static_cast<double>(total_)}};
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

// The factor is code: only the epoch is saved, as PyTorch does for a plain function.
std::vector<std::pair<std::string, double>> LambdaLR::arguments() const { return {}; }

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

std::vector<std::pair<std::string, double>> OneCycleLR::arguments() const {
  return {{"max_lr", max_lr_},
          {"total_steps", static_cast<double>(total_steps_)},
          {"pct_start", options_.pct_start},
          {"div_factor", options_.div_factor},
          {"final_div_factor", options_.final_div_factor},
          {"cycle_momentum", options_.cycle_momentum ? 1.0 : 0.0},
          {"base_momentum", options_.base_momentum},
          {"max_momentum", options_.max_momentum}};
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

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRScheduler(optimizer), gamma_(gamma) {
  check(std::isfinite(gamma) && gamma > 0, "ExponentialLR: gamma must be positive, got ", gamma);
  apply();
}

std::vector<std::pair<std::string, double>> ExponentialLR::arguments() const {
  return {{"gamma", gamma_}};
}

double ExponentialLR::lr_at(double base, int64_t epoch) const {
  return base * std::pow(gamma_, static_cast<double>(epoch));
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options)
    : optimizer_(optimizer), options_(options) {
  check(options.factor < 1 && options.factor >= 0,
        "ReduceLROnPlateau: factor must be in [0, 1), got ", options.factor);
  check(options.patience >= 0 && options.cooldown >= 0 && options.min_lr >= 0 &&
            options.threshold >= 0 && options.eps >= 0,
        "ReduceLROnPlateau: patience, cooldown, min_lr, threshold and eps must not be negative");
  best_ = options.mode == ReduceLROnPlateauOptions::kMin ? INFINITY : -INFINITY;
}

bool ReduceLROnPlateau::improves(double metric) const {
  bool rel = options_.threshold_mode == ReduceLROnPlateauOptions::kRel;
  double t = options_.threshold;
  if (options_.mode == ReduceLROnPlateauOptions::kMin)
    return rel ? metric < best_ * (1 - t) : metric < best_ - t;
  return rel ? metric > best_ * (1 + t) : metric > best_ + t;
}

// In PyTorch's order: the bad-epoch count, then the cooldown (which forgives bad epochs), then
// the reduction when the count passes patience.
void ReduceLROnPlateau::step(double metric) {
  check(!std::isnan(metric), "ReduceLROnPlateau.step: the metric is NaN");
  ++last_epoch_;
  if (improves(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > options_.patience) {
    for (ParamGroup& g : optimizer_.param_groups()) {
      double old_lr = g.options.at("lr");
      double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
      if (old_lr - new_lr > options_.eps) g.options["lr"] = new_lr;
    }
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
}

std::vector<double> ReduceLROnPlateau::get_last_lr() const {
  std::vector<double> out;
  for (const ParamGroup& g : optimizer_.param_groups()) out.push_back(g.options.at("lr"));
  return out;
}

std::vector<std::pair<std::string, double>> ReduceLROnPlateau::arguments() const {
  return {{"mode", options_.mode == ReduceLROnPlateauOptions::kMin ? 0.0 : 1.0},
          {"factor", options_.factor},
          {"patience", static_cast<double>(options_.patience)},
          {"threshold", options_.threshold},
          {"threshold_mode", options_.threshold_mode == ReduceLROnPlateauOptions::kRel ? 0.0 : 1.0},
          {"cooldown", static_cast<double>(options_.cooldown)},
          {"min_lr", options_.min_lr},
          {"eps", options_.eps}};
}

TensorMap ReduceLROnPlateau::state_dict() const {
  TensorMap dict{{"last_epoch", scalar(static_cast<double>(last_epoch_))},
                 {"best", scalar(best_)},
                 {"num_bad_epochs", scalar(static_cast<double>(num_bad_epochs_))},
                 {"cooldown_counter", scalar(static_cast<double>(cooldown_counter_))}};
  for (const auto& [key, value] : arguments()) dict[key] = scalar(value);
  return dict;
}

void ReduceLROnPlateau::load_state_dict(const TensorMap& dict) {
  const char* who = "ReduceLROnPlateau";
  check_arguments(dict, who, arguments(),
                  {"last_epoch", "best", "num_bad_epochs", "cooldown_counter"});
  double best = read(dict, who, "best");
  check(!std::isnan(best), who, ".load_state_dict: 'best' is NaN");
  int64_t last = read_count(dict, who, "last_epoch"), bad = read_count(dict, who, "num_bad_epochs"),
          cooldown = read_count(dict, who, "cooldown_counter");
  last_epoch_ = last, best_ = best, num_bad_epochs_ = bad, cooldown_counter_ = cooldown;
}

}  // namespace ember::optim

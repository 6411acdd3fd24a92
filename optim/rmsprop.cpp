// RMSprop, centered and with momentum, as torch.optim.RMSprop: the options it accepts, the
// state it keeps, and its update.
#include <cmath>

#include "../autograd/ops.h"
#include "../core/profiler.h"
#include "optimizer.h"
#include "rule_support.h"

namespace ember::optim {
namespace {

void check_options(const Options& o) {
  detail::option_in("RMSprop", o, "lr", 0);
  detail::option_in("RMSprop", o, "alpha", 0);
  detail::option_in("RMSprop", o, "eps", 0);
  detail::option_in("RMSprop", o, "weight_decay", 0);
  detail::option_in("RMSprop", o, "momentum", 0);
  detail::flag_option("RMSprop", o, "centered");
}

// Nothing before the first step; then the step count and the square average, with a momentum
// buffer when momentum > 0 and a gradient average when centered.
void check_state(const Options& o, const Tensor& param, const State& state,
                 const std::string& where) {
  if (state.empty()) return;
  detail::state_names_in("RMSprop", state, {"step", "square_avg", "momentum_buffer", "grad_avg"},
                         where);
  detail::state_step("RMSprop", state, where);
  detail::state_like_param("RMSprop", state, "square_avg", param, where);
  if (o.at("momentum") > 0)
    detail::state_like_param("RMSprop", state, "momentum_buffer", param, where);
  if (o.at("centered") != 0) detail::state_like_param("RMSprop", state, "grad_avg", param, where);
}

}  // namespace

Options option_map(const RMSpropConfig& o) {
  return {{"lr", o.lr},
          {"alpha", o.alpha},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"momentum", o.momentum},
          {"centered", o.centered ? 1.0 : 0.0}};
}

RMSprop::RMSprop(const std::vector<Tensor>& params, const RMSpropConfig& o)
    : Optimizer(params, option_map(o), {"RMSprop", check_options, check_state}) {}

RMSprop::RMSprop(const std::vector<OptimizerParamGroup>& groups, const RMSpropConfig& defaults)
    : Optimizer(groups, option_map(defaults), {"RMSprop", check_options, check_state}) {}

// g += wd p;  s = a s + (1 - a) g^2;  centered: ga = a ga + (1 - a) g, avg = sqrt(s - ga^2) + eps,
// else avg = sqrt(s) + eps;  momentum: buf = mom buf + g / avg, p -= lr buf;  else p -= lr g / avg
void RMSprop::step() {
  profiler::Scope scope("RMSprop.step");
  for_each_param([&](const Tensor& p, const Tensor& g, State& st, const Options& o) {
    double lr = o.at("lr"), alpha = o.at("alpha"), eps = o.at("eps"), wd = o.at("weight_decay"),
           mom = o.at("momentum");
    bool centered = o.at("centered") != 0;
    if (!st.count("step")) {
      st["step"] = zeros({}, kFloat64);
      st["square_avg"] = zeros_like(p);
      if (mom > 0) st["momentum_buffer"] = zeros_like(p);
      if (centered) st["grad_avg"] = zeros_like(p);
    }
    st["step"].fill_(st["step"].item<double>() + 1);
    visit_floating(p.dtype(), "RMSprop", [&]<typename T>() {
      T* pp = p.data_ptr<T>();
      const T* gp = g.data_ptr<T>();
      T* s = st["square_avg"].data_ptr<T>();
      T* ga = centered ? st["grad_avg"].data_ptr<T>() : nullptr;
      T* buf = mom > 0 ? st["momentum_buffer"].data_ptr<T>() : nullptr;
      for (int64_t i = 0; i < p.numel(); ++i) {
        T gi = gp[i];
        if (wd != 0) gi += T(wd) * pp[i];
        s[i] = s[i] * T(alpha) + T(1 - alpha) * gi * gi;
        T avg;
        if (ga) {
          ga[i] = ga[i] * T(alpha) + T(1 - alpha) * gi;
          avg = std::sqrt(s[i] - ga[i] * ga[i]) + T(eps);
        } else {
          avg = std::sqrt(s[i]) + T(eps);
        }
        if (buf) {
          buf[i] = buf[i] * T(mom) + gi / avg;
          pp[i] += T(-lr) * buf[i];
        } else {
          pp[i] += T(-lr) * (gi / avg);
        }
      }
    });
  });
}

}  // namespace ember::optim

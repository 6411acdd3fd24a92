// RMSprop, centered and with momentum, as torch.optim.RMSprop: the options it accepts, the
// state it keeps, and its update, vectorised and spread over threads by the element loop every
// rule shares (update_loop.h).
#include <cmath>

#include "../autograd/ops.h"
#include "../core/profiler.h"
#include "optimizer.h"
#include "rule_support.h"
#include "update_loop.h"

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

namespace {

template <typename T>
struct RmspropSlices {
  T* p;
  const T* g;
  T* s;    // square_avg
  T* ga;   // grad_avg, centered only
  T* buf;  // momentum_buffer, with momentum only
};
template <typename T>
struct RmspropScalars {
  T wd, alpha, one_minus_alpha, eps, mom, minus_lr;
};

// RMSprop's update over elements [lo, hi) of one parameter; the variants are template arguments.
// The arrays never overlap, as the __restrict parameters say (see adam_update: centered with
// momentum, five arrays, ran scalar behind __restrict locals, 9 times slower than the others).
template <typename T, bool decay, bool centered, bool momentum>
void rmsprop_update(T* __restrict p, const T* __restrict g, T* __restrict s, T* __restrict ga,
                    T* __restrict buf, const RmspropScalars<T>& k, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; ++i) {
    T gi = g[i];
    if constexpr (decay) gi += k.wd * p[i];
    s[i] = s[i] * k.alpha + k.one_minus_alpha * gi * gi;
    T avg;
    if constexpr (centered) {
      ga[i] = ga[i] * k.alpha + k.one_minus_alpha * gi;
      avg = std::sqrt(s[i] - ga[i] * ga[i]) + k.eps;
    } else {
      avg = std::sqrt(s[i]) + k.eps;
    }
    if constexpr (momentum) {
      buf[i] = buf[i] * k.mom + gi / avg;
      p[i] += k.minus_lr * buf[i];
    } else {
      p[i] += k.minus_lr * (gi / avg);
    }
  }
}

}  // namespace

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
      RmspropSlices<T> a{p.data_ptr<T>(), g.data_ptr<T>(), st["square_avg"].data_ptr<T>(),
                         centered ? st["grad_avg"].data_ptr<T>() : nullptr,
                         mom > 0 ? st["momentum_buffer"].data_ptr<T>() : nullptr};
      RmspropScalars<T> k{T(wd), T(alpha), T(1 - alpha), T(eps), T(mom), T(-lr)};
      detail::update_elements(
          p.numel(),
          [&]<bool decay, bool center, bool momentum>(int64_t lo, int64_t hi) {
            rmsprop_update<T, decay, center, momentum>(a.p, a.g, a.s, a.ga, a.buf, k, lo, hi);
          },
          wd != 0, centered, mom > 0);
    });
  });
}

}  // namespace ember::optim

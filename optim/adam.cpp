// Adam and AdamW (decoupled weight decay), as torch.optim.Adam and AdamW, amsgrad included:
// the options they accept, the state they keep, and the update, vectorised and spread over
// threads.
#include <cmath>

#include "../autograd/ops.h"
#include "../core/profiler.h"
#include "optimizer.h"
#include "rule_support.h"
#include "update_loop.h"

namespace ember::optim {
namespace {

template <const char* kName>
void check_options(const Options& o) {
  detail::option_in(kName, o, "lr", 0);
  detail::option_in(kName, o, "beta1", 0, 1, /*hi_open=*/true);
  detail::option_in(kName, o, "beta2", 0, 1, /*hi_open=*/true);
  detail::option_in(kName, o, "eps", 0);
  detail::option_in(kName, o, "weight_decay", 0);
  detail::flag_option(kName, o, "amsgrad");
}

// Nothing before the first step; then the step count and both moments (and, with amsgrad, the
// running maximum of the second).
template <const char* kName>
void check_state(const Options& o, const Tensor& param, const State& state,
                 const std::string& where) {
  if (state.empty()) return;
  bool amsgrad = o.at("amsgrad") != 0;
  detail::state_names_in(kName, state, {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, where);
  detail::state_step(kName, state, where);
  detail::state_like_param(kName, state, "exp_avg", param, where);
  detail::state_like_param(kName, state, "exp_avg_sq", param, where);
  if (amsgrad) detail::state_like_param(kName, state, "max_exp_avg_sq", param, where);
}

constexpr char kAdamName[] = "Adam", kAdamWName[] = "AdamW";
constexpr OptimizerRules kAdam{kAdamName, check_options<kAdamName>, check_state<kAdamName>};
constexpr OptimizerRules kAdamW{kAdamWName, check_options<kAdamWName>, check_state<kAdamWName>};

}  // namespace

Options option_map(const AdamConfig& o) {
  return {{"lr", o.lr},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"amsgrad", o.amsgrad ? 1.0 : 0.0}};
}

Adam::Adam(const std::vector<Tensor>& params, const AdamConfig& o)
    : Adam(std::vector<OptimizerParamGroup>{params}, o, false) {}

Adam::Adam(const std::vector<OptimizerParamGroup>& groups, const AdamConfig& defaults)
    : Adam(groups, defaults, false) {}

Adam::Adam(const std::vector<OptimizerParamGroup>& groups, const AdamConfig& defaults,
           bool decoupled)
    : Optimizer(groups, option_map(defaults), decoupled ? kAdamW : kAdam), decoupled_(decoupled) {}

namespace {

// Adam's update over elements [lo, hi) of one parameter. The decay mode and amsgrad are template
// arguments, so the loop has no branch and vectorises. The arrays never overlap, and the
// function's __restrict parameters say so: GCC vectorised with __restrict locals copied from
// the struct too, but behind run-time overlap checks, and with amsgrad's fifth array those were
// past its limit and the loop ran scalar.
enum Decay { kNoDecay, kCoupled, kDecoupled };
template <typename T>
struct AdamSlices {
  T* p;
  const T* g;
  T* m;
  T* v;
  T* vmax;  // amsgrad only
};
template <typename T>
struct AdamScalars {
  T keep, wd, b1, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps, minus_step_size;
};
template <typename T, Decay decay, bool amsgrad>
void adam_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                 T* __restrict vmax, const AdamScalars<T>& k, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; ++i) {
    T gi = g[i];
    if constexpr (decay == kDecoupled) p[i] *= k.keep;
    if constexpr (decay == kCoupled) gi += k.wd * p[i];
    m[i] = m[i] * k.b1 + k.one_minus_b1 * gi;
    v[i] = v[i] * k.b2 + k.one_minus_b2 * gi * gi;  // addcmul: value * t1 * t2
    T second = v[i];
    if constexpr (amsgrad) second = vmax[i] = std::max(vmax[i], v[i]);
    T denom = std::sqrt(second) / k.bc2_sqrt + k.eps;
    p[i] += k.minus_step_size * (m[i] / denom);
  }
}

}  // namespace

// AdamW first: p *= 1 - lr wd.  Adam: g += wd p.  Then, with t the step count:
// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  (amsgrad: vmax = max(vmax, v), used for v)
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
void Adam::step() {
  profiler::Scope scope("Adam.step");
  for_each_param([&](const Tensor& p, const Tensor& g, State& st, const Options& o) {
    double lr = o.at("lr"), b1 = o.at("beta1"), b2 = o.at("beta2"), eps = o.at("eps"),
           wd = o.at("weight_decay");
    bool amsgrad = o.at("amsgrad") != 0;
    if (!st.count("step")) {
      st["step"] = zeros({}, kFloat64);
      st["exp_avg"] = zeros_like(p);
      st["exp_avg_sq"] = zeros_like(p);
      if (amsgrad) st["max_exp_avg_sq"] = zeros_like(p);
    }
    double t = st["step"].item<double>() + 1;
    st["step"].fill_(t);
    double step_size = lr / (1 - std::pow(b1, t));
    double bc2_sqrt = std::sqrt(1 - std::pow(b2, t));
    visit_floating(p.dtype(), "Adam", [&]<typename T>() {
      AdamSlices<T> a{p.data_ptr<T>(), g.data_ptr<T>(), st["exp_avg"].data_ptr<T>(),
                      st["exp_avg_sq"].data_ptr<T>(),
                      amsgrad ? st["max_exp_avg_sq"].data_ptr<T>() : nullptr};
      AdamScalars<T> k{.keep = T(1 - lr * wd),
                       .wd = T(wd),
                       .b1 = T(b1),
                       .one_minus_b1 = T(1 - b1),
                       .b2 = T(b2),
                       .one_minus_b2 = T(1 - b2),
                       .bc2_sqrt = T(bc2_sqrt),
                       .eps = T(eps),
                       .minus_step_size = T(-step_size)};
      detail::update_elements(
          p.numel(),
          [&]<bool decoupled, bool coupled, bool max_v>(int64_t lo, int64_t hi) {
            constexpr Decay decay = decoupled ? kDecoupled : coupled ? kCoupled : kNoDecay;
            adam_update<T, decay, max_v>(a.p, a.g, a.m, a.v, a.vmax, k, lo, hi);
          },
          decoupled_, !decoupled_ && wd != 0, amsgrad);
    });
  });
}

}  // namespace ember::optim

// Optimizer bookkeeping and the update rules of SGD, Adam/AdamW and RMSprop, written as plain
// loops over each parameter's elements. Each follows PyTorch 1.13's single-tensor code step for
// step, in the parameter's dtype, so results match torch.optim to rounding.
#include "optimizer.h"

#include <algorithm>
#include <cmath>

#include "../autograd/ops.h"
#include "../core/parallel.h"
#include "../core/profiler.h"

namespace ember::optim {

Optimizer::Optimizer(const std::vector<Tensor>& params, Options defaults)
    : defaults_(std::move(defaults)) {
  add_param_group(params);
}

void Optimizer::add_param_group(const std::vector<Tensor>& params, const Options& overrides) {
  for (const Tensor& p : params) {
    if (!p.defined() || !p.is_leaf() || !p.requires_grad())
      fail("optimizer: can only optimize leaf tensors that require grad");
    if (!p.is_contiguous()) fail("optimizer: parameters must be contiguous");
  }
  ParamGroup group{params, defaults_};
  for (const auto& [key, value] : overrides) {
    if (!defaults_.count(key)) fail("optimizer: unknown option '", key, "'");
    group.options[key] = value;
  }
  groups_.push_back(std::move(group));
  state_.resize(state_.size() + params.size());
}

void Optimizer::zero_grad(bool set_to_none) {
  profiler::Scope scope("Optimizer.zero_grad");
  NoGradGuard no_grad;
  for (const ParamGroup& g : groups_)
    for (const Tensor& p : g.params) {
      if (set_to_none)
        p.set_grad(Tensor());
      else if (p.grad().defined())
        p.grad().zero_();
    }
}

std::map<std::string, Tensor>& Optimizer::state(size_t i) { return state_.at(i); }

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

TensorMap Optimizer::state_dict() const {
  TensorMap out;
  for (size_t g = 0; g < groups_.size(); ++g)
    for (const auto& [key, value] : groups_[g].options)
      out.emplace("param_groups." + std::to_string(g) + "." + key, scalar_tensor(value, kFloat64));
  for (size_t i = 0; i < state_.size(); ++i)
    for (const auto& [key, t] : state_[i]) out.emplace("state." + std::to_string(i) + "." + key, t);
  return out;
}

void Optimizer::load_state_dict(const TensorMap& dict) {
  std::vector<std::map<std::string, Tensor>> state(state_.size());
  std::vector<Options> options;
  for (const ParamGroup& g : groups_) options.push_back(g.options);
  for (const auto& [key, t] : dict) {
    size_t dot1 = key.find('.'), dot2 = key.find('.', dot1 + 1);
    if (dot1 == std::string::npos || dot2 == std::string::npos)
      fail("optimizer.load_state_dict: unexpected key '", key, "'");
    std::string kind = key.substr(0, dot1), name = key.substr(dot2 + 1);
    size_t index = std::stoul(key.substr(dot1 + 1, dot2 - dot1 - 1));
    if (kind == "param_groups" && index < options.size() && options[index].count(name)) {
      options[index][name] = t.item<double>();
    } else if (kind == "state" && index < state.size()) {
      state[index][name] = clone(t.detach());  // a copy: never share state with the source
    } else {
      fail("optimizer.load_state_dict: key '", key, "' does not fit this optimizer (",
           groups_.size(), " groups, ", state_.size(), " parameters)");
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g) groups_[g].options = options[g];
  state_ = std::move(state);
}

// ---- SGD
SGD::SGD(const std::vector<Tensor>& params, const SGDOptions& o)
    : Optimizer(params, {{"lr", o.lr},
                         {"momentum", o.momentum},
                         {"dampening", o.dampening},
                         {"weight_decay", o.weight_decay},
                         {"nesterov", o.nesterov ? 1.0 : 0.0}}) {
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    fail("SGD: nesterov momentum requires a momentum and zero dampening");
}

// d = g + wd p;  buf = momentum buf + (1 - dampening) d  (buf = d at the first step);
// d = nesterov ? d + momentum buf : buf;  p -= lr d
void SGD::step() {
  profiler::Scope scope("SGD.step");
  for_each_param(
      [&](const Tensor& p, const Tensor& g, std::map<std::string, Tensor>& st, const Options& o) {
        double lr = o.at("lr"), mom = o.at("momentum"), damp = o.at("dampening"),
               wd = o.at("weight_decay");
        bool nesterov = o.at("nesterov") != 0;
        bool first = !st.count("momentum_buffer");
        if (mom != 0 && first) st["momentum_buffer"] = empty_like(p);
        visit_floating(p.dtype(), "SGD", [&]<typename T>() {
          T* pp = p.data_ptr<T>();
          const T* gp = g.data_ptr<T>();
          T* buf = mom != 0 ? st["momentum_buffer"].data_ptr<T>() : nullptr;
          for (int64_t i = 0; i < p.numel(); ++i) {
            T d = gp[i];
            if (wd != 0) d += T(wd) * pp[i];
            if (buf) {
              buf[i] = first ? d : buf[i] * T(mom) + T(1 - damp) * d;
              d = nesterov ? d + T(mom) * buf[i] : buf[i];
            }
            pp[i] += T(-lr) * d;
          }
        });
      });
}

// ---- Adam / AdamW
Adam::Adam(const std::vector<Tensor>& params, const AdamOptions& o) : Adam(params, o, false) {}

Adam::Adam(const std::vector<Tensor>& params, const AdamOptions& o, bool decoupled)
    : Optimizer(params, {{"lr", o.lr},
                         {"beta1", o.beta1},
                         {"beta2", o.beta2},
                         {"eps", o.eps},
                         {"weight_decay", o.weight_decay},
                         {"amsgrad", o.amsgrad ? 1.0 : 0.0}}),
      decoupled_(decoupled) {
  if (o.lr < 0 || o.eps < 0 || o.beta1 < 0 || o.beta1 >= 1 || o.beta2 < 0 || o.beta2 >= 1)
    fail("Adam: invalid options (lr ", o.lr, ", betas (", o.beta1, ", ", o.beta2, "), eps ", o.eps,
         ")");
}

namespace {

// Adam's update over elements [lo, hi) of one parameter. The arrays never overlap, and the
// decay mode and amsgrad are template arguments, so the loop has no branch and vectorises.
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
constexpr int64_t kAdamGrain = 1 << 15;

template <typename T, Decay decay, bool amsgrad>
void adam_update(const AdamSlices<T>& a, const AdamScalars<T>& k, int64_t lo, int64_t hi) {
  T* __restrict p = a.p;
  const T* __restrict g = a.g;
  T* __restrict m = a.m;
  T* __restrict v = a.v;
  T* __restrict vmax = a.vmax;
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
  for_each_param(
      [&](const Tensor& p, const Tensor& g, std::map<std::string, Tensor>& st, const Options& o) {
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
          // Elementwise, so any split gives the same bits; each branch resolved once per call.
          parallel_for(0, p.numel(), kAdamGrain, [&](int64_t lo, int64_t hi) {
            if (decoupled_)
              amsgrad ? adam_update<T, kDecoupled, true>(a, k, lo, hi)
                      : adam_update<T, kDecoupled, false>(a, k, lo, hi);
            else if (wd != 0)
              amsgrad ? adam_update<T, kCoupled, true>(a, k, lo, hi)
                      : adam_update<T, kCoupled, false>(a, k, lo, hi);
            else
              amsgrad ? adam_update<T, kNoDecay, true>(a, k, lo, hi)
                      : adam_update<T, kNoDecay, false>(a, k, lo, hi);
          });
        });
      });
}

// ---- RMSprop
RMSprop::RMSprop(const std::vector<Tensor>& params, const RMSpropOptions& o)
    : Optimizer(params, {{"lr", o.lr},
                         {"alpha", o.alpha},
                         {"eps", o.eps},
                         {"weight_decay", o.weight_decay},
                         {"momentum", o.momentum},
                         {"centered", o.centered ? 1.0 : 0.0}}) {}

// g += wd p;  s = a s + (1 - a) g^2;  centered: ga = a ga + (1 - a) g, avg = sqrt(s - ga^2) + eps,
// else avg = sqrt(s) + eps;  momentum: buf = mom buf + g / avg, p -= lr buf;  else p -= lr g / avg
void RMSprop::step() {
  profiler::Scope scope("RMSprop.step");
  for_each_param(
      [&](const Tensor& p, const Tensor& g, std::map<std::string, Tensor>& st, const Options& o) {
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

// ---- gradient clipping
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  NoGradGuard no_grad;
  check(norm_type >= 1 || std::isinf(norm_type),
        "clip_grad_norm_: norm_type must be >= 1 or "
        "infinity, got ",
        norm_type);
  double total = 0;
  for (const Tensor& p : params) {
    if (!p.grad().defined()) continue;
    Tensor a = abs(to(p.grad(), kFloat64));
    if (std::isinf(norm_type))
      total = std::max(total, max(a).item<double>());
    else
      total += sum(pow(a, norm_type)).item<double>();
  }
  if (!std::isinf(norm_type)) total = std::pow(total, 1.0 / norm_type);
  double coef = max_norm / (total + 1e-6);
  if (coef < 1)
    for (const Tensor& p : params)
      if (p.grad().defined()) p.grad().copy_(p.grad() * coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  NoGradGuard no_grad;
  for (const Tensor& p : params)
    if (p.grad().defined()) p.grad().copy_(clamp(p.grad(), -clip_value, clip_value));
}

}  // namespace ember::optim

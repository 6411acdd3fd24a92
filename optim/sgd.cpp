// SGD with momentum, dampening, Nesterov momentum and L2 weight decay, as torch.optim.SGD:
// the options it accepts, the state it keeps, and its update, vectorised and spread over threads
// by the element loop every rule shares (update_loop.h).
#include "../autograd/ops.h"
#include "../core/profiler.h"
#include "optimizer.h"
#include "rule_support.h"
#include "update_loop.h"

namespace ember::optim {
namespace {

void check_options(const Options& o) {
  detail::option_in("SGD", o, "lr", 0);
  double momentum = detail::option_in("SGD", o, "momentum", 0);
  double dampening = detail::option_in("SGD", o, "dampening", -INFINITY);
  detail::option_in("SGD", o, "weight_decay", 0);
  if (detail::flag_option("SGD", o, "nesterov") && (momentum <= 0 || dampening != 0))
    fail("SGD: nesterov momentum requires a momentum and zero dampening");
}

// A momentum buffer, once a step with momentum has run; nothing else.
void check_state(const Options&, const Tensor& param, const State& state,
                 const std::string& where) {
  detail::state_names_in("SGD", state, {"momentum_buffer"}, where);
  if (state.count("momentum_buffer"))
    detail::state_like_param("SGD", state, "momentum_buffer", param, where);
}

template <typename T>
struct SgdScalars {
  T wd, mom, one_minus_damp, minus_lr;
};

// SGD's update over elements [lo, hi) of one parameter; the variants are template arguments.
template <typename T, bool decay, bool momentum, bool first, bool nesterov>
void sgd_update(T* __restrict p, const T* __restrict g, T* __restrict buf, const SgdScalars<T>& k,
                int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; ++i) {
    T d = g[i];
    if constexpr (decay) d += k.wd * p[i];
    if constexpr (momentum) {
      buf[i] = first ? d : buf[i] * k.mom + k.one_minus_damp * d;
      d = nesterov ? d + k.mom * buf[i] : buf[i];
    }
    p[i] += k.minus_lr * d;
  }
}

}  // namespace

Options option_map(const SGDConfig& o) {
  return {{"lr", o.lr},
          {"momentum", o.momentum},
          {"dampening", o.dampening},
          {"weight_decay", o.weight_decay},
          {"nesterov", o.nesterov ? 1.0 : 0.0}};
}

SGD::SGD(const std::vector<Tensor>& params, const SGDConfig& o)
    : Optimizer(params, option_map(o), {"SGD", check_options, check_state}) {}

SGD::SGD(const std::vector<OptimizerParamGroup>& groups, const SGDConfig& defaults)
    : Optimizer(groups, option_map(defaults), {"SGD", check_options, check_state}) {}

// d = g + wd p;  buf = momentum buf + (1 - dampening) d  (buf = d at the first step);
// d = nesterov ? d + momentum buf : buf;  p -= lr d
void SGD::step() {
  profiler::Scope scope("SGD.step");
  for_each_param([&](const Tensor& p, const Tensor& g, State& st, const Options& o) {
    double lr = o.at("lr"), mom = o.at("momentum"), damp = o.at("dampening"),
           wd = o.at("weight_decay");
    bool nesterov = o.at("nesterov") != 0;
    bool first = !st.count("momentum_buffer");
    if (mom != 0 && first) st["momentum_buffer"] = empty_like(p);
    visit_floating(p.dtype(), "SGD", [&]<typename T>() {
      T* pp = p.data_ptr<T>();
      const T* gp = g.data_ptr<T>();
      T* buf = mom != 0 ? st["momentum_buffer"].data_ptr<T>() : nullptr;
      SgdScalars<T> k{T(wd), T(mom), T(1 - damp), T(-lr)};
      detail::update_elements(
          p.numel(),
          [&]<bool decay, bool momentum, bool first_step, bool nesterov_step>(int64_t lo,
                                                                              int64_t hi) {
            sgd_update<T, decay, momentum, first_step, nesterov_step>(pp, gp, buf, k, lo, hi);
          },
          wd != 0, mom != 0, first, nesterov);
    });
  });
}

}  // namespace ember::optim

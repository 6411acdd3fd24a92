// SGD with momentum, dampening, Nesterov momentum and L2 weight decay, as torch.optim.SGD:
// the options it accepts, the state it keeps, and its update.
#include "../autograd/ops.h"
#include "../core/profiler.h"
#include "optimizer.h"
#include "rule_support.h"

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

}  // namespace ember::optim

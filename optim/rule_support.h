// What the update rules (sgd.cpp, adam.cpp, rmsprop.cpp) share: the checks their options and
// state pass, in the constructor and on load_state_dict alike, and the walk over the parameters
// that have a gradient. Not part of the public API.
#pragma once

#include <cmath>
#include <initializer_list>
#include <string>

#include "../autograd/grad_mode.h"
#include "../core/error.h"
#include "optimizer.h"

namespace ember::optim::detail {

/// options[name], which must be finite and in [lo, hi] (hi_open: [lo, hi)).
inline double option_in(const char* op, const Options& o, const std::string& name, double lo,
                        double hi = INFINITY, bool hi_open = false) {
  auto it = o.find(name);
  if (it == o.end()) fail(op, ": option '", name, "' is missing");
  double v = it->second;
  bool ok = std::isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
  if (!ok)
    fail(op, ": invalid ", name, " ", v, " (expected a finite value in [", lo, ", ", hi,
         hi_open ? ")" : "]", ")");
  return v;
}

/// A flag stored as an option (nesterov, amsgrad, centered): 0 or 1.
inline bool flag_option(const char* op, const Options& o, const std::string& name) {
  double v = option_in(op, o, name, 0, 1);
  if (v != 0 && v != 1) fail(op, ": option ", name, " must be 0 or 1, got ", v);
  return v == 1;
}

/// Fails unless every entry of `state` is one of `allowed`.
inline void state_names_in(const char* op, const State& state,
                           std::initializer_list<const char*> allowed, const std::string& where) {
  for (const auto& [name, t] : state) {
    bool known = false;
    for (const char* a : allowed) known = known || name == a;
    if (!known) fail(op, ": ", where, ".", name, " is not state this optimizer keeps");
  }
}

/// Fails unless state[name] exists, has the parameter's shape and dtype, and is finite.
inline void state_like_param(const char* op, const State& state, const char* name,
                             const Tensor& param, const std::string& where) {
  auto it = state.find(name);
  if (it == state.end()) fail(op, ": ", where, " has no ", name);
  const Tensor& t = it->second;
  if (!t.defined() || shape_of(t) != shape_of(param) || t.dtype() != param.dtype())
    fail(op, ": ", where, ".", name, " is ",
         t.defined() ? std::string(dtype_name(t.dtype())) + " " + shape_str(t.sizes())
                     : std::string("undefined"),
         " but its parameter is ", param.dtype(), " ", shape_str(param.sizes()));
  NoGradGuard no_grad;
  bool finite = visit_floating(t.dtype(), op, [&]<typename T>() {
    Tensor c = t.contiguous();
    const T* p = c.data_ptr<T>();
    for (int64_t i = 0; i < c.numel(); ++i)
      if (!std::isfinite(p[i])) return false;
    return true;
  });
  if (!finite) fail(op, ": ", where, ".", name, " holds NaN or infinite values");
}

/// Fails unless state["step"] is a float64 scalar holding a whole number >= 1.
inline void state_step(const char* op, const State& state, const std::string& where) {
  auto it = state.find("step");
  if (it == state.end()) fail(op, ": ", where, " has no step");
  const Tensor& t = it->second;
  if (!t.defined() || t.numel() != 1 || t.dim() != 0 || t.dtype() != kFloat64)
    fail(op, ": ", where, ".step must be a float64 scalar");
  double step = t.item<double>();
  if (!(step >= 1 && step <= 9007199254740992.0 && step == std::floor(step)))
    fail(op, ": ", where, ".step is ", step, ", not a step count");
}

}  // namespace ember::optim::detail

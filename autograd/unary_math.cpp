// The unary math functions: exponentials and logarithms, roots, the squashing functions (tanh,
// sigmoid, relu), trigonometry and erf. Forwards are core kernels (the vectorised SLEEF
// functions of core/kernels/vmath.h where they exist), each backward right below under its math,
// written with differentiable ops. Read next: reduce.cpp.
#include "unary_math.h"

#include <cmath>
#include <numbers>

#include "../core/kernels/map_zip.h"
#include "../core/kernels/vmath.h"
#include "../core/profiler.h"
#include "function.h"
#include "ops.h"

namespace ember {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using autograd::save;
using autograd::save_output;
namespace vmath = kernels::vmath;

// y = e^x      dx = g * y
Tensor exp(const Tensor& x) {
  profiler::Scope scope("exp");
  Tensor y = kernels::map_array_floating(x, "exp",
                                         [](auto* y, auto* v, int64_t n) { vmath::exp(y, v, n); });
  return record("exp", y, {x}, [y = save_output(y)](const Tensor& g, const Needs&) {
    return grads{g * y.unpack()};
  });
}

// y = ln x      dx = g / x
Tensor log(const Tensor& x) {
  profiler::Scope scope("log");
  Tensor y = kernels::map_array_floating(x, "log",
                                         [](auto* y, auto* v, int64_t n) { vmath::log(y, v, n); });
  return record("log", y, {x},
                [x = save(x)](const Tensor& g, const Needs&) { return grads{g / x.unpack()}; });
}

// y = sqrt(x)      dx = g / (2 y)
Tensor sqrt(const Tensor& x) {
  profiler::Scope scope("sqrt");
  Tensor y = kernels::map_floating(x, "sqrt", [](auto v) { return std::sqrt(v); });
  return record("sqrt", y, {x}, [y = save_output(y)](const Tensor& g, const Needs&) {
    return grads{g / (y.unpack() * 2.0)};
  });
}

// y = 1 / sqrt(x)      dx = -g y^3 / 2
Tensor rsqrt(const Tensor& x) {
  profiler::Scope scope("rsqrt");
  Tensor y = kernels::map_floating(x, "rsqrt", [](auto v) { return 1 / std::sqrt(v); });
  return record("rsqrt", y, {x}, [y = save_output(y)](const Tensor& g, const Needs&) {
    return grads{g * pow(y.unpack(), 3.0) * -0.5};
  });
}

// y = tanh x      dx = g (1 - y^2)
Tensor tanh(const Tensor& x) {
  profiler::Scope scope("tanh");
  Tensor y = kernels::map_array_floating(x, "tanh",
                                         [](auto* y, auto* v, int64_t n) { vmath::tanh(y, v, n); });
  return record("tanh", y, {x}, [y = save_output(y)](const Tensor& g, const Needs&) {
    Tensor yv = y.unpack();
    return grads{g * (1.0 - yv * yv)};
  });
}

// y = 1 / (1 + e^-x)      dx = g y (1 - y)      (vmath.cpp evaluates it without overflow)
Tensor sigmoid(const Tensor& x) {
  profiler::Scope scope("sigmoid");
  Tensor y = kernels::map_array_floating(
      x, "sigmoid", [](auto* y, auto* v, int64_t n) { vmath::sigmoid(y, v, n); });
  return record("sigmoid", y, {x}, [y = save_output(y)](const Tensor& g, const Needs&) {
    Tensor yv = y.unpack();
    return grads{g * yv * (1.0 - yv)};
  });
}

namespace {

// relu's backward, g where y > 0 (else 0), as an op of its own: one pass, and differentiable in g
// (the mask is constant), so relu differentiates twice.
Tensor relu_backward(const Tensor& g, const Tensor& y) {
  profiler::Scope scope("relu_backward");
  Tensor dx = visit_dtype(g.dtype(), [&]<typename T>() {
    return kernels::zip<T, T>(g, y, "relu_backward", [](T gv, T yv) { return yv > 0 ? gv : T(0); });
  });
  return record("relu_backward", dx, {g}, [y = y.detach()](const Tensor& gg, const Needs&) {
    return grads{relu_backward(gg, y)};
  });
}

}  // namespace

// y = max(x, 0)      dx = g where y > 0
Tensor relu(const Tensor& x) {
  profiler::Scope scope("relu");
  Tensor y = visit_dtype(x.dtype(), [&]<typename T>() {
    return kernels::map<T, T>(x, [](T v) { return v > 0 ? v : T(0); });
  });
  return record("relu", y, {x}, [y = save_output(y)](const Tensor& g, const Needs&) {
    return grads{relu_backward(g, y.unpack())};
  });
}

// y = sin x      dx = g cos x
Tensor sin(const Tensor& x) {
  profiler::Scope scope("sin");
  Tensor y = kernels::map_floating(x, "sin", [](auto v) { return std::sin(v); });
  return record("sin", y, {x}, [x = save(x)](const Tensor& g, const Needs&) {
    return grads{g * cos(x.unpack())};
  });
}

// y = cos x      dx = -g sin x
Tensor cos(const Tensor& x) {
  profiler::Scope scope("cos");
  Tensor y = kernels::map_floating(x, "cos", [](auto v) { return std::cos(v); });
  return record("cos", y, {x}, [x = save(x)](const Tensor& g, const Needs&) {
    return grads{neg(g * sin(x.unpack()))};
  });
}

// y = erf x      dx = g 2/sqrt(pi) e^(-x^2)
Tensor erf(const Tensor& x) {
  profiler::Scope scope("erf");
  Tensor y = kernels::map_array_floating(x, "erf",
                                         [](auto* y, auto* v, int64_t n) { vmath::erf(y, v, n); });
  return record("erf", y, {x}, [x = save(x)](const Tensor& g, const Needs&) {
    Tensor xv = x.unpack();
    return grads{g * exp(neg(xv * xv)) * (2.0 / std::sqrt(std::numbers::pi))};
  });
}

}  // namespace ember

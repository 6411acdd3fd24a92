// Elementwise arithmetic and selection: each forward is a core kernel with a one-line lambda (or
// std::plus<> and kin, shared by an op's forms with a tensor and with a number), each backward sits
// right below it under its math, written with differentiable ops so it can be differentiated again.
// Gradients may have the broadcast shape: the engine sums them back to each input. Read next:
// unary_math.cpp.
#include "elementwise.h"

#include <cmath>
#include <functional>
#include <numbers>
#include <type_traits>

#include "../core/kernels/copy.h"
#include "../core/kernels/map_zip.h"
#include "../core/profiler.h"
#include "../core/promotion.h"
#include "function.h"
#include "ops.h"

namespace ember {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using autograd::save;
using autograd::save_output;

namespace {

// PyTorch's binary ops compute in result_type (core/promotion.h). An op whose operands are not
// already of that dtype runs again on converted ones; the conversions are recorded, so a float32
// input of a float64 op gets a float32 gradient.
bool needs_promotion(const Tensor& a, const Tensor& b, DType d) {
  return a.dtype() != d || b.dtype() != d;
}

// f(x, y) in T. Signed integers wrap around on overflow, as PyTorch's do on every CPU it runs
// on: the arithmetic runs in the unsigned type of their width, since C++ leaves signed overflow
// undefined.
template <typename T, typename F>
T wrapping(F f, T x, T y) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(f(static_cast<U>(x), static_cast<U>(y))));
  } else {
    return static_cast<T>(f(x, y));
  }
}

// out = f(a, b) for a and b of one dtype, broadcast together.
template <typename F>
Tensor binary(const Tensor& a, const Tensor& b, const char* op, F f) {
  kernels::check_same_dtype(a, b, op);
  return visit_dtype(a.dtype(), [&]<typename T>() {
    return kernels::zip<T, T>(a, b, op, [&](T x, T y) { return wrapping(f, x, y); });
  });
}

// out = f(a, s) with the number converted to a's dtype (already the promoted one): binary()'s
// own loop, the number a 0-d tensor that broadcasts (one loop per op and dtype, not two).
template <typename F>
Tensor with_scalar(const Tensor& a, const Scalar& s, const char* op, F f) {
  return binary(a, scalar_tensor(s, a.dtype()), op, f);
}

void check_not_bool(DType d, const char* op, const char* what) {
  check(d != kBool, op, ": ", what, " of bool tensors is not supported; to invert a mask use ",
        "logical_not or ~");
}

Tensor zero_like_scalar(const Tensor& t) { return scalar_tensor(0.0, t.dtype()); }

}  // namespace

// y = a + b      da = g      db = g
Tensor add(const Tensor& a, const Tensor& b) {
  profiler::Scope scope("add");
  if (DType d = result_type(a, b); needs_promotion(a, b, d)) return add(to(a, d), to(b, d));
  Tensor y = binary(a, b, "add", std::plus<>());
  return record("add", y, {a, b}, [](const Tensor& g, const Needs&) { return grads{g, g}; });
}

// y = a + s      da = g
Tensor add(const Tensor& a, const Scalar& s) {
  profiler::Scope scope("add");
  if (DType d = result_type(a, s); d != a.dtype()) return add(to(a, d), s);
  Tensor y = with_scalar(a, s, "add", std::plus<>());
  return record("add", y, {a}, [](const Tensor& g, const Needs&) { return grads{g}; });
}

// y = a - b      da = g      db = -g
Tensor sub(const Tensor& a, const Tensor& b) {
  profiler::Scope scope("sub");
  DType d = result_type(a, b);
  check_not_bool(d, "sub", "subtraction");
  if (needs_promotion(a, b, d)) return sub(to(a, d), to(b, d));
  Tensor y = binary(a, b, "sub", std::minus<>());
  return record("sub", y, {a, b}, [](const Tensor& g, const Needs& needs) {
    return grads{g, needs[1] ? neg(g) : Tensor()};
  });
}

// y = a - s      da = g
Tensor sub(const Tensor& a, const Scalar& s) {
  profiler::Scope scope("sub");
  DType d = result_type(a, s);
  check_not_bool(d, "sub", "subtraction");
  if (d != a.dtype()) return sub(to(a, d), s);
  Tensor y = with_scalar(a, s, "sub", std::minus<>());
  return record("sub", y, {a}, [](const Tensor& g, const Needs&) { return grads{g}; });
}

// y = a * b      da = g * b      db = g * a
Tensor mul(const Tensor& a, const Tensor& b) {
  profiler::Scope scope("mul");
  if (DType d = result_type(a, b); needs_promotion(a, b, d)) return mul(to(a, d), to(b, d));
  Tensor y = binary(a, b, "mul", std::multiplies<>());
  return record("mul", y, {a, b}, [a = save(a), b = save(b)](const Tensor& g, const Needs& needs) {
    return grads{needs[0] ? g * b.unpack() : Tensor(), needs[1] ? g * a.unpack() : Tensor()};
  });
}

// y = a * s      da = g * s
Tensor mul(const Tensor& a, const Scalar& s) {
  profiler::Scope scope("mul");
  if (DType d = result_type(a, s); d != a.dtype()) return mul(to(a, d), s);
  Tensor y = with_scalar(a, s, "mul", std::multiplies<>());
  return record("mul", y, {a}, [s](const Tensor& g, const Needs&) { return grads{g * s}; });
}

// y = a / b      da = g / b      db = -g * a / b^2      (true division: integers give float32)
Tensor div(const Tensor& a, const Tensor& b) {
  profiler::Scope scope("div");
  DType d = result_type(a, b);
  if (!is_floating(d)) d = kFloat32;
  if (needs_promotion(a, b, d)) return div(to(a, d), to(b, d));
  Tensor y = binary(a, b, "div", std::divides<>());
  return record("div", y, {a, b}, [a = save(a), b = save(b)](const Tensor& g, const Needs& needs) {
    Tensor bv = b.unpack();
    return grads{needs[0] ? g / bv : Tensor(),
                 needs[1] ? neg(g * a.unpack()) / (bv * bv) : Tensor()};
  });
}

// y = a / s      da = g / s
Tensor div(const Tensor& a, const Scalar& s) {
  profiler::Scope scope("div");
  DType d = result_type(a, s);
  if (!is_floating(d)) d = kFloat32;
  if (d != a.dtype()) return div(to(a, d), s);
  Tensor y = with_scalar(a, s, "div", std::divides<>());
  return record("div", y, {a}, [s](const Tensor& g, const Needs&) { return grads{g / s}; });
}

// y = -x      dx = -g
Tensor neg(const Tensor& x) {
  profiler::Scope scope("neg");
  check_not_bool(x.dtype(), "neg", "negation");
  Tensor y = visit_dtype(x.dtype(), [&]<typename T>() {
    return kernels::map<T, T>(x, [](T v) {
      if constexpr (std::is_floating_point_v<T>)
        return -v;  // -0.0 for 0.0, as PyTorch
      else
        return wrapping(std::minus<>(), T(0), v);
    });
  });
  return record("neg", y, {x}, [](const Tensor& g, const Needs&) { return grads{neg(g)}; });
}

// y = |x|      dx = g * sign(x)
Tensor abs(const Tensor& x) {
  profiler::Scope scope("abs");
  Tensor y = visit_dtype(x.dtype(), [&]<typename T>() {
    return kernels::map<T, T>(x, [](T v) {
      if constexpr (std::is_unsigned_v<T>)
        return v;  // bool and uint8
      else
        return v < 0 ? wrapping(std::minus<>(), T(0), v) : v;
    });
  });
  return record("abs", y, {x}, [x = save(x)](const Tensor& g, const Needs&) {
    return grads{g * sign(x.unpack())};
  });
}

// y = sign(x)      dx = 0
Tensor sign(const Tensor& x) {
  profiler::Scope scope("sign");
  Tensor y = visit_dtype(x.dtype(), [&]<typename T>() {
    return kernels::map<T, T>(x, [](T v) {
      if constexpr (std::is_unsigned_v<T>)
        return static_cast<T>(v > 0);
      else
        return static_cast<T>((v > 0) - (v < 0));
    });
  });
  return record("sign", y, {x}, [](const Tensor&, const Needs&) { return grads{Tensor()}; });
}

namespace {

// floor, ceil and round: steps, so the gradient is zero (an int64 tensor is its own rounding).
template <typename Round>
Tensor rounding(const char* op, const Tensor& x, Round round) {
  profiler::Scope scope(op);
  Tensor y = visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (std::is_floating_point_v<T>)
      return kernels::map<T, T>(x, [&](T v) { return static_cast<T>(round(v)); });
    else
      return kernels::map<T, T>(x, [](T v) { return v; });
  });
  return record(op, y, {x}, [](const Tensor&, const Needs&) { return grads{Tensor()}; });
}

}  // namespace

// y = ⌊x⌋, ⌈x⌉, or x to the nearest integer with halves to even (as torch.round)      dx = 0
Tensor floor(const Tensor& x) {
  return rounding("floor", x, [](auto v) { return std::floor(v); });
}
Tensor ceil(const Tensor& x) {
  return rounding("ceil", x, [](auto v) { return std::ceil(v); });
}
Tensor round(const Tensor& x) {
  return rounding("round", x, [](auto v) { return std::nearbyint(v); });
}

// start + weight (end - start)      (composite)
Tensor lerp(const Tensor& start, const Tensor& end, double weight) {
  profiler::Scope scope("lerp");
  return start + (end - start) * weight;
}
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) {
  profiler::Scope scope("lerp");
  return start + (end - start) * weight;
}

// y = x^p      dx = g p x^(p-1)
Tensor pow(const Tensor& x, double p) {
  profiler::Scope scope("pow");
  Tensor y = kernels::map_floating(
      x, "pow", [p](auto v) { return std::pow(v, static_cast<decltype(v)>(p)); });
  return record("pow", y, {x}, [x = save(x), p](const Tensor& g, const Needs&) {
    if (p == 0.0) return grads{Tensor()};
    return grads{g * pow(x.unpack(), p - 1.0) * p};
  });
}

// y = a^b      da = g b a^(b-1)      db = g y ln a   (0 where a = 0 and b >= 0, as in PyTorch)
Tensor pow(const Tensor& a, const Tensor& b) {
  profiler::Scope scope("pow");
  if (DType d = result_type(a, b); needs_promotion(a, b, d)) return pow(to(a, d), to(b, d));
  Tensor y = visit_floating(a.dtype(), "pow", [&]<typename T>() {
    return kernels::zip<T, T>(a, b, "pow", [](T x, T z) { return std::pow(x, z); });
  });
  return record(
      "pow", y, {a, b},
      [a = save(a), b = save(b), y = save_output(y)](const Tensor& g, const Needs& needs) {
        Tensor av = a.unpack(), bv = b.unpack();
        Tensor da = needs[0] ? g * bv * pow(av, bv - 1.0) : Tensor();
        Tensor db;
        if (needs[1]) {
          Tensor at_zero = eq(av, 0.0) * ge(bv, 0.0);
          db = where(at_zero, zero_like_scalar(g), g * y.unpack() * log(av));
        }
        return grads{da, db};
      });
}

// Shared by maximum and minimum: the winner takes g, ties split it evenly.
static Tensor extremum(const char* op, const Tensor& a, const Tensor& b, bool take_max) {
  if (DType d = result_type(a, b); needs_promotion(a, b, d))
    return extremum(op, to(a, d), to(b, d), take_max);
  Tensor y = visit_dtype(a.dtype(), [&]<typename T>() {
    return kernels::zip<T, T>(a, b, op, [take_max](T x, T z) {
      if constexpr (std::is_floating_point_v<T>)
        if (std::isnan(x) || std::isnan(z)) return x + z;  // NaN propagates
      return (take_max ? x > z : x < z) ? x : z;
    });
  });
  return record(op, y, {a, b},
                [a = save(a), b = save(b), take_max](const Tensor& g, const Needs& needs) {
                  Tensor av = a.unpack(), bv = b.unpack();
                  Tensor half = g * 0.5, zero = zero_like_scalar(g);
                  Tensor tie = eq(av, bv);
                  Tensor a_wins = take_max ? gt(av, bv) : lt(av, bv);
                  Tensor b_wins = take_max ? lt(av, bv) : gt(av, bv);
                  return grads{needs[0] ? where(tie, half, where(a_wins, g, zero)) : Tensor(),
                               needs[1] ? where(tie, half, where(b_wins, g, zero)) : Tensor()};
                });
}

// y = max(a, b)      da = g [a > b] + g/2 [a = b]      db likewise
Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", a, b, true); }

// y = min(a, b)      da = g [a < b] + g/2 [a = b]      db likewise
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", a, b, false); }

// y = min(max(x, lo), hi)      dx = g [lo <= x <= hi]
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  profiler::Scope scope("clamp");
  double l = lo.value_or(-INFINITY), h = hi.value_or(INFINITY);
  check(!(lo && hi) || l <= h, "clamp: min ", l, " is greater than max ", h);
  Tensor y = visit_dtype(x.dtype(), [&]<typename T>() {
    return kernels::map<T, T>(x, [l, h](T v) {
      if constexpr (std::is_floating_point_v<T>)
        if (std::isnan(v)) return v;
      return static_cast<T>(std::min<double>(std::max<double>(v, l), h));
    });
  });
  return record("clamp", y, {x}, [x = save(x), l, h](const Tensor& g, const Needs&) {
    Tensor xv = x.unpack();
    return grads{where(ge(xv, l) * le(xv, h), g, 0.0)};
  });
}

// y = cond ? a : b      da = g [cond]      db = g [!cond]
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  profiler::Scope scope("where");
  if (DType d = result_type(a, b); needs_promotion(a, b, d)) return where(cond, to(a, d), to(b, d));
  Tensor y = kernels::where(cond, a, b);
  return record("where", y, {a, b}, [cond](const Tensor& g, const Needs& needs) {
    Tensor zero = zero_like_scalar(g);
    return grads{needs[0] ? where(cond, g, zero) : Tensor(),
                 needs[1] ? where(cond, zero, g) : Tensor()};
  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b) {
  profiler::Scope scope("where");
  DType d = result_type(a, b);
  return where(cond, to(a, d), scalar_tensor(b, d));
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {  // (composite)
  profiler::Scope scope("masked_fill");
  return where(mask, scalar_tensor(value, x.dtype()), x);
}

}  // namespace ember

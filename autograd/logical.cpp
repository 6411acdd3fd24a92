// Comparisons, logical and bitwise ops: masks out, not differentiable. The comparisons run in
// the operands' promoted dtype and return bool; the logical ops read any dtype as "nonzero is
// true" and return bool; the bitwise ones work on bool and integer tensors in their promoted
// dtype (on bool, ~ & | ^ are not, and, or, xor). See elementwise.h.
#include "../core/kernels/map_zip.h"
#include "../core/profiler.h"
#include "../core/promotion.h"
#include "function.h"
#include "ops.h"

namespace ember {

namespace {

// A comparison, in the promoted dtype: a bool mask, not differentiable.
template <typename F>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, F f) {
  profiler::Scope scope(op);
  if (DType d = result_type(a, b); a.dtype() != d || b.dtype() != d)
    return compare(op, to(a, d), to(b, d), f);
  Tensor out = visit_dtype(a.dtype(), [&]<typename T>() {
    return kernels::zip<bool, T>(a, b, op, [&](T x, T y) { return bool{f(x, y)}; });
  });
  return autograd::mark_nondifferentiable(op, out, {a, b});
}

template <typename F>
Tensor compare(const char* op, const Tensor& a, const Scalar& s, F f) {
  profiler::Scope scope(op);
  if (DType d = result_type(a, s); d != a.dtype()) return compare(op, to(a, d), s, f);
  Tensor out = visit_dtype(a.dtype(), [&]<typename T>() {
    T v = s.to<T>();
    return kernels::map<bool, T>(a, [&](T x) { return bool{f(x, v)}; });
  });
  return autograd::mark_nondifferentiable(op, out, {a});
}

template <typename F>
Tensor logical(const char* op, const Tensor& a, const Tensor& b, F f) {
  profiler::Scope scope(op);
  Tensor out = kernels::zip<bool, bool>(to(a, kBool), to(b, kBool), op,
                                        [&](bool x, bool y) { return bool{f(x, y)}; });
  return autograd::mark_nondifferentiable(op, out, {a, b});
}

void check_bitwise(DType d, const char* op) {
  check(is_integral(d, true), op, ": expected bool or integer tensors, got ", d);
}

template <typename F>
Tensor bitwise(const char* op, const Tensor& a, const Tensor& b, F f) {
  profiler::Scope scope(op);
  DType d = result_type(a, b);
  check_bitwise(d, op);
  Tensor pa = to(a, d), pb = to(b, d);
  Tensor out = visit_dtype(d, [&]<typename T>() -> Tensor {
    if constexpr (std::is_integral_v<T>)  // bool included; check_bitwise refused the rest
      return kernels::zip<T, T>(pa, pb, op, [&](T x, T y) { return static_cast<T>(f(x, y)); });
    else
      fail(op, ": unreachable for ", d);
  });
  return autograd::mark_nondifferentiable(op, out, {a, b});
}

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) {
  return compare("eq", a, b, [](auto x, auto y) { return x == y; });
}
Tensor eq(const Tensor& a, const Scalar& b) {
  return compare("eq", a, b, [](auto x, auto y) { return x == y; });
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare("ne", a, b, [](auto x, auto y) { return x != y; });
}
Tensor ne(const Tensor& a, const Scalar& b) {
  return compare("ne", a, b, [](auto x, auto y) { return x != y; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare("lt", a, b, [](auto x, auto y) { return x < y; });
}
Tensor lt(const Tensor& a, const Scalar& b) {
  return compare("lt", a, b, [](auto x, auto y) { return x < y; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare("le", a, b, [](auto x, auto y) { return x <= y; });
}
Tensor le(const Tensor& a, const Scalar& b) {
  return compare("le", a, b, [](auto x, auto y) { return x <= y; });
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare("gt", a, b, [](auto x, auto y) { return x > y; });
}
Tensor gt(const Tensor& a, const Scalar& b) {
  return compare("gt", a, b, [](auto x, auto y) { return x > y; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare("ge", a, b, [](auto x, auto y) { return x >= y; });
}
Tensor ge(const Tensor& a, const Scalar& b) {
  return compare("ge", a, b, [](auto x, auto y) { return x >= y; });
}

Tensor logical_not(const Tensor& x) {
  profiler::Scope scope("logical_not");
  Tensor out = visit_dtype(x.dtype(), [&]<typename T>() {
    return kernels::map<bool, T>(x, [](T v) { return v == T(0); });
  });
  return autograd::mark_nondifferentiable("logical_not", out, {x});
}

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return logical("logical_and", a, b, [](bool x, bool y) { return x && y; });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return logical("logical_or", a, b, [](bool x, bool y) { return x || y; });
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return logical("logical_xor", a, b, [](bool x, bool y) { return x != y; });
}

Tensor bitwise_not(const Tensor& x) {
  profiler::Scope scope("bitwise_not");
  check_bitwise(x.dtype(), "bitwise_not");
  Tensor out = visit_dtype(x.dtype(), [&]<typename T>() -> Tensor {
    if constexpr (std::is_same_v<T, bool>)
      return kernels::map<T, T>(x, [](T v) { return !v; });
    else if constexpr (std::is_integral_v<T>)
      return kernels::map<T, T>(x, [](T v) { return static_cast<T>(~v); });
    else
      fail("bitwise_not: unreachable for ", x.dtype());
  });
  return autograd::mark_nondifferentiable("bitwise_not", out, {x});
}

Tensor bitwise_and(const Tensor& a, const Tensor& b) {
  return bitwise("bitwise_and", a, b, [](auto x, auto y) { return x & y; });
}
Tensor bitwise_or(const Tensor& a, const Tensor& b) {
  return bitwise("bitwise_or", a, b, [](auto x, auto y) { return x | y; });
}
Tensor bitwise_xor(const Tensor& a, const Tensor& b) {
  return bitwise("bitwise_xor", a, b, [](auto x, auto y) { return x ^ y; });
}

}  // namespace ember

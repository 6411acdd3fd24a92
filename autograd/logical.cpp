// Comparisons, logical and bitwise ops: masks out, not differentiable. The comparisons run in
// the operands' promoted dtype and return bool; the logical ops read any dtype as "nonzero is
// true" and return bool; the bitwise ones work on bool and integer tensors in their promoted
// dtype (on bool, ~ & | ^ are not, and, or, xor). See elementwise.h.
#include <functional>

#include "../core/kernels/map_zip.h"
#include "../core/profiler.h"
#include "../core/promotion.h"
#include "function.h"
#include "ops.h"

namespace ember {

namespace {

// The comparisons, in the operands' promoted dtype: a bool mask, not differentiable. Op is one
// of the standard comparison objects (std::less<> for lt): one loop per op and dtype, which the
// forms with a number share by comparing with a 0-d tensor.
template <typename Op>
Tensor mask(const char* op, const Tensor& a, const Tensor& b) {
  return visit_dtype(a.dtype(), [&]<typename T>() {
    return kernels::zip<bool, T>(a, b, op, [](T x, T y) { return Op{}(x, y); });
  });
}

template <typename Op>
Tensor compare(const char* op, const Tensor& a, const Tensor& b) {
  profiler::Scope scope(op);
  DType d = result_type(a, b);
  return autograd::mark_nondifferentiable(op, mask<Op>(op, to(a, d), to(b, d)), {a, b});
}

// With a number: it becomes a 0-d tensor of the promoted dtype (an int64 one exactly).
template <typename Op>
Tensor compare(const char* op, const Tensor& a, const Scalar& s) {
  profiler::Scope scope(op);
  DType d = result_type(a, s);
  Tensor out = mask<Op>(op, to(a, d), scalar_tensor(s, d));
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

Tensor eq(const Tensor& a, const Tensor& b) { return compare<std::equal_to<>>("eq", a, b); }
Tensor eq(const Tensor& a, const Scalar& b) { return compare<std::equal_to<>>("eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare<std::not_equal_to<>>("ne", a, b); }
Tensor ne(const Tensor& a, const Scalar& b) { return compare<std::not_equal_to<>>("ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare<std::less<>>("lt", a, b); }
Tensor lt(const Tensor& a, const Scalar& b) { return compare<std::less<>>("lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare<std::less_equal<>>("le", a, b); }
Tensor le(const Tensor& a, const Scalar& b) { return compare<std::less_equal<>>("le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare<std::greater<>>("gt", a, b); }
Tensor gt(const Tensor& a, const Scalar& b) { return compare<std::greater<>>("gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare<std::greater_equal<>>("ge", a, b); }
Tensor ge(const Tensor& a, const Scalar& b) { return compare<std::greater_equal<>>("ge", a, b); }

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

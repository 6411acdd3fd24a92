// Elementwise kernels as templates over the scalar type and the per-element function: unary map
// (map, map_array, and their floating-dtype forms) and binary zip, with NumPy broadcasting. Outputs
// are new contiguous tensors, so their row stride is always 1; inputs are read with any strides (0
// along broadcast dims). The differentiable ops in autograd/elementwise.cpp and
// autograd/unary_math.cpp instantiate these with a lambda or a function object each. Read next:
// loop.h (the iteration), autograd/elementwise.cpp (the ops).
#pragma once

#include <initializer_list>
#include <string_view>

#include "../factory.h"
#include "../profiler.h"
#include "../tensor.h"
#include "copy.h"
#include "loop.h"

namespace ember::kernels {

/// The work of an elementwise kernel, for the op that called it (profiler::Work): one FLOP per
/// output element, each input read and the output written once.
inline void count_elementwise(int64_t outputs, std::initializer_list<int64_t> input_bytes,
                              int64_t output_size) {
  int64_t bytes = outputs * output_size;
  for (int64_t b : input_bytes) bytes += b;
  profiler::Scope::count_innermost({.flops = outputs, .bytes = bytes});
}

/// y = f(x) elementwise. x: any shape and strides, dtype In; y: same shape, contiguous, Out.
template <typename Out, typename In, typename F>
Tensor map(const Tensor& x, F f) {
  Shape sizes(x.sizes().begin(), x.sizes().end());
  Tensor y = empty(sizes, dtype_of<Out>());
  count_elementwise(y.numel(), {x.numel() * int64_t{sizeof(In)}}, sizeof(Out));
  Out* yp = y.data_ptr<Out>();
  const In* xp = x.data_ptr<In>();
  for_each_row<2>(sizes, {y.impl().strides, x.impl().strides}, {0, 0}, [&](const Row<2>& r) {
    Out* o = yp + r.offset[0];
    const In* v = xp + r.offset[1];
    if (r.stride[1] == 1) {
      for (int64_t i = 0; i < r.length; ++i) o[i] = f(v[i]);
    } else {
      for (int64_t i = 0; i < r.length; ++i) o[i] = f(v[i * r.stride[1]]);
    }
  });
  return y;
}

/// y = f(x) elementwise, where f(y, x, n) maps a contiguous array (the vectorised functions of
/// vmath.h). Strided rows are gathered into the output row first and mapped in place.
template <typename T, typename ArrayFn>
Tensor map_array(const Tensor& x, ArrayFn f) {
  Shape sizes(x.sizes().begin(), x.sizes().end());
  Tensor y = empty(sizes, dtype_of<T>());
  count_elementwise(y.numel(), {x.numel() * int64_t{sizeof(T)}}, sizeof(T));
  T* yp = y.data_ptr<T>();
  const T* xp = x.data_ptr<T>();
  for_each_row<2>(sizes, {y.impl().strides, x.impl().strides}, {0, 0}, [&](const Row<2>& r) {
    T* o = yp + r.offset[0];
    const T* v = xp + r.offset[1];
    if (r.stride[1] != 1) {
      for (int64_t i = 0; i < r.length; ++i) o[i] = v[i * r.stride[1]];
      v = o;
    }
    f(o, v, r.length);
  });
  return y;
}

/// y = f(x) for x of a floating dtype (float32 or float64), y of the same dtype; any other dtype
/// is an ember::Error naming `op`.
template <typename F>
Tensor map_floating(const Tensor& x, std::string_view op, F f) {
  return visit_floating(x.dtype(), op, [&]<typename T>() {
    return map<T, T>(x, [&](T v) { return static_cast<T>(f(v)); });
  });
}

/// map_array for x of a floating dtype, f(y, x, n) a vectorised function of vmath.h that takes
/// either (float or double) arrays.
template <typename ArrayFn>
Tensor map_array_floating(const Tensor& x, std::string_view op, ArrayFn f) {
  return visit_floating(x.dtype(), op, [&]<typename T>() { return map_array<T>(x, f); });
}

/// out = f(a, b). a, b: dtype In, shapes that broadcast; out: the broadcast shape, Out.
template <typename Out, typename In, typename F>
Tensor zip(const Tensor& a, const Tensor& b, std::string_view op, F f) {
  Shape sizes = broadcast_shapes(a.sizes(), b.sizes(), op);
  Tensor out = empty(sizes, dtype_of<Out>());
  count_elementwise(out.numel(), {a.numel() * int64_t{sizeof(In)}, b.numel() * int64_t{sizeof(In)}},
                    sizeof(Out));
  Out* op_ = out.data_ptr<Out>();
  const In* ap = a.data_ptr<In>();
  const In* bp = b.data_ptr<In>();
  std::array<Shape, 3> strides{out.impl().strides, broadcast_strides(a.sizes(), a.strides(), sizes),
                               broadcast_strides(b.sizes(), b.strides(), sizes)};
  for_each_row<3>(sizes, strides, {0, 0, 0}, [&](const Row<3>& r) {
    Out* o = op_ + r.offset[0];
    const In* x = ap + r.offset[1];
    const In* y = bp + r.offset[2];
    int64_t sx = r.stride[1], sy = r.stride[2];
    if (sx == 1 && sy == 1) {
      for (int64_t i = 0; i < r.length; ++i) o[i] = f(x[i], y[i]);
    } else if (sx == 1 && sy == 0) {  // tensor op scalar-like operand
      In v = *y;                      // read once: o may alias y as far as the compiler knows
      for (int64_t i = 0; i < r.length; ++i) o[i] = f(x[i], v);
    } else {
      for (int64_t i = 0; i < r.length; ++i) o[i] = f(x[i * sx], y[i * sy]);
    }
  });
  return out;
}

}  // namespace ember::kernels

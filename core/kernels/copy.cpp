// Copy, fill and where; see copy.h and map_zip.h.
#include "copy.h"

#include "../profiler.h"
#include "map_zip.h"

namespace ember::kernels {

void copy(const Tensor& dst, const Tensor& src) {
  profiler::Scope scope("kernels::copy");
  Shape sizes(dst.sizes().begin(), dst.sizes().end());
  if (!broadcasts_to(src.sizes(), sizes))
    fail("copy_: source of shape ", shape_str(src.sizes()),
         " cannot be broadcast to destination of shape ", shape_str(sizes));
  std::array<Shape, 2> strides{dst.impl().strides,
                               broadcast_strides(src.sizes(), src.strides(), sizes)};
  visit_dtype(dst.dtype(), [&]<typename D>() {
    visit_dtype(src.dtype(), [&]<typename S>() {
      D* dp = dst.data_ptr<D>();
      const S* sp = src.data_ptr<S>();
      for_each_row<2>(sizes, strides, {0, 0}, [&](const Row<2>& r) {
        D* d = dp + r.offset[0];
        const S* s = sp + r.offset[1];
        if (r.stride[0] == 1 && r.stride[1] == 1) {
          for (int64_t i = 0; i < r.length; ++i) d[i] = convert<D>(s[i]);
        } else {
          for (int64_t i = 0; i < r.length; ++i)
            d[i * r.stride[0]] = convert<D>(s[i * r.stride[1]]);
        }
      });
    });
  });
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = empty(Shape(x.sizes().begin(), x.sizes().end()), x.dtype());
  copy(out, x);
  return out;
}

void fill(const Tensor& dst, const Scalar& value) {
  Shape sizes(dst.sizes().begin(), dst.sizes().end());
  visit_dtype(dst.dtype(), [&]<typename T>() {
    T* dp = dst.data_ptr<T>();
    T v = value.to<T>();
    for_each_row<1>(sizes, {dst.impl().strides}, {0}, [&](const Row<1>& r) {
      for (int64_t i = 0; i < r.length; ++i) dp[r.offset[0] + i * r.stride[0]] = v;
    });
  });
}

void check_same_dtype(const Tensor& a, const Tensor& b, std::string_view op) {
  if (a.dtype() != b.dtype())
    fail(op, ": expected both operands to have the same dtype, got ", a.dtype(), " ",
         shape_str(a.sizes()), " and ", b.dtype(), " ", shape_str(b.sizes()));
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  profiler::Scope scope("kernels::where");
  check(cond.dtype() == kBool, "where: expected the condition to be a bool tensor, got ",
        cond.dtype());
  check_same_dtype(a, b, "where");
  Shape sizes =
      broadcast_shapes(broadcast_shapes(cond.sizes(), a.sizes(), "where"), b.sizes(), "where");
  Tensor out = empty(sizes, a.dtype());
  std::array<Shape, 4> strides{out.impl().strides,
                               broadcast_strides(cond.sizes(), cond.strides(), sizes),
                               broadcast_strides(a.sizes(), a.strides(), sizes),
                               broadcast_strides(b.sizes(), b.strides(), sizes)};
  visit_dtype(a.dtype(), [&]<typename T>() {
    T* o = out.data_ptr<T>();
    const bool* c = cond.data_ptr<bool>();
    const T* x = a.data_ptr<T>();
    const T* y = b.data_ptr<T>();
    for_each_row<4>(sizes, strides, {0, 0, 0, 0}, [&](const Row<4>& r) {
      for (int64_t i = 0; i < r.length; ++i) {
        o[r.offset[0] + i] = c[r.offset[1] + i * r.stride[1]] ? x[r.offset[2] + i * r.stride[2]]
                                                              : y[r.offset[3] + i * r.stride[3]];
      }
    });
  });
  return out;
}

}  // namespace ember::kernels

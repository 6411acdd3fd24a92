// Reduction kernels; see reduce.h.
//
// Layout: the input is split into kept dims (one output each) and reduced dims. The reduced
// space of every output is cut into blocks of kBlock elements; blocks are reduced in parallel
// into a partials table, then each output folds its partials in block order. The block size is
// fixed, so the summation order never depends on the thread count.
#include "reduce.h"

#include <cmath>
#include <limits>

#include "../factory.h"
#include "../parallel.h"
#include "../profiler.h"
#include "accumulate.h"
#include "copy.h"
#include "loop.h"
#include "vmath.h"

namespace ember::kernels {
namespace {

constexpr int64_t kBlock = 16384;

// Dims of one side of the split (kept or reduced), outermost first, with the input's strides.
struct Dims {
  Shape sizes;
  Shape strides;
  int64_t numel() const { return numel_of(sizes); }
  // Offset of the element at linear index i of this (row-major) space.
  int64_t offset_of(int64_t i) const {
    int64_t off = 0;
    for (size_t d = sizes.size(); d-- > 0;) {
      off += (i % sizes[d]) * strides[d];
      i /= sizes[d];
    }
    return off;
  }
};

// Calls fn(offset, length, stride) for the innermost runs covering linear range [lo, hi).
template <typename Fn>
void walk(const Dims& dims, int64_t lo, int64_t hi, Fn fn) {
  if (dims.sizes.empty()) {
    if (lo < hi) fn(int64_t{0}, int64_t{1}, int64_t{1});
    return;
  }
  int64_t inner = dims.sizes.back();
  int64_t inner_stride = dims.strides.back();
  while (lo < hi) {
    int64_t pos = lo % inner;
    int64_t len = std::min(inner - pos, hi - lo);
    fn(dims.offset_of(lo), len, inner_stride);
    lo += len;
  }
}

std::pair<Dims, Dims> split(const Tensor& x, const std::vector<bool>& reduced) {
  Dims kept, red;
  for (int64_t d = 0; d < x.dim(); ++d) {
    Dims& side = reduced[d] ? red : kept;
    if (x.size(d) == 1) continue;  // size-1 dims move nothing
    // Merge with the previous dim of the same side when one index can walk both: each side is
    // enumerated on its own, so dims of the other side in between do not matter.
    if (!side.sizes.empty() && side.strides.back() == x.stride(d) * x.size(d)) {
      side.sizes.back() *= x.size(d);
      side.strides.back() = x.stride(d);
    } else {
      side.sizes.push_back(x.size(d));
      side.strides.push_back(x.stride(d));
    }
  }
  return {kept, red};
}

// The generic reduction. Acc: accumulator; step(acc, value, index_in_reduced_space) folds one
// element; merge(acc, acc) folds two partials (left before right); finish(acc) -> Out.
template <typename T, typename Out, typename Acc, typename Step, typename Merge, typename Finish>
Tensor reduce(const Tensor& x, const std::vector<bool>& reduced, bool keepdim, DType out_dtype,
              Acc init, Step step, Merge merge, Finish finish) {
  std::pair<Dims, Dims> sides = split(x, reduced);  // (clang 14 cannot capture bindings)
  const Dims& kept = sides.first;
  const Dims& red = sides.second;
  Tensor out = empty(reduced_shape(x.sizes(), reduced, keepdim), out_dtype);
  int64_t outputs = kept.numel();
  int64_t per_output = red.numel();
  int64_t blocks = std::max<int64_t>(1, (per_output + kBlock - 1) / kBlock);
  std::vector<Acc> partial(static_cast<size_t>(outputs * blocks), init);
  const T* xp = x.data_ptr<T>();
  int64_t grain = std::max<int64_t>(1, kBlock / std::max<int64_t>(per_output, 1));
  parallel_for(0, outputs * blocks, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t task = lo; task < hi; ++task) {
      int64_t o = task / blocks, b = task % blocks;
      const T* base = xp + kept.offset_of(o);
      Acc acc = init;
      int64_t r0 = b * kBlock, r1 = std::min(per_output, r0 + kBlock);
      walk(red, r0, r1, [&](int64_t off, int64_t len, int64_t stride) {
        const T* p = base + off;
        for (int64_t i = 0; i < len; ++i) acc = step(acc, p[i * stride], r0 + i);
        r0 += len;
      });
      partial[task] = acc;
    }
  });
  Out* op = out.data_ptr<Out>();
  for (int64_t o = 0; o < outputs; ++o) {
    Acc acc = partial[o * blocks];
    for (int64_t b = 1; b < blocks; ++b) acc = merge(acc, partial[o * blocks + b]);
    op[o] = finish(acc);
  }
  return out;
}

template <typename T>
using AccOf = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

}  // namespace

std::vector<bool> reduced_dims(IntList dims, int64_t rank, std::string_view op) {
  std::vector<bool> reduced(rank, dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, rank, op);
    if (rank == 0) continue;
    check(!reduced[w], op, ": dim ", d, " appears more than once in the list of dims");
    reduced[w] = true;
  }
  return reduced;
}

Shape reduced_shape(IntList sizes, const std::vector<bool>& reduced, bool keepdim) {
  Shape out;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (!reduced[d])
      out.push_back(sizes[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

Tensor sum(const Tensor& x, const std::vector<bool>& reduced, bool keepdim) {
  profiler::Scope scope("kernels::sum");
  return visit_dtype(x.dtype(), [&]<typename T>() {
    using Acc = AccOf<T>;
    auto add = [](Acc a, T v, int64_t) { return a + static_cast<Acc>(v); };
    return reduce<T, T, Acc>(
        x, reduced, keepdim, x.dtype(), Acc(0), add, [](Acc a, Acc b) { return a + b; },
        [](Acc a) { return static_cast<T>(a); });
  });
}

Tensor amax(const Tensor& x, const std::vector<bool>& reduced, bool keepdim, bool take_max) {
  profiler::Scope scope("kernels::amax");
  std::string_view op = take_max ? "amax" : "amin";
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!(!reduced[d] || x.size(d) > 0))
      fail(op, ": cannot reduce over dim ", d, " of size 0 (shape ", shape_str(x.sizes()), ")");
  return visit_dtype(x.dtype(), [&]<typename T>() {
    auto better = [take_max](T a, T b) {  // true if b replaces a; NaN always wins
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a)) return false;
        if (std::isnan(b)) return true;
      }
      return take_max ? b > a : b < a;
    };
    T init = take_max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    if constexpr (std::is_floating_point_v<T>) init = take_max ? -INFINITY : INFINITY;
    auto pick = [&](T a, T b) { return better(a, b) ? b : a; };
    return reduce<T, T, T>(
        x, reduced, keepdim, x.dtype(), init, [&](T a, T v, int64_t) { return pick(a, v); }, pick,
        [](T a) { return a; });
  });
}

std::pair<Tensor, Tensor> max_along(const Tensor& x, int64_t dim, bool keepdim, bool take_max) {
  profiler::Scope scope("kernels::max_along");
  std::string_view op = take_max ? "max" : "min";
  dim = wrap_dim(dim, x.dim(), op);
  if (!(x.dim() == 0 || x.size(dim) > 0))
    fail(op, ": cannot reduce over dim ", dim, " of size 0 (shape ", shape_str(x.sizes()), ")");
  std::vector<bool> reduced(x.dim(), false);
  if (x.dim() > 0) reduced[dim] = true;
  return visit_dtype(x.dtype(), [&]<typename T>() {
    using Acc = std::pair<T, int64_t>;
    auto better = [take_max](const Acc& a, const Acc& b) {
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a.first)) return false;
        if (std::isnan(b.first)) return true;
      }
      if (a.second < 0) return true;
      return take_max ? b.first > a.first : b.first < a.first;
    };
    Acc init{T(0), -1};
    auto pick = [&](const Acc& a, const Acc& b) { return better(a, b) ? b : a; };
    auto step = [&](const Acc& a, T v, int64_t i) { return pick(a, Acc{v, i}); };
    Tensor values = reduce<T, T, Acc>(x, reduced, keepdim, x.dtype(), init, step, pick,
                                      [](const Acc& a) { return a.first; });
    Tensor indices = reduce<T, int64_t, Acc>(x, reduced, keepdim, kInt64, init, step, pick,
                                             [](const Acc& a) { return a.second; });
    return std::pair{values, indices};
  });
}

namespace {

// softmax (or log_softmax) of one contiguous row xs[0, n) into ys: max, then e^(x - max) by one
// vectorised exp, its sum in eight fixed lanes (double), then the division (or x - max - log sum).
template <typename T>
void softmax_row(const T* xs, T* ys, int64_t n, bool log) {
  T mx = -std::numeric_limits<T>::infinity();
  for (int64_t k = 0; k < n; ++k) mx = std::max(mx, xs[k]);
  if (std::isinf(mx) && mx < 0) mx = 0;  // all -inf: avoid inf - inf
  for (int64_t k = 0; k < n; ++k) ys[k] = xs[k] - mx;
  vmath::exp(ys, ys, n);
  T total = static_cast<T>(lane_sum(n, [&](int64_t k) { return double(ys[k]); }));
  if (log) {
    T log_total = std::log(total);
    for (int64_t k = 0; k < n; ++k) ys[k] = xs[k] - mx - log_total;
  } else {
    for (int64_t k = 0; k < n; ++k) ys[k] /= total;
  }
}

// The same over dim 0 of an (n, inner) block, vectorised along inner: per column i its max,
// exponentials, sum (in order over k) and result.
template <typename T>
void softmax_columns(const T* xs, T* ys, int64_t n, int64_t inner, bool log, T* mx, T* total) {
  std::fill_n(mx, inner, -std::numeric_limits<T>::infinity());
  std::fill_n(total, inner, T(0));
  for (int64_t k = 0; k < n; ++k)
    for (int64_t i = 0; i < inner; ++i) mx[i] = std::max(mx[i], xs[k * inner + i]);
  for (int64_t i = 0; i < inner; ++i)  // all -inf: avoid inf - inf
    if (std::isinf(mx[i]) && mx[i] < 0) mx[i] = 0;
  for (int64_t k = 0; k < n; ++k)
    for (int64_t i = 0; i < inner; ++i) ys[k * inner + i] = xs[k * inner + i] - mx[i];
  vmath::exp(ys, ys, n * inner);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t i = 0; i < inner; ++i) total[i] += ys[k * inner + i];
  if (log) {
    for (int64_t i = 0; i < inner; ++i) total[i] = std::log(total[i]);
    for (int64_t k = 0; k < n; ++k)
      for (int64_t i = 0; i < inner; ++i) ys[k * inner + i] = xs[k * inner + i] - mx[i] - total[i];
  } else {
    for (int64_t k = 0; k < n; ++k)
      for (int64_t i = 0; i < inner; ++i) ys[k * inner + i] /= total[i];
  }
}

}  // namespace

Tensor softmax(const Tensor& x_in, int64_t dim, bool log) {
  profiler::Scope scope("kernels::softmax");
  std::string_view op = log ? "log_softmax" : "softmax";
  dim = wrap_dim(dim, x_in.dim(), op);
  // Per element: the max, x - max, its exp, the sum, the division: 5 FLOPs; read x, write y.
  int64_t bytes_each = int64_t(element_size(x_in.dtype()));
  scope.count({.flops = 5 * x_in.numel(), .bytes = 2 * bytes_each * x_in.numel()});
  Tensor x = contiguous(x_in);
  Tensor y = empty(Shape(x.sizes().begin(), x.sizes().end()), x.dtype());
  if (x.numel() == 0) return y;
  Lines rows = lines_around(x.sizes(), dim);  // (clang 14 cannot capture structured bindings)
  int64_t outer = rows.outer, n = rows.n, inner = rows.inner;
  visit_floating(x.dtype(), op, [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    T* yp = y.data_ptr<T>();
    // One task per outer slice (n, inner), read row by row so that memory is contiguous.
    int64_t grain = std::max<int64_t>(1, kGrainElements / (n * inner));
    parallel_for(0, outer, grain, [&](int64_t lo, int64_t hi) {
      std::vector<T> mx(inner), total(inner);
      for (int64_t o = lo; o < hi; ++o) {
        if (inner == 1)
          softmax_row(xp + o * n, yp + o * n, n, log);
        else
          softmax_columns(xp + o * n * inner, yp + o * n * inner, n, inner, log, mx.data(),
                          total.data());
      }
    });
  });
  return y;
}

Tensor softmax_backward(const Tensor& y_in, const Tensor& g_in, int64_t dim) {
  profiler::Scope scope("kernels::softmax_backward");
  dim = wrap_dim(dim, y_in.dim(), "softmax backward");
  // Per element: g * y summed, then y * (g - sum): 4 FLOPs; read y and g, write the gradient.
  scope.count(
      {.flops = 4 * y_in.numel(), .bytes = 3 * int64_t(element_size(y_in.dtype())) * y_in.numel()});
  check(shape_of(y_in) == shape_of(g_in) && y_in.dtype() == g_in.dtype(),
        "softmax backward: the gradient ", shape_str(g_in.sizes()), " ", g_in.dtype(),
        " does not match the output ", shape_str(y_in.sizes()), " ", y_in.dtype());
  Tensor y = contiguous(y_in), g = contiguous(g_in);
  Tensor dx = empty(Shape(y.sizes().begin(), y.sizes().end()), y.dtype());
  if (y.numel() == 0) return dx;
  Lines rows = lines_around(y.sizes(), dim);
  int64_t outer = rows.outer, n = rows.n, inner = rows.inner;
  visit_floating(y.dtype(), "softmax backward", [&]<typename T>() {
    const T* yp = y.data_ptr<T>();
    const T* gp = g.data_ptr<T>();
    T* dp = dx.data_ptr<T>();
    int64_t grain = std::max<int64_t>(1, kGrainElements / (n * inner));
    parallel_for(0, outer, grain, [&](int64_t lo, int64_t hi) {
      std::vector<double> dot(inner);
      for (int64_t o = lo; o < hi; ++o) {
        const T* ys = yp + o * n * inner;
        const T* gs = gp + o * n * inner;
        T* ds = dp + o * n * inner;
        if (inner == 1) {
          T s = static_cast<T>(lane_sum(n, [&](int64_t k) { return double(gs[k]) * ys[k]; }));
          for (int64_t k = 0; k < n; ++k) ds[k] = ys[k] * (gs[k] - s);
          continue;
        }
        std::fill(dot.begin(), dot.end(), 0.0);
        for (int64_t k = 0; k < n; ++k)
          for (int64_t i = 0; i < inner; ++i)
            dot[i] += double(gs[k * inner + i]) * ys[k * inner + i];
        for (int64_t k = 0; k < n; ++k)
          for (int64_t i = 0; i < inner; ++i)
            ds[k * inner + i] = ys[k * inner + i] * (gs[k * inner + i] - static_cast<T>(dot[i]));
      }
    });
  });
  return dx;
}

}  // namespace ember::kernels

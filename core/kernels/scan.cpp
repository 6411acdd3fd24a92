// Scan kernels; see scan.h. Each op makes its inputs contiguous and walks the tensor as
// (outer, n, inner) around dim (loop.h's Lines).
#include "scan.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "../factory.h"
#include "../profiler.h"
#include "loop.h"

namespace ember::kernels {
namespace {

// Calls f(offset of the line's first element, stride between its elements) for every line.
template <typename F>
void for_each_line(const Lines& l, F f) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) f(o * l.n * l.inner + i, l.inner);
}

// float32 sums and products run in double, as PyTorch's CPU scans do; int64 and double in kind.
template <typename T>
using Accumulator = std::conditional_t<std::is_same_v<T, float>, double, T>;

}  // namespace

Tensor sort_indices(const Tensor& x, int64_t dim, bool descending) {
  profiler::Scope scope("kernels::sort_indices");
  int64_t d = x.dim() ? wrap_dim(dim, x.dim(), "sort") : 0;
  Tensor xc = x.contiguous();
  Tensor out = empty(shape_of(x), kInt64);
  Lines l = lines_around(xc.sizes(), d);
  visit_dtype(x.dtype(), [&]<typename T>() {
    const T* xs = xc.data_ptr<T>();
    int64_t* is = out.data_ptr<int64_t>();
    // a before b in ascending order; NaN after every number (and equal to NaN).
    auto less = [](T a, T b) {
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a)) return false;
        if (std::isnan(b)) return true;
      }
      return a < b;
    };
    std::vector<int64_t> order(l.n);
    for_each_line(l, [&](int64_t base, int64_t step) {
      std::iota(order.begin(), order.end(), 0);
      auto at = [&](int64_t k) { return xs[base + k * step]; };
      if (descending)
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t b) { return less(at(b), at(a)); });
      else
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t b) { return less(at(a), at(b)); });
      for (int64_t k = 0; k < l.n; ++k) is[base + k * step] = order[k];
    });
  });
  return out;
}

Tensor cumulative(const Tensor& x, int64_t dim, bool product) {
  profiler::Scope scope(product ? "kernels::cumprod" : "kernels::cumsum");
  int64_t d = x.dim() ? wrap_dim(dim, x.dim(), product ? "cumprod" : "cumsum") : 0;
  Tensor xc = x.contiguous();
  Tensor out = empty(shape_of(x), x.dtype());
  Lines l = lines_around(xc.sizes(), d);
  visit_dtype(x.dtype(), [&]<typename T>() {
    const T* xs = xc.data_ptr<T>();
    T* ys = out.data_ptr<T>();
    for_each_line(l, [&](int64_t base, int64_t step) {
      Accumulator<T> acc = product ? 1 : 0;
      for (int64_t k = 0; k < l.n; ++k) {
        int64_t at = base + k * step;
        acc = product ? acc * xs[at] : acc + xs[at];
        ys[at] = static_cast<T>(acc);
      }
    });
  });
  return out;
}

Tensor cumprod_backward(const Tensor& x, const Tensor& g, int64_t dim) {
  profiler::Scope scope("kernels::cumprod_backward");
  check(x.dtype() == g.dtype() && shape_of(x) == shape_of(g), "cumprod backward: the gradient ",
        shape_str(g.sizes()), " ", g.dtype(), " does not match the input ", shape_str(x.sizes()),
        " ", x.dtype());
  int64_t d = x.dim() ? wrap_dim(dim, x.dim(), "cumprod") : 0;
  Tensor xc = x.contiguous(), gc = g.contiguous();
  Tensor dx = zeros(shape_of(x), x.dtype());
  Lines l = lines_around(xc.sizes(), d);
  visit_floating(x.dtype(), "cumprod backward", [&]<typename T>() {
    using Acc = Accumulator<T>;
    const T* xs = xc.data_ptr<T>();
    const T* gs = gc.data_ptr<T>();
    T* out = dx.data_ptr<T>();
    std::vector<Acc> y(l.n);
    for_each_line(l, [&](int64_t base, int64_t step) {
      auto xk = [&](int64_t k) { return static_cast<Acc>(xs[base + k * step]); };
      auto gk = [&](int64_t k) { return static_cast<Acc>(gs[base + k * step]); };
      int64_t z = 0;  // the first zero, or n
      Acc running = 1;
      for (; z < l.n && xk(z) != 0; ++z) y[z] = running *= xk(z);
      // Before z: the suffix sums of g y over [i, z), divided by x_i.
      Acc suffix = 0;
      for (int64_t i = z - 1; i >= 0; --i) {
        suffix += gk(i) * y[i];
        out[base + i * step] = static_cast<T>(suffix / xk(i));
      }
      if (z == l.n) return;
      // At z: Σ_{j≥z} g_j times the product of every x_k, k ≤ j, but x_z.
      Acc product = z ? y[z - 1] : 1, total = gk(z) * product;
      for (int64_t j = z + 1; j < l.n; ++j) total += gk(j) * (product *= xk(j));
      out[base + z * step] = static_cast<T>(total);
    });
  });
  return dx;
}

}  // namespace ember::kernels

// Max pooling with the argmax its backward needs; see pool.h. Each (sample, channel) plane is
// independent, so planes are split across threads and every output element has one writer.
#include "pool.h"

#include <cmath>
#include <limits>

#include "../factory.h"
#include "../parallel.h"
#include "../profiler.h"
#include "copy.h"

namespace ember::kernels {
namespace {

// The common 2x2 window at stride 2 (no padding, no dilation) over a plane without NaN (the
// caller checks): the first maximum in scan order, without branches so that the compiler
// vectorises it, a row at a time. `base` is the flat index of top[0] in its plane.
template <typename T>
void max_pool_row_2x2(const T* __restrict top, const T* __restrict bottom, int64_t wd, int64_t ow,
                      int64_t base, T* __restrict values, int64_t* __restrict indices) {
  for (int64_t ox = 0; ox < ow; ++ox) {
    T a = top[2 * ox], b = top[2 * ox + 1], c = bottom[2 * ox], d = bottom[2 * ox + 1];
    T upper = b > a ? b : a, lower = d > c ? d : c;
    values[ox] = lower > upper ? lower : upper;
    // The offset of the winner as arithmetic on the comparisons: a select of integers here
    // stops GCC's vectoriser ("control flow in loop").
    int64_t right_upper = b > a, right_lower = d > c, from_lower = lower > upper;
    indices[ox] = base + 2 * ox + right_upper + from_lower * (wd + right_lower - right_upper);
  }
}

template <typename T>
bool has_nan(const T* x, int64_t n) {
  int nan = 0;  // an int, not a bool: GCC vectorises an int reduction
  for (int64_t i = 0; i < n; ++i) nan |= x[i] != x[i];
  return nan != 0;
}

// max_pool2d over one plane when no window reaches into padding. NaN wins, as in PyTorch.
template <typename T>
void max_pool_plane_unpadded(const T* plane, int64_t wd, const Window& w, int64_t oh, int64_t ow,
                             T* values, int64_t* indices) {
  if (w.kh == 2 && w.kw == 2 && w.sh == 2 && w.sw == 2 && w.dh == 1 && w.dw == 1 &&
      !has_nan(plane, 2 * oh * wd)) {
    for (int64_t oy = 0; oy < oh; ++oy)
      max_pool_row_2x2(plane + 2 * oy * wd, plane + (2 * oy + 1) * wd, wd, ow, 2 * oy * wd,
                       values + oy * ow, indices + oy * ow);
    return;
  }
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      int64_t first = oy * w.sh * wd + ox * w.sw;
      T best = plane[first];
      int64_t arg = first;
      for (int64_t i = 0; i < w.kh && best == best; ++i)
        for (int64_t j = 0; j < w.kw; ++j) {
          int64_t at = first + i * w.dh * wd + j * w.dw;
          T v = plane[at];
          if (v > best || v != v) {
            best = v;
            arg = at;
            if (v != v) break;
          }
        }
      values[oy * ow + ox] = best;
      indices[oy * ow + ox] = arg;
    }
}

}  // namespace

std::pair<Tensor, Tensor> max_pool2d(const Tensor& x_in, const Window& w) {
  profiler::Scope scope("kernels::max_pool2d");
  check_4d(x_in, "max_pool2d");
  if (w.ph * 2 > w.kh || w.pw * 2 > w.kw)
    fail("max_pool2d: padding (", w.ph, ", ", w.pw, ") must be at most half the kernel (", w.kh,
         ", ", w.kw, ")");
  Tensor x = contiguous(x_in);
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  int64_t oh = Window::out_size(h, w.kh, w.sh, w.ph, w.dh, "max_pool2d");
  int64_t ow = Window::out_size(wd, w.kw, w.sw, w.pw, w.dw, "max_pool2d");
  // Per output: one comparison per window element; x read, values and int64 indices written.
  int64_t outputs = n * c * oh * ow, size = int64_t(element_size(x.dtype()));
  scope.count(
      {.flops = outputs * w.kh * w.kw, .bytes = size * (x.numel() + outputs) + 8 * outputs});
  Tensor values = empty({n, c, oh, ow}, x.dtype());
  Tensor indices = empty({n, c, oh, ow}, kInt64);
  visit_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    T* vp = values.data_ptr<T>();
    int64_t* ip = indices.data_ptr<int64_t>();
    parallel_for(0, n * c, std::max<int64_t>(1, kGrainElements / std::max<int64_t>(h * wd, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t nc = lo; nc < hi; ++nc) {
                     const T* plane = xp + nc * h * wd;
                     if (w.ph == 0 && w.pw == 0) {  // every window lies inside: no bounds checks
                       max_pool_plane_unpadded(plane, wd, w, oh, ow, vp + nc * oh * ow,
                                               ip + nc * oh * ow);
                       continue;
                     }
                     for (int64_t oy = 0; oy < oh; ++oy)
                       for (int64_t ox = 0; ox < ow; ++ox) {
                         T best = -std::numeric_limits<T>::infinity();
                         int64_t arg = -1;
                         for (int64_t i = 0; i < w.kh; ++i) {
                           int64_t y = oy * w.sh - w.ph + i * w.dh;
                           if (y < 0 || y >= h) continue;
                           for (int64_t j = 0; j < w.kw; ++j) {
                             int64_t xx = ox * w.sw - w.pw + j * w.dw;
                             if (xx < 0 || xx >= wd) continue;
                             T v = plane[y * wd + xx];
                             if (arg < 0 || v > best || std::isnan(v)) {
                               best = v;
                               arg = y * wd + xx;
                               if (std::isnan(v)) break;
                             }
                           }
                         }
                         int64_t o = nc * oh * ow + oy * ow + ox;
                         vp[o] = best;
                         ip[o] = arg;
                       }
                   }
                 });
  });
  return {values, indices};
}

Tensor max_pool2d_backward(const Tensor& grad_in, const Tensor& indices_in, int64_t height,
                           int64_t width) {
  profiler::Scope scope("kernels::max_pool2d_backward");
  Tensor grad = contiguous(grad_in), indices = contiguous(indices_in);
  int64_t n = grad.size(0), c = grad.size(1), outputs = grad.size(2) * grad.size(3);
  int64_t plane = height * width;
  // One add per output; grad and its int64 indices read, dx written.
  int64_t size = int64_t(element_size(grad.dtype()));
  scope.count({.flops = grad.numel(), .bytes = (size + 8) * grad.numel() + size * n * c * plane});
  Tensor dx = empty({n, c, height, width}, grad.dtype());
  visit_floating(grad.dtype(), "max_pool2d backward", [&]<typename T>() {
    const T* gp = grad.data_ptr<T>();
    const int64_t* ip = indices.data_ptr<int64_t>();
    T* dp = dx.data_ptr<T>();
    parallel_for(0, n * c, std::max<int64_t>(1, kGrainElements / std::max<int64_t>(plane, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t nc = lo; nc < hi; ++nc) {
                     T* out = dp + nc * plane;
                     const T* g = gp + nc * outputs;
                     const int64_t* at = ip + nc * outputs;
                     std::fill_n(out, plane, T(0));
                     for (int64_t o = 0; o < outputs; ++o) out[at[o]] += g[o];
                   }
                 });
  });
  return dx;
}

}  // namespace ember::kernels

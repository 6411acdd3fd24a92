// im2col, col2im and max pooling; see conv.h. Each (sample, channel) plane is independent, so
// planes are split across threads and every output element has exactly one writer.
#include "conv.h"

#include <cmath>
#include <limits>

#include "../factory.h"
#include "../parallel.h"
#include "copy.h"

namespace ember::kernels {

int64_t Window::out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, const char* op) {
  check(k >= 1 && s >= 1 && d >= 1 && p >= 0, op,
        ": kernel, stride and dilation must be positive "
        "and padding non-negative (kernel ",
        k, ", stride ", s, ", padding ", p, ", dilation ", d, ")");
  int64_t span = d * (k - 1) + 1;
  int64_t out = (in + 2 * p - span) / s + 1;
  check(in + 2 * p >= span && out >= 1, op, ": the input of size ", in, " with padding ", p,
        " is smaller than the kernel's span ", span);
  return out;
}

namespace {

void check_4d(const Tensor& x, const char* op) {
  if (x.dim() != 4) fail(op, ": expected a 4-D input (N, C, H, W), got ", shape_str(x.sizes()));
}

}  // namespace

namespace {

// The output columns [lo, hi) whose input column ox*stride - pad + offset lies inside [0, width).
std::pair<int64_t, int64_t> valid_range(int64_t out, int64_t width, int64_t stride, int64_t pad,
                                        int64_t offset) {
  int64_t first = pad - offset;  // smallest ox*stride that lands on column 0
  int64_t lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  int64_t hi = (width + pad - offset + stride - 1) / stride;  // first ox past the last column
  return {std::min(lo, out), std::clamp<int64_t>(hi, std::min(lo, out), out)};
}

}  // namespace

Tensor im2col(const Tensor& x_in, const Window& w) {
  check_4d(x_in, "im2col");
  Tensor x = contiguous(x_in);
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  int64_t oh = Window::out_size(h, w.kh, w.sh, w.ph, w.dh, "im2col");
  int64_t ow = Window::out_size(wd, w.kw, w.sw, w.pw, w.dw, "im2col");
  Tensor cols = empty({n, c * w.kh * w.kw, oh * ow}, x.dtype());
  visit_floating(x.dtype(), "im2col", [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    T* cp = cols.data_ptr<T>();
    int64_t plane_cols = w.kh * w.kw * oh * ow;
    parallel_for(0, n * c, std::max<int64_t>(1, kGrainElements / std::max<int64_t>(plane_cols, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t nc = lo; nc < hi; ++nc) {
                     const T* plane = xp + nc * h * wd;
                     T* out =
                         cp + nc * plane_cols;  // rows (c*kh + i)*kw + j of sample n are contiguous
                     for (int64_t i = 0; i < w.kh; ++i)
                       for (int64_t j = 0; j < w.kw; ++j, out += oh * ow) {
                         // Columns outside [x0, x1) read padding; inside, the row is a strided
                         // copy.
                         auto [x0, x1] = valid_range(ow, wd, w.sw, w.pw, j * w.dw);
                         for (int64_t oy = 0; oy < oh; ++oy) {
                           int64_t y = oy * w.sh - w.ph + i * w.dh;
                           T* row = out + oy * ow;
                           if (y < 0 || y >= h) {
                             std::fill(row, row + ow, T(0));
                             continue;
                           }
                           std::fill(row, row + x0, T(0));
                           const T* src = plane + y * wd - w.pw + j * w.dw;
                           if (w.sw == 1) {
                             std::copy(src + x0, src + x1, row + x0);
                           } else {
                             for (int64_t ox = x0; ox < x1; ++ox) row[ox] = src[ox * w.sw];
                           }
                           std::fill(row + x1, row + ow, T(0));
                         }
                       }
                   }
                 });
  });
  return cols;
}

Tensor col2im(const Tensor& cols_in, int64_t c, int64_t h, int64_t wd, const Window& w) {
  if (cols_in.dim() != 3)
    fail("col2im: expected (N, C*kh*kw, L) columns, got ", shape_str(cols_in.sizes()));
  Tensor cols = contiguous(cols_in);
  int64_t n = cols.size(0);
  int64_t oh = Window::out_size(h, w.kh, w.sh, w.ph, w.dh, "col2im");
  int64_t ow = Window::out_size(wd, w.kw, w.sw, w.pw, w.dw, "col2im");
  if (cols.size(1) != c * w.kh * w.kw || cols.size(2) != oh * ow)
    fail("col2im: columns ", shape_str(cols.sizes()), " do not match ", c, " channels, kernel ",
         w.kh, "x", w.kw, " and output ", oh, "x", ow);
  Tensor x = zeros({n, c, h, wd}, cols.dtype());
  visit_floating(x.dtype(), "col2im", [&]<typename T>() {
    T* xp = x.data_ptr<T>();
    const T* cp = cols.data_ptr<T>();
    int64_t plane_cols = w.kh * w.kw * oh * ow;
    parallel_for(0, n * c, std::max<int64_t>(1, kGrainElements / std::max<int64_t>(plane_cols, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t nc = lo; nc < hi; ++nc) {
                     T* plane = xp + nc * h * wd;
                     const T* in = cp + nc * plane_cols;
                     for (int64_t i = 0; i < w.kh; ++i)
                       for (int64_t j = 0; j < w.kw; ++j, in += oh * ow)
                         for (int64_t oy = 0; oy < oh; ++oy) {
                           int64_t y = oy * w.sh - w.ph + i * w.dh;
                           if (y < 0 || y >= h) continue;
                           for (int64_t ox = 0; ox < ow; ++ox) {
                             int64_t xx = ox * w.sw - w.pw + j * w.dw;
                             if (xx >= 0 && xx < wd) plane[y * wd + xx] += in[oy * ow + ox];
                           }
                         }
                   }
                 });
  });
  return x;
}

std::pair<Tensor, Tensor> max_pool2d(const Tensor& x_in, const Window& w) {
  check_4d(x_in, "max_pool2d");
  if (w.ph * 2 > w.kh || w.pw * 2 > w.kw)
    fail("max_pool2d: padding (", w.ph, ", ", w.pw, ") must be at most half the kernel (", w.kh,
         ", ", w.kw, ")");
  Tensor x = contiguous(x_in);
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  int64_t oh = Window::out_size(h, w.kh, w.sh, w.ph, w.dh, "max_pool2d");
  int64_t ow = Window::out_size(wd, w.kw, w.sw, w.pw, w.dw, "max_pool2d");
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

}  // namespace ember::kernels

// im2col, col2im and convolution; see conv.h. Each (sample, channel) plane is independent, so
// planes are split across threads and every output element has exactly one writer.
#include "conv.h"

#include <cmath>

#include "../factory.h"
#include "../parallel.h"
#include "../profiler.h"
#include "accumulate.h"
#include "copy.h"
#include "gemm.h"
#include "winograd.h"

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

void check_4d(const Tensor& x, const char* op) {
  if (x.dim() != 4) fail(op, ": expected a 4-D input (N, C, H, W), got ", shape_str(x.sizes()));
}

namespace {

// The output columns [lo, hi) whose input column ox*stride - pad + offset lies inside [0, width).
std::pair<int64_t, int64_t> valid_range(int64_t out, int64_t width, int64_t stride, int64_t pad,
                                        int64_t offset) {
  int64_t first = pad - offset;  // smallest ox*stride that lands on column 0
  int64_t lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  int64_t hi = (width + pad - offset + stride - 1) / stride;  // first ox past the last column
  return {std::min(lo, out), std::clamp<int64_t>(hi, std::min(lo, out), out)};
}

// The columns of one (channel) plane: kh*kw rows of oh*ow, in im2col's order.
template <typename T>
void im2col_plane(const T* plane, int64_t h, int64_t wd, const Window& w, int64_t oh, int64_t ow,
                  T* out) {
  // Stride 1 and an output as wide as the input (a "same" convolution): the rows of a block are
  // consecutive input rows, so each block is one copy whose wrapped-around edge columns are then
  // zeroed (short rows copied one by one cost more in calls than in bytes).
  bool same_width = w.sh == 1 && w.sw == 1 && ow == wd;
  for (int64_t i = 0; i < w.kh; ++i)
    for (int64_t j = 0; j < w.kw; ++j, out += oh * ow) {
      // Columns outside [x0, x1) read padding; inside, the row is a strided copy.
      auto [x0, x1] = valid_range(ow, wd, w.sw, w.pw, j * w.dw);
      if (same_width) {
        int64_t y_lo = std::clamp<int64_t>(w.ph - i * w.dh, 0, oh);  // rows inside the plane
        int64_t y_hi = std::clamp<int64_t>(h + w.ph - i * w.dh, y_lo, oh);
        std::fill(out, out + y_lo * ow, T(0));
        std::fill(out + y_hi * ow, out + oh * ow, T(0));
        int64_t start = (y_lo - w.ph + i * w.dh) * wd + j * w.dw - w.pw;  // source of row y_lo
        int64_t k0 = std::max<int64_t>(0, -start);
        int64_t k1 = std::min((y_hi - y_lo) * ow, h * wd - start);
        if (k1 > k0) std::copy(plane + (start + k0), plane + (start + k1), out + y_lo * ow + k0);
        for (int64_t oy = y_lo; oy < y_hi; ++oy) {
          T* row = out + oy * ow;
          for (int64_t ox = 0; ox < x0; ++ox) row[ox] = T(0);
          for (int64_t ox = x1; ox < ow; ++ox) row[ox] = T(0);
        }
        continue;
      }
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

// The adjoint of im2col_plane: adds each column entry into its pixel of `plane`.
template <typename T>
void col2im_plane(const T* in, int64_t h, int64_t wd, const Window& w, int64_t oh, int64_t ow,
                  T* plane) {
  for (int64_t i = 0; i < w.kh; ++i)
    for (int64_t j = 0; j < w.kw; ++j, in += oh * ow) {
      auto [x0, x1] = valid_range(ow, wd, w.sw, w.pw, j * w.dw);
      for (int64_t oy = 0; oy < oh; ++oy) {
        int64_t y = oy * w.sh - w.ph + i * w.dh;
        if (y < 0 || y >= h) continue;
        T* dst = plane + y * wd - w.pw + j * w.dw;
        const T* row = in + oy * ow;
        for (int64_t ox = x0; ox < x1; ++ox) dst[ox * w.sw] += row[ox];
      }
    }
}

}  // namespace

Tensor im2col(const Tensor& x_in, const Window& w) {
  profiler::Scope scope("kernels::im2col");
  check_4d(x_in, "im2col");
  Tensor x = contiguous(x_in);
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  int64_t oh = Window::out_size(h, w.kh, w.sh, w.ph, w.dh, "im2col");
  int64_t ow = Window::out_size(wd, w.kw, w.sw, w.pw, w.dw, "im2col");
  Tensor cols = empty({n, c * w.kh * w.kw, oh * ow}, x.dtype());
  visit_floating(x.dtype(), "im2col", [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    T* cp = cols.data_ptr<T>();
    int64_t plane_cols =
        w.kh * w.kw * oh * ow;  // rows (c*kh + i)*kw + j of a sample are contiguous
    parallel_for(0, n * c, std::max<int64_t>(1, kGrainElements / std::max<int64_t>(plane_cols, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t nc = lo; nc < hi; ++nc)
                     im2col_plane(xp + nc * h * wd, h, wd, w, oh, ow, cp + nc * plane_cols);
                 });
  });
  return cols;
}

Tensor col2im(const Tensor& cols_in, int64_t c, int64_t h, int64_t wd, const Window& w) {
  profiler::Scope scope("kernels::col2im");
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
                   for (int64_t nc = lo; nc < hi; ++nc)
                     col2im_plane(cp + nc * plane_cols, h, wd, w, oh, ow, xp + nc * h * wd);
                 });
  });
  return x;
}

namespace {

// The sizes one convolution works with; a group's slice of the weight is (og x rows) and of a
// sample's columns (rows x l).
struct ConvShape {
  int64_t n, c, h, wd, out, oh, ow, l;
  int64_t groups, og, rows;
  int64_t kk;   // kernel positions kh*kw
  bool direct;  // 1x1, stride 1, no padding: a sample's input already is its columns

  ConvShape(const Tensor& x, const Tensor& weight, const Window& w, int64_t groups_)
      : n(x.size(0)),
        c(x.size(1)),
        h(x.size(2)),
        wd(x.size(3)),
        out(weight.size(0)),
        oh(Window::out_size(h, w.kh, w.sh, w.ph, w.dh, "conv2d")),
        ow(Window::out_size(wd, w.kw, w.sw, w.pw, w.dw, "conv2d")),
        l(oh * ow),
        groups(groups_),
        og(out / groups_),
        rows(c / groups_ * w.kh * w.kw),
        kk(w.kh * w.kw),
        direct(kk == 1 && w.sh == 1 && w.sw == 1 && w.ph == 0 && w.pw == 0) {}

  // The direct convolution's multiply-adds, whichever algorithm runs: each output element sums
  // (c / groups) * kh * kw products. The input gradient and the weight gradient take as many.
  int64_t multiply_adds() const { return n * out * l * rows; }
  int64_t input_numel() const { return n * c * h * wd; }
  int64_t weight_numel() const { return out * rows; }
  int64_t output_numel() const { return n * out * l; }
};

// A sample's columns (C*kh*kw, L): the sample itself when direct, else built into `buffer`.
template <typename T>
const T* sample_columns(const ConvShape& s, const Window& w, const T* sample, T* buffer) {
  if (s.direct) return sample;
  for (int64_t ch = 0; ch < s.c; ++ch)
    im2col_plane(sample + ch * s.h * s.wd, s.h, s.wd, w, s.oh, s.ow, buffer + ch * s.kk * s.l);
  return buffer;
}

// Weight-gradient chunks of the batch: a function of the sizes alone (never of the thread
// count), at most 16 and few enough that their partial sums stay under 4M elements.
int64_t samples_per_chunk(int64_t n, int64_t weight_numel) {
  int64_t chunks = std::min<int64_t>(
      {n, 16, std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(weight_numel, 1))});
  return (n + chunks - 1) / std::max<int64_t>(chunks, 1);
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, const Window& w,
              int64_t groups) {
  profiler::Scope scope("kernels::conv2d");
  Tensor x = contiguous(x_in), weight = contiguous(weight_in);
  Tensor bias = bias_in.defined() ? contiguous(bias_in) : bias_in;
  ConvShape s(x, weight, w, groups);
  scope.count({.flops = 2 * s.multiply_adds(),
               .bytes = int64_t(element_size(x.dtype())) *
                        (s.input_numel() + s.weight_numel() + s.output_numel())});
  if (winograd_fits(x, weight, w, groups)) return winograd_conv2d(x, weight, bias, w);
  if (winograd_dilated_fits(x, weight, w, groups))
    return winograd_dilated_conv2d(x, weight, bias, w);
  Tensor y = empty({s.n, s.out, s.oh, s.ow}, x.dtype());
  if (y.numel() == 0) return y;
  visit_floating(x.dtype(), "conv2d", [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    const T* wp = weight.data_ptr<T>();
    const T* bp = bias.defined() ? bias.data_ptr<T>() : nullptr;
    T* yp = y.data_ptr<T>();
    parallel_for_blas(0, s.n, 1, [&](int64_t lo, int64_t hi) {
      Tensor buffer = empty({s.direct ? 0 : s.c * s.kk * s.l}, x.dtype());
      for (int64_t b = lo; b < hi; ++b) {
        const T* cols = sample_columns(s, w, xp + b * s.c * s.h * s.wd, buffer.data_ptr<T>());
        T* yb = yp + b * s.out * s.l;
        for (int64_t o = 0; o < s.out; ++o) std::fill_n(yb + o * s.l, s.l, bp ? bp[o] : T(0));
        if (s.rows == 0) continue;
        for (int64_t g = 0; g < s.groups; ++g)
          gemm(false, false, s.og, s.l, s.rows, wp + g * s.og * s.rows, s.rows,
               cols + g * s.rows * s.l, s.l, T(1), yb + g * s.og * s.l, s.l);
      }
    });
  });
  return y;
}

Conv2dGrads conv2d_backward(const Tensor& grad_in, const Tensor& x_in, const Tensor& weight_in,
                            const Window& w, int64_t groups, bool need_input, bool need_weight,
                            bool need_bias) {
  profiler::Scope scope("kernels::conv2d_backward");
  Tensor grad = contiguous(grad_in), x = contiguous(x_in), weight = contiguous(weight_in);
  ConvShape s(x, weight, w, groups);
  // Each gradient asked for reads the output gradient and one operand and writes its own.
  scope.count({.flops = 2 * s.multiply_adds() * (int64_t{need_input} + need_weight) +
                        need_bias * s.output_numel(),
               .bytes = int64_t(element_size(x.dtype())) *
                        (s.output_numel() + (s.input_numel() + s.weight_numel()) *
                                                (int64_t{need_input} + need_weight))});
  Conv2dGrads r;
  if (winograd_fits(x, weight, w, groups)) {
    WinogradGrads g = winograd_conv2d_backward(grad, x, weight, w, need_input, need_weight);
    r.input = g.input;
    r.weight = g.weight;
    need_input = need_weight = false;  // the bias gradient below is common to both
  } else if (winograd_dilated_fits(x, weight, w, groups)) {
    WinogradGrads g = winograd_dilated_conv2d_backward(grad, x, weight, w, need_input, need_weight);
    r.input = g.input;
    r.weight = g.weight;
    need_input = need_weight = false;
  }
  int64_t per = samples_per_chunk(s.n, weight.numel());
  int64_t chunks = s.n == 0 ? 0 : (s.n + per - 1) / per;
  Tensor partial;  // (chunks, O, C/G*kh*kw): each chunk's weight gradient
  if (need_input) r.input = empty(shape_of(x), x.dtype());
  if (need_weight) partial = zeros({chunks, s.out, s.rows}, x.dtype());
  // Each group's weight (og x rows) transposed once, so that every sample's input-gradient GEMM
  // reads its left operand along rows (the register tile broadcast from a transposed one at 57
  // against 76 GFLOP/s a thread at 32 x 196 x 32 in a quiet hour, AMD EPYC Zen 3; level in
  // slower ones).
  Tensor weight_t = need_input
                        ? contiguous(make_view(weight, {s.groups, s.rows, s.og},
                                               {s.og * s.rows, 1, s.rows}, weight.storage_offset()))
                        : Tensor();
  visit_floating(x.dtype(), "conv2d backward", [&]<typename T>() {
    const T* gp = grad.data_ptr<T>();
    const T* xp = x.data_ptr<T>();
    const T* wtp = need_input ? weight_t.data_ptr<T>() : nullptr;
    if (need_input || need_weight) {
      parallel_for_blas(0, chunks, 1, [&](int64_t lo, int64_t hi) {
        Tensor buffer = empty({s.direct ? 0 : s.c * s.kk * s.l}, x.dtype());
        for (int64_t chunk = lo; chunk < hi; ++chunk) {
          T* part = need_weight ? partial.data_ptr<T>() + chunk * s.out * s.rows : nullptr;
          for (int64_t b = chunk * per; b < std::min(s.n, (chunk + 1) * per); ++b) {
            const T* gb = gp + b * s.out * s.l;
            if (need_weight && s.rows > 0) {  // part += grad_b @ columns_bᵀ
              const T* cols = sample_columns(s, w, xp + b * s.c * s.h * s.wd, buffer.data_ptr<T>());
              for (int64_t g = 0; g < s.groups; ++g)
                gemm(false, true, s.og, s.rows, s.l, gb + g * s.og * s.l, s.l,
                     cols + g * s.rows * s.l, s.l, T(1), part + g * s.og * s.rows, s.rows);
            }
            if (!need_input) continue;
            T* xb = r.input.data_ptr<T>() + b * s.c * s.h * s.wd;
            if (s.rows == 0 || s.og == 0) {
              std::fill_n(xb, s.c * s.h * s.wd, T(0));
              continue;
            }
            T* dcols = s.direct ? xb : buffer.data_ptr<T>();  // weightᵀ @ grad_b, then col2im
            for (int64_t g = 0; g < s.groups; ++g)
              gemm(false, false, s.rows, s.l, s.og, wtp + g * s.rows * s.og, s.og,
                   gb + g * s.og * s.l, s.l, T(0), dcols + g * s.rows * s.l, s.l);
            if (s.direct) continue;
            std::fill_n(xb, s.c * s.h * s.wd, T(0));
            for (int64_t ch = 0; ch < s.c; ++ch)
              col2im_plane(dcols + ch * s.kk * s.l, s.h, s.wd, w, s.oh, s.ow, xb + ch * s.h * s.wd);
          }
        }
      });
    }
    if (need_weight) {  // the chunks' partial sums, added in chunk order
      r.weight = empty(shape_of(weight), x.dtype());
      const T* pp = partial.data_ptr<T>();
      T* dw = r.weight.data_ptr<T>();
      int64_t size = weight.numel();
      parallel_for(0, size, kGrainElements, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          T acc = chunks > 0 ? pp[i] : T(0);
          for (int64_t k = 1; k < chunks; ++k) acc += pp[k * size + i];
          dw[i] = acc;
        }
      });
    }
    if (need_bias) {  // per channel: each sample's plane in T lanes, the planes in double
      r.bias = empty({s.out}, x.dtype());
      T* db = r.bias.data_ptr<T>();
      parallel_for(0, s.out, std::max<int64_t>(1, kGrainElements / std::max<int64_t>(s.n * s.l, 1)),
                   [&](int64_t lo, int64_t hi) {
                     for (int64_t o = lo; o < hi; ++o) {
                       double acc = 0;
                       for (int64_t b = 0; b < s.n; ++b)
                         acc +=
                             vector_sum(gp + (b * s.out + o) * s.l, s.l, [](auto v) { return v; });
                       db[o] = static_cast<T>(acc);
                     }
                   });
    }
  });
  return r;
}

}  // namespace ember::kernels

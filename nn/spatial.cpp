// nn::functional ops that reshape a feature map's grid: padding, resizing (interpolate), the
// transposed convolution that decoders upsample with, pixel shuffle, adaptive pooling and
// channel dropout.
// All are composites of autograd ops (fold, matmul, index_select, cat, narrow, max), so none
// needs backward code and all differentiate twice.
// Read next: nn/layers.h (the modules that wrap them).
#include <cmath>

#include "../core/profiler.h"
#include "functional.h"

namespace ember::nn::functional {

namespace {

void check_4d(const Tensor& x, const char* op) {
  if (x.dim() != 4) fail(op, ": expected a 4-D input (N, C, H, W), got ", shape_str(x.sizes()));
}

// Pads one dim with `before` and `after` copies of `value` (a negative count crops instead).
Tensor pad_constant_dim(const Tensor& x, int64_t dim, int64_t before, int64_t after, double value) {
  int64_t keep = x.size(dim) + std::min<int64_t>(before, 0) + std::min<int64_t>(after, 0);
  Tensor y = narrow(x, dim, std::max<int64_t>(-before, 0), keep);
  std::vector<Tensor> parts;
  Shape sizes = shape_of(y);
  if (before > 0) {
    sizes[dim] = before;
    parts.push_back(full(sizes, value, x.dtype()));
  }
  parts.push_back(y);
  if (after > 0) {
    sizes[dim] = after;
    parts.push_back(full(sizes, value, x.dtype()));
  }
  return parts.size() == 1 ? y : cat(parts, dim);
}

// The source index of each of size + before + after positions: reflect mirrors about the edge
// pixel (-1 reads 1), replicate repeats it (-1 reads 0).
Tensor pad_source_index(int64_t size, int64_t before, int64_t after, PadMode mode) {
  std::vector<int64_t> index;
  for (int64_t o = -before; o < size + after; ++o) {
    int64_t i = o;
    if (mode == PadMode::Reflect) i = o < 0 ? -o : (o >= size ? 2 * (size - 1) - o : o);
    if (mode == PadMode::Replicate) i = std::clamp<int64_t>(o, 0, size - 1);
    index.push_back(i);
  }
  return from_vector(index, {static_cast<int64_t>(index.size())});
}

}  // namespace

// Pads the last pads.size()/2 dims, the last dim first, as torch.nn.functional.pad.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
  profiler::Scope scope("pad");
  int64_t dims = static_cast<int64_t>(pads.size()) / 2;
  if (pads.size() % 2 != 0 || dims > x.dim())
    fail("pad: expected an even number of paddings for at most ", x.dim(), " dims of input ",
         shape_str(x.sizes()), ", got ", pads.size());
  if (mode != PadMode::Constant && dims >= x.dim())
    fail("pad: reflect and replicate padding pad at most ", x.dim() - 1, " trailing dims of input ",
         shape_str(x.sizes()), " (the first is the batch or channel), got ", dims);
  Tensor y = x;
  for (int64_t k = 0; k < dims; ++k) {
    int64_t dim = x.dim() - 1 - k, before = pads[2 * k], after = pads[2 * k + 1];
    int64_t size = x.size(dim);
    if (mode == PadMode::Constant) {
      if (size + before + after < 0 || -before > size || -after > size)
        fail("pad: paddings (", before, ", ", after, ") crop more than dim ", dim, " of input ",
             shape_str(x.sizes()), " holds");
      y = pad_constant_dim(y, dim, before, after, value);
      continue;
    }
    if (before < 0 || after < 0)
      fail("pad: reflect and replicate take non-negative paddings, got (", before, ", ", after,
           ") for dim ", dim);
    if (mode == PadMode::Reflect && (before >= size || after >= size))
      fail("pad: reflect padding (", before, ", ", after, ") must be smaller than dim ", dim,
           " of input ", shape_str(x.sizes()));
    if (size == 0) fail("pad: cannot pad an empty dim ", dim, " of input ", shape_str(x.sizes()));
    y = index_select(y, dim, pad_source_index(size, before, after, mode));
  }
  return y;
}

// The transposed convolution as the adjoint of conv2d's input gradient: per group,
// cols = Wᵀ x (each input pixel's kernel-sized patch of output), then fold (col2im) sums the
// patches into the whole, uncropped output, (H-1)*stride + dilation*(k-1) + 1 high; padding
// crops that at both ends and output_padding adds rows at the end (zeros unless padding had
// cropped them).     (composite: fold, matmul)
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const ConvTransposeArgs& a) {
  profiler::Scope scope("conv_transpose2d");
  if (x.dim() != 4 || weight.dim() != 4)
    fail("conv_transpose2d: expected a 4-D input and weight, got input ", shape_str(x.sizes()),
         " and weight ", shape_str(weight.sizes()));
  int64_t n = x.size(0), c = x.size(1), g = a.groups, h = x.size(2), w = x.size(3);
  if (g < 1 || c != weight.size(0) || c % g != 0)
    fail("conv_transpose2d: input has ", c, " channels but weight expects ", weight.size(0),
         " (input ", shape_str(x.sizes()), ", weight ", shape_str(weight.sizes()), ", groups ", g,
         ")");
  int64_t out = weight.size(1) * g, kh = weight.size(2), kw = weight.size(3);
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out))
    fail("conv_transpose2d: bias ", shape_str(bias.sizes()), " does not match ", out,
         " output channels");
  for (auto [op, s, d] : {std::tuple{a.output_padding.h, a.stride.h, a.dilation.h},
                          std::tuple{a.output_padding.w, a.stride.w, a.dilation.w}})
    if (op < 0 || (op >= s && op >= d))
      fail("conv_transpose2d: output_padding ", op, " must be smaller than the stride (", s,
           ") or the dilation (", d, ")");
  int64_t full_h = (h - 1) * a.stride.h + a.dilation.h * (kh - 1) + 1;
  int64_t full_w = (w - 1) * a.stride.w + a.dilation.w * (kw - 1) + 1;
  if (full_h - 2 * a.padding.h + a.output_padding.h < 1 ||
      full_w - 2 * a.padding.w + a.output_padding.w < 1 || a.padding.h < 0 || a.padding.w < 0)
    fail("conv_transpose2d: padding (", a.padding.h, ", ", a.padding.w,
         ") leaves no output for input ", shape_str(x.sizes()), " and weight ",
         shape_str(weight.sizes()));
  Tensor xg = reshape(x, {n, g, c / g, h * w});                // (N, G, C/G, HW)
  Tensor wg = reshape(weight, {g, c / g, out / g * kh * kw});  // (G, C/G, out/G*kh*kw)
  Tensor cols = reshape(matmul(transpose(wg, 1, 2), xg), {n, out * kh * kw, h * w});
  Tensor y = fold(cols, {full_h, full_w}, {kh, kw}, a.dilation, 0, a.stride);
  y = pad(y, {-a.padding.w, a.output_padding.w - a.padding.w, -a.padding.h,
              a.output_padding.h - a.padding.h});
  if (bias.defined()) y = y + reshape(bias, {1, out, 1, 1});
  return y;
}

namespace {

// Adaptive pooling: output cell (i, j) reduces the bin [floor(i*H/OH), ceil((i+1)*H/OH)) x
// [floor(j*W/OW), ceil((j+1)*W/OW)) of x: (N, C, H, W), as PyTorch; bins overlap when OH does not
// divide H. An evenly dividing size is the ordinary pool `even` with kernel (H/OH, W/OW).
template <typename Even, typename Cell>
Tensor adaptive_pool(const Tensor& x, Pair out, const char* op, Even even, Cell cell) {
  check_4d(x, op);
  if (out.h < 1 || out.w < 1)
    fail(op, ": expected a positive output size, got (", out.h, ", ", out.w, ")");
  int64_t h = x.size(2), w = x.size(3);
  if (h % out.h == 0 && w % out.w == 0) return even(Pair{h / out.h, w / out.w});
  std::vector<Tensor> rows;
  for (int64_t i = 0; i < out.h; ++i) {
    int64_t y0 = i * h / out.h, y1 = ((i + 1) * h + out.h - 1) / out.h;
    std::vector<Tensor> cells;
    for (int64_t j = 0; j < out.w; ++j) {
      int64_t x0 = j * w / out.w, x1 = ((j + 1) * w + out.w - 1) / out.w;
      cells.push_back(cell(narrow(narrow(x, 2, y0, y1 - y0), 3, x0, x1 - x0)));  // (N, C)
    }
    rows.push_back(stack(cells, 2));  // (N, C, OW)
  }
  return stack(rows, 2);  // (N, C, OH, OW)
}

}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& x, Pair out) {  // (composite)
  profiler::Scope scope("adaptive_avg_pool2d");
  return adaptive_pool(
      x, out, "adaptive_avg_pool2d", [&](Pair k) { return avg_pool2d(x, k); },
      [](const Tensor& bin) {
        return mean(bin, {2, 3});
      });
}

Tensor adaptive_max_pool2d(const Tensor& x, Pair out) {  // (composite)
  profiler::Scope scope("adaptive_max_pool2d");
  return adaptive_pool(
      x, out, "adaptive_max_pool2d", [&](Pair k) { return max_pool2d(x, k); },
      [](const Tensor& bin) { return max(flatten(bin, 2), 2).first; });
}

namespace {

// One dim of interpolate: the output size and the scale PyTorch maps output to input with
// (1/scale_factor when that is given, in/out otherwise).
struct Axis {
  int64_t in, out;
  double scale;
};

Axis resize_axis(int64_t in, std::optional<int64_t> size, std::optional<double> factor) {
  if (size) return {in, *size, static_cast<double>(in) / static_cast<double>(*size)};
  return {in, static_cast<int64_t>(std::floor(static_cast<double>(in) * *factor)), 1.0 / *factor};
}

// Nearest: output i reads input min(floor(i * scale), in - 1), the scale in float as PyTorch's
// CPU kernel computes it.
Tensor nearest_axis(const Tensor& x, int64_t dim, const Axis& a) {
  std::vector<int64_t> index(a.out);
  float scale = static_cast<float>(a.scale);
  for (int64_t i = 0; i < a.out; ++i)
    index[i] = std::min<int64_t>(static_cast<int64_t>(std::floor(static_cast<float>(i) * scale)),
                                 a.in - 1);
  return index_select(x, dim, from_vector(index, {a.out}));
}

// Linear along one dim: output i reads src = (i + 0.5) * scale - 0.5 (clamped at 0), or
// i * (in-1)/(out-1) with align_corners, and mixes its two neighbours: (1-λ) x[i0] + λ x[i1].
// Two such passes are bilinear interpolation, which is separable.
Tensor linear_axis(const Tensor& x, int64_t dim, const Axis& a, bool align_corners) {
  std::vector<int64_t> lo(a.out), hi(a.out);
  std::vector<double> lambda(a.out);
  double scale =
      align_corners ? (a.out > 1 ? static_cast<double>(a.in - 1) / (a.out - 1) : 0.0) : a.scale;
  for (int64_t i = 0; i < a.out; ++i) {
    double src = align_corners ? scale * i : std::max(scale * (i + 0.5) - 0.5, 0.0);
    lo[i] = std::min<int64_t>(static_cast<int64_t>(src), a.in - 1);
    hi[i] = std::min<int64_t>(lo[i] + 1, a.in - 1);
    lambda[i] = src - static_cast<double>(lo[i]);
  }
  Shape along(x.dim(), 1);
  along[dim] = a.out;
  Tensor l = to(reshape(from_vector(lambda, {a.out}), along), x.dtype());
  return index_select(x, dim, from_vector(lo, {a.out})) * (1.0 - l) +
         index_select(x, dim, from_vector(hi, {a.out})) * l;
}

}  // namespace

Tensor interpolate(const Tensor& x, const InterpolateArgs& a) {  // (composite)
  profiler::Scope scope("interpolate");
  check_4d(x, "interpolate");
  if (a.size.has_value() == a.scale_factor.has_value())
    fail("interpolate: give exactly one of size and scale_factor");
  if (a.size && (a.size->h < 1 || a.size->w < 1))
    fail("interpolate: output size (", a.size->h, ", ", a.size->w, ") must be positive");
  if (a.scale_factor && !(a.scale_factor->h > 0 && a.scale_factor->w > 0))
    fail("interpolate: scale factors (", a.scale_factor->h, ", ", a.scale_factor->w,
         ") must be positive");
  if (a.align_corners && a.mode == Interpolation::Nearest)
    fail("interpolate: align_corners applies to bilinear interpolation only");
  auto size = [&](int64_t Pair::*m) { return a.size ? std::optional((*a.size).*m) : std::nullopt; };
  auto factor = [&](double ScalePair::*m) {
    return a.scale_factor ? std::optional((*a.scale_factor).*m) : std::nullopt;
  };
  Axis rows = resize_axis(x.size(2), size(&Pair::h), factor(&ScalePair::h));
  Axis cols = resize_axis(x.size(3), size(&Pair::w), factor(&ScalePair::w));
  if (rows.out < 1 || cols.out < 1)
    fail("interpolate: input ", shape_str(x.sizes()), " scaled gives an empty output (", rows.out,
         ", ", cols.out, ")");
  if (a.mode == Interpolation::Nearest) return nearest_axis(nearest_axis(x, 2, rows), 3, cols);
  return linear_axis(linear_axis(x, 2, rows, a.align_corners), 3, cols, a.align_corners);
}

Tensor pixel_shuffle(const Tensor& x, int64_t r) {  // (composite)
  profiler::Scope scope("pixel_shuffle");
  if (x.dim() != 4 || r < 1 || x.size(1) % (r * r) != 0)
    fail("pixel_shuffle: expected (N, C*", r, "*", r, ", H, W), got ", shape_str(x.sizes()));
  int64_t n = x.size(0), c = x.size(1) / (r * r), h = x.size(2), w = x.size(3);
  Tensor blocks = reshape(x, {n, c, r, r, h, w});  // channel c*r*r + i*r + j -> pixel (i, j)
  return reshape(permute(blocks, {0, 1, 4, 2, 5, 3}), {n, c, h * r, w * r});
}

Tensor dropout2d(const Tensor& x, double p, bool training) {  // (composite)
  profiler::Scope scope("dropout2d");
  check(p >= 0 && p <= 1, "dropout2d: probability must be in [0, 1], got ", p);
  if (x.dim() != 3 && x.dim() != 4)
    fail("dropout2d: expected (N, C, H, W) or (C, H, W), got ", shape_str(x.sizes()));
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  Shape mask_shape = shape_of(x);
  for (int64_t d = x.dim() - 2; d < x.dim(); ++d) mask_shape[d] = 1;  // one draw per channel
  Tensor keep = to(ge(rand(mask_shape, x.dtype()), p), x.dtype());
  return x * keep * (1.0 / (1.0 - p));
}

}  // namespace ember::nn::functional

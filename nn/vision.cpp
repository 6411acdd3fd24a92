// nn::functional's vision functions, which reshape a feature map's grid: pad (constant,
// reflect, replicate), interpolate (nearest and bilinear, PyTorch's source-index rules) and
// pixel_shuffle. Composites of autograd ops (narrow, cat, index_select, permute), so none needs
// backward code and all differentiate twice.
// Read next: nn/layers.h (the modules that wrap the functional ops).
#include <cmath>

#include "../core/profiler.h"
#include "functional_shapes.h"

namespace ember::nn::functional {
namespace {

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
  kernels::check_4d(x, "interpolate");
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

}  // namespace ember::nn::functional

// Image transforms; see transforms.h.
#include "transforms.h"

#include <cmath>
#include <numbers>

#include "../autograd/ops.h"

namespace ember::data {
namespace {

void check_image(const Tensor& x, const char* op) {
  if (x.dim() != 3) fail(op, ": expected an image (C, H, W), got ", shape_str(x.sizes()));
}

// torch.empty(1).uniform_(from, to).item(): one float32 draw, as torchvision draws its parameters.
double draw_uniform(Generator& gen, double from, double to) {
  Tensor one = empty({1});
  uniform_(one, from, to, &gen);
  return one.item<double>();
}

}  // namespace

Transform Normalize(std::vector<double> mean, std::vector<double> std) {
  if (mean.size() != std.size() || mean.empty())
    fail("Normalize: mean and std must have one value per channel");
  return [mean, std](const Tensor& x, Generator&) {
    check_image(x, "Normalize");
    if (x.size(0) != static_cast<int64_t>(mean.size()))
      fail("Normalize: image has ", x.size(0), " channels, mean/std have ", mean.size());
    Tensor m = reshape(from_vector(mean, {static_cast<int64_t>(mean.size())}), {-1, 1, 1});
    Tensor s = reshape(from_vector(std, {static_cast<int64_t>(std.size())}), {-1, 1, 1});
    return (x - to(m, x.dtype())) / to(s, x.dtype());
  };
}

Transform RandomCrop(int64_t size, int64_t padding) {
  if (size < 1 || padding < 0) fail("RandomCrop: size must be positive and padding non-negative");
  return [size, padding](const Tensor& x, Generator& gen) {
    check_image(x, "RandomCrop");
    int64_t h = x.size(1) + 2 * padding, w = x.size(2) + 2 * padding;
    if (h < size || w < size)
      fail("RandomCrop: padded image ", h, "x", w, " is smaller than the crop ", size);
    Tensor padded = zeros({x.size(0), h, w}, x.dtype());
    narrow(narrow(padded, 1, padding, x.size(1)), 2, padding, x.size(2)).copy_(x);
    // As torchvision: top, then left, each torch.randint(0, extent - size + 1).
    int64_t top = randint(0, h - size + 1, {}, kInt64, &gen).item<int64_t>();
    int64_t left = randint(0, w - size + 1, {}, kInt64, &gen).item<int64_t>();
    return narrow(narrow(padded, 1, top, size), 2, left, size).contiguous();
  };
}

Transform RandomHorizontalFlip(double p) {
  return [p](const Tensor& x, Generator& gen) {
    check_image(x, "RandomHorizontalFlip");
    if (rand({}, kFloat32, &gen).item<double>() >= p) return x;  // flips when torch.rand(1) < p
    Tensor reversed = arange(x.size(2) - 1, -1, -1, kInt64);
    return index_select(x, 2, reversed);
  };
}

// torchvision's affine on tensors: each output pixel, relative to the image centre, is mapped
// back by the inverse of (rotate, scale, then shift) and reads the nearest input pixel (rounding
// half to even, as grid_sample), or `fill` from outside the image. Computed in float, in the
// order grid_sample's caller computes it, so the same pixels round the same way.
Transform RandomAffine(const RandomAffineOptions& o) {
  if (o.degrees < 0) fail("RandomAffine: degrees must be non-negative, got ", o.degrees);
  if (o.translate && (o.translate->first < 0 || o.translate->first > 1 || o.translate->second < 0 ||
                      o.translate->second > 1))
    fail("RandomAffine: translate fractions must be in [0, 1]");
  if (o.scale && !(o.scale->first > 0 && o.scale->first <= o.scale->second))
    fail("RandomAffine: scale range must be positive and ordered");
  return [o](const Tensor& x, Generator& gen) {
    check_image(x, "RandomAffine");
    int64_t c = x.size(0), h = x.size(1), w = x.size(2);
    double angle = draw_uniform(gen, -o.degrees, o.degrees), tx = 0, ty = 0, scale = 1;
    if (o.translate) {
      double max_dx = o.translate->first * static_cast<double>(w);
      double max_dy = o.translate->second * static_cast<double>(h);
      tx = std::nearbyint(draw_uniform(gen, -max_dx, max_dx));  // Python's round: half to even
      ty = std::nearbyint(draw_uniform(gen, -max_dy, max_dy));
    }
    if (o.scale) scale = draw_uniform(gen, o.scale->first, o.scale->second);
    double rot = angle * std::numbers::pi / 180.0;
    // The inverse map [m0 m1 m2; m3 m4 m5], then divided by the half sizes as grid coordinates.
    double m0 = std::cos(rot) / scale, m1 = std::sin(rot) / scale;
    double m3 = -std::sin(rot) / scale, m4 = std::cos(rot) / scale;
    double m2 = m0 * -tx + m1 * -ty, m5 = m3 * -tx + m4 * -ty;
    float hw = 0.5f * static_cast<float>(w), hh = 0.5f * static_cast<float>(h);
    float g[6] = {static_cast<float>(m0) / hw, static_cast<float>(m1) / hw,
                  static_cast<float>(m2) / hw, static_cast<float>(m3) / hh,
                  static_cast<float>(m4) / hh, static_cast<float>(m5) / hh};
    Tensor src = x.contiguous(), y = empty(shape_of(x), x.dtype());
    visit_floating(x.dtype(), "RandomAffine", [&]<typename T>() {
      const T* in = src.data_ptr<T>();
      T* out = y.data_ptr<T>();
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) {
          float xb = static_cast<float>(j) - hw + 0.5f, yb = static_cast<float>(i) - hh + 0.5f;
          float gx = xb * g[0] + yb * g[1] + g[2], gy = xb * g[3] + yb * g[4] + g[5];
          auto col = static_cast<int64_t>(std::nearbyint(((gx + 1) * w - 1) / 2));
          auto row = static_cast<int64_t>(std::nearbyint(((gy + 1) * h - 1) / 2));
          bool inside = row >= 0 && row < h && col >= 0 && col < w;
          for (int64_t ch = 0; ch < c; ++ch)
            out[(ch * h + i) * w + j] =
                inside ? in[(ch * h + row) * w + col] : static_cast<T>(o.fill);
        }
    });
    return y;
  };
}

// torchvision's order of draws: a permutation of the four adjustments, then one factor for each
// adjustment asked for (brightness, contrast, saturation); the adjustments run in the permuted
// order, each a blend clamped to [0, 1]: f x + (1 - f) other.
Transform ColorJitter(const ColorJitterOptions& o) {
  for (double v : {o.brightness, o.contrast, o.saturation})
    if (v < 0) fail("ColorJitter: jitter amounts must be non-negative, got ", v);
  return [o](const Tensor& x, Generator& gen) {
    check_image(x, "ColorJitter");
    Tensor perm = randperm(4, &gen);
    std::vector<int64_t> order(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + 4);
    double factor[3] = {1, 1, 1};
    double amount[3] = {o.brightness, o.contrast, o.saturation};
    for (int k = 0; k < 3; ++k)
      if (amount[k] > 0)
        factor[k] = draw_uniform(gen, std::max(0.0, 1.0 - amount[k]), 1.0 + amount[k]);
    auto grey = [](const Tensor& img) {  // ITU-R 601-2 luma, as torchvision's rgb_to_grayscale
      return select(img, 0, 0) * 0.2989 + select(img, 0, 1) * 0.587 + select(img, 0, 2) * 0.114;
    };
    Tensor y = x;
    for (int64_t k : order) {
      if (k > 2 || amount[k] == 0) continue;  // 3 is hue, which ember does not jitter
      double f = factor[k];
      if (k == 0) y = clamp(y * f, 0.0, 1.0);
      if (k == 1) y = clamp(y * f + mean(x.size(0) == 3 ? grey(y) : y) * (1 - f), 0.0, 1.0);
      if (k == 2 && x.size(0) == 3) y = clamp(y * f + unsqueeze(grey(y), 0) * (1 - f), 0.0, 1.0);
    }
    return y;
  };
}

// torchvision's recipe: with probability p, up to 10 tries of an area fraction (uniform) and an
// aspect ratio (log-uniform, in float as torch.log/exp give it); the first rectangle that fits
// goes at a random top-left corner.
Transform RandomErasing(const RandomErasingOptions& o) {
  if (o.p < 0 || o.p > 1 || !(o.scale.first <= o.scale.second) ||
      !(o.ratio.first <= o.ratio.second) || o.scale.first < 0 || o.ratio.first <= 0)
    fail("RandomErasing: expected p in [0, 1] and ordered, positive scale and ratio ranges");
  return [o](const Tensor& x, Generator& gen) {
    check_image(x, "RandomErasing");
    if (rand({1}, kFloat32, &gen).item<double>() >= o.p) return x;
    int64_t h = x.size(1), w = x.size(2);
    double area = static_cast<double>(h * w);
    auto log_lo = static_cast<double>(std::log(static_cast<float>(o.ratio.first)));
    auto log_hi = static_cast<double>(std::log(static_cast<float>(o.ratio.second)));
    for (int attempt = 0; attempt < 10; ++attempt) {
      double erase_area = area * draw_uniform(gen, o.scale.first, o.scale.second);
      auto aspect =
          static_cast<double>(std::exp(static_cast<float>(draw_uniform(gen, log_lo, log_hi))));
      auto eh = static_cast<int64_t>(std::nearbyint(std::sqrt(erase_area * aspect)));
      auto ew = static_cast<int64_t>(std::nearbyint(std::sqrt(erase_area / aspect)));
      if (!(eh < h && ew < w)) continue;
      int64_t top = randint(0, h - eh + 1, {1}, kInt64, &gen).item<int64_t>();
      int64_t left = randint(0, w - ew + 1, {1}, kInt64, &gen).item<int64_t>();
      Tensor y = clone(x);
      narrow(narrow(y, 1, top, eh), 2, left, ew).fill_(o.value);
      return y;
    }
    return x;
  };
}

Transform Compose(std::vector<Transform> transforms) {
  return [transforms](const Tensor& x, Generator& gen) {
    Tensor y = x;
    for (const Transform& t : transforms) y = t(y, gen);
    return y;
  };
}

}  // namespace ember::data

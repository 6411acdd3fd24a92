// Image transforms; see transforms.h.
#include "transforms.h"

#include "../autograd/ops.h"

namespace ember::data {
namespace {

void check_image(const Tensor& x, const char* op) {
  if (x.dim() != 3) fail(op, ": expected an image (C, H, W), got ", shape_str(x.sizes()));
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

Transform Compose(std::vector<Transform> transforms) {
  return [transforms](const Tensor& x, Generator& gen) {
    Tensor y = x;
    for (const Transform& t : transforms) y = t(y, gen);
    return y;
  };
}

}  // namespace ember::data

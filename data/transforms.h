// Transforms for image samples (C, H, W) in float, as torchvision.transforms names them: Normalize,
// RandomCrop with zero padding, RandomHorizontalFlip, RandomAffine, ColorJitter, RandomErasing
// and Compose. Random transforms draw from the per-sample generator the DataLoader hands them,
// so augmentation is reproducible for a seed at any thread count; each draws the numbers
// torchvision's draws, in its order, so a generator seeded as torch.manual_seed(s) gives
// torchvision's parameters (tests/golden/transforms.safetensors).
#pragma once

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "../core/random.h"
#include "../core/tensor.h"

namespace ember::data {

using Transform = std::function<Tensor(const Tensor&, Generator&)>;

/// (x - mean[c]) / std[c] per channel.
Transform Normalize(std::vector<double> mean, std::vector<double> std);
/// Pads by `padding` zeros on each side, then crops a random size x size window.
Transform RandomCrop(int64_t size, int64_t padding = 0);
/// Mirrors left-right with probability p.
Transform RandomHorizontalFlip(double p = 0.5);
struct RandomAffineOptions {
  double degrees = 0;                                  // rotation uniform in [-deg, deg]
  std::optional<std::pair<double, double>> translate = std::nullopt;  // max shift / (W, H)
  std::optional<std::pair<double, double>> scale = std::nullopt;      // zoom in [lo, hi]
  double fill = 0;                                     // for pixels mapped from outside
};
/// Rotates about the centre, scales and shifts by whole pixels, with nearest-pixel sampling,
/// as torchvision's RandomAffine on tensors (no shear).
Transform RandomAffine(const RandomAffineOptions& options);
struct ColorJitterOptions {
  double brightness = 0, contrast = 0, saturation = 0;  // factors uniform in [1 - v, 1 + v]
};
/// Brightness (x * f), contrast (blend with the mean grey level) and saturation (blend with the
/// greyscale image; 3 channels) in a random order, clamped to [0, 1]: for images in [0, 1],
/// before Normalize. No hue jitter.
Transform ColorJitter(const ColorJitterOptions& options);
struct RandomErasingOptions {
  double p = 0.5;
  std::pair<double, double> scale{0.02, 0.33};  // erased area as a fraction of the image
  std::pair<double, double> ratio{0.3, 3.3};    // aspect ratio h / w, drawn log-uniform
  double value = 0;
};
/// With probability p sets a random rectangle to `value` (Zhong et al. 2017's random erasing),
/// as torchvision's RandomErasing.
Transform RandomErasing(const RandomErasingOptions& options = {});
/// Applies transforms in order.
Transform Compose(std::vector<Transform> transforms);

}  // namespace ember::data

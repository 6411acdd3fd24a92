// Transforms for image samples (C, H, W) in float: Normalize, RandomCrop with zero padding and
// RandomHorizontalFlip. Random transforms draw from the per-sample generator the DataLoader hands
// them, so augmentation is reproducible for a seed at any thread count.
#pragma once

#include <functional>
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
/// Applies transforms in order.
Transform Compose(std::vector<Transform> transforms);

}  // namespace ember::data

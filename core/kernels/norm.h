// Batch normalisation kernels: per-channel statistics over (N, *), the per-channel affine
// normalisation, and its backward, one or two passes over the input each. Channels (or planes)
// are split across threads; sums run in a fixed order in double, so every thread count gives the
// same bits. Read next: nn/functional.cpp (batch_norm).
#pragma once

#include <utility>

#include "../tensor.h"

namespace ember::kernels {

/// Per-channel mean and biased variance of x (N, C, ...) over every dim but 1: two passes (the
/// mean, then the squared deviations), accumulated in double. Both (C), in x's dtype.
std::pair<Tensor, Tensor> batch_norm_stats(const Tensor& x);

/// y = (x - mean) * invstd * weight + bias per channel; mean, invstd, weight, bias are (C), and
/// an undefined weight or bias counts as 1 or 0.
Tensor batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const Tensor& bias);

struct BatchNormGrads {
  Tensor input, weight, bias;  // undefined where not asked for
};

/// Gradients of batch_norm_apply for the output gradient g, with xhat = (x - mean) * invstd and
/// M values per channel: dweight = sum g xhat, dbias = sum g, and
///   batch statistics (mean, invstd computed from x): dx = invstd w (g - sum g / M - xhat sum g
///   xhat / M) fixed statistics (running ones):                  dx = invstd w g
BatchNormGrads batch_norm_backward(const Tensor& g, const Tensor& x, const Tensor& mean,
                                   const Tensor& invstd, const Tensor& weight, bool batch_stats,
                                   bool need_input, bool need_weight, bool need_bias);

}  // namespace ember::kernels

// Normalisation kernels. Batch normalisation (batch_norm.cpp): per-channel statistics over
// (N, *), the per-channel affine normalisation, and its backward, one or two passes over the
// input each, plane by plane. Layer normalisation (norm.cpp): per-row statistics, the affine
// normalisation and its backward in one pass per row. Planes or rows are split across threads;
// sums run in a fixed order (a plane's in vector lanes of its dtype, the planes' in double), so
// every thread count gives the same bits. Read next: nn/normalization.cpp (batch_norm,
// layer_norm).
#pragma once

#include <utility>

#include "../tensor.h"

namespace ember::kernels {

/// Per-channel mean and biased variance of x (N, C, ...) over every dim but 1: two passes (the
/// mean, then the squared deviations), each plane summed in x's dtype and the planes in double.
/// Both (C), in x's dtype.
std::pair<Tensor, Tensor> batch_norm_stats(const Tensor& x);

/// y = (x - mean) * invstd * weight + bias per channel; mean, invstd, weight, bias are (C), and
/// an undefined weight or bias counts as 1 or 0. `relu`: max(y, 0), in the same pass.
Tensor batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const Tensor& bias, bool relu = false);

struct BatchNormGrads {
  Tensor input, weight, bias;  // undefined where not asked for
};

/// Gradients of batch_norm_apply for the output gradient g, with xhat = (x - mean) * invstd and
/// M values per channel: dweight = sum g xhat, dbias = sum g, and
///   batch statistics (mean, invstd computed from x): dx = invstd w (g - sum g / M - xhat sum g
///   xhat / M) fixed statistics (running ones):                  dx = invstd w g
/// With `relu_output` (the y of batch_norm_apply(..., relu = true)), g is the gradient of the
/// ReLU's output and is first masked where y is not positive, on the fly.
BatchNormGrads batch_norm_backward(const Tensor& g, const Tensor& x, const Tensor& mean,
                                   const Tensor& invstd, const Tensor& weight, bool batch_stats,
                                   bool need_input, bool need_weight, bool need_bias,
                                   const Tensor& relu_output = Tensor());

struct LayerNormOutputs {
  Tensor y, mean, rstd;  // y like x; mean and rstd: one per row, in x's dtype
};

/// Layer normalisation of x as rows of its last `m` values: per row, mean and rstd =
/// 1 / sqrt(biased variance + eps) (two passes, in double), y = (x - mean) rstd weight + bias.
/// weight and bias: m values or undefined (1 and 0).
LayerNormOutputs layer_norm_forward(const Tensor& x, int64_t m, const Tensor& weight,
                                    const Tensor& bias, double eps);

struct LayerNormGrads {
  Tensor input, weight, bias;  // undefined where not asked for; weight and bias flat (m)
};

/// Gradients of layer_norm_forward for g, with xhat = (x - mean) rstd and dxhat = g weight:
///   dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))   (means over the row)
///   dweight = sum over rows of g xhat,  dbias = sum over rows of g.
/// Rows go in blocks of a fixed size whose partial sums are added in order, so dweight and
/// dbias have the same bits for every thread count.
LayerNormGrads layer_norm_backward(const Tensor& g, const Tensor& x, int64_t m, const Tensor& mean,
                                   const Tensor& rstd, const Tensor& weight, bool need_input,
                                   bool need_weight, bool need_bias);

/// GELU with erf: y = x Φ(x), Φ(x) = (1 + erf(x / √2)) / 2; and its backward,
/// dx = g (Φ(x) + x φ(x)) with φ(x) = e^(-x²/2) / √(2π). Vectorised (vmath), one pass each.
Tensor gelu_forward(const Tensor& x);
Tensor gelu_backward(const Tensor& g, const Tensor& x);

}  // namespace ember::kernels

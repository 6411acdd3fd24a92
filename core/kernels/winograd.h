// 3x3 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016): each 2x2 block of outputs from a 4x4 block of input
// with 16 multiplies per channel pair instead of 36, so 2.25x fewer multiply-adds than im2col +
// GEMM. The 16 products become 16 GEMMs over channels, batched over tiles. conv.cpp calls these
// for the 3x3, stride-1 convolutions they serve (winograd_fits).
// Read next: winograd.cpp, whose header comment carries the transforms and their derivation.
#pragma once

#include "../tensor.h"
#include "conv.h"

namespace ember::kernels {

/// Whether winograd_conv2d serves this convolution: 3x3 kernel, stride 1, no dilation, one
/// group, padding at most 2, enough channels (>= 8 in, >= 8 out) for the channel GEMMs to pay.
bool winograd_fits(const Tensor& x, const Tensor& weight, const Window& w, int64_t groups);

/// conv2d for a convolution winograd_fits: y (N, K, OH, OW) = x (N, C, H, W) cross-correlated
/// with weight (K, C, 3, 3), plus bias (K) when defined.
Tensor winograd_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Window& w);

/// The input gradient: a convolution of grad (N, K, OH, OW) with the weight flipped in space and
/// transposed in channels, padding 2 - p. x's shape gives (N, C, H, W).
Tensor winograd_conv2d_input_grad(const Tensor& grad, const Tensor& weight, const Window& w,
                                  int64_t height, int64_t width);

/// The weight gradient (K, C, 3, 3): per tile the adjoint of the output transform applied to
/// grad, multiplied with the input's transform in 16 GEMMs over tiles, summed in fixed chunks of
/// the batch and then chunk by chunk in order, then the adjoint of the weight transform.
Tensor winograd_conv2d_weight_grad(const Tensor& grad, const Tensor& x, const Window& w);

}  // namespace ember::kernels

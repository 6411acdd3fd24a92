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
/// The same for an input of shape x (N, C, H, W) and `out_channels` filters.
bool winograd_fits(const Shape& x, int64_t out_channels, const Window& w, int64_t groups);

/// conv2d for a convolution winograd_fits: y (N, K, OH, OW) = x (N, C, H, W) cross-correlated
/// with weight (K, C, 3, 3), plus bias (K) when defined.
Tensor winograd_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Window& w);

/// The gradients of winograd_conv2d for grad (N, K, OH, OW): the input's (N, C, H, W) and the
/// weight's (K, C, 3, 3), each when asked for (else undefined). Every step's adjoint in reverse:
/// per tile the output transform's adjoint applied to grad; then 16 GEMMs over tiles with the
/// input's transform for the weight (summed in fixed chunks of the batch, chunk by chunk in
/// order, then the weight transform's adjoint), and 16 GEMMs over output channels with the
/// transformed weight for the input, followed by the input transform's adjoint.
struct WinogradGrads {
  Tensor input, weight;
};
WinogradGrads winograd_conv2d_backward(const Tensor& grad, const Tensor& x, const Tensor& weight,
                                       const Window& w, bool need_input, bool need_weight);

/// A dilated 3x3 convolution through Winograd: with dilation d, stride 1 and padding a multiple
/// of d over a map whose sides d divides, an output pixel reads only pixels of its own class (row
/// and column mod d), so the map is d² maps of (H/d, W/d) convolved without dilation. Whether
/// that serves this convolution (the class maps winograd_fits and are at least 12 wide).
bool winograd_dilated_fits(const Tensor& x, const Tensor& weight, const Window& w, int64_t groups);

/// conv2d and its gradients for a convolution winograd_dilated_fits, as winograd_conv2d's.
Tensor winograd_dilated_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                               const Window& w);
WinogradGrads winograd_dilated_conv2d_backward(const Tensor& grad, const Tensor& x,
                                               const Tensor& weight, const Window& w,
                                               bool need_input, bool need_weight);

}  // namespace ember::kernels

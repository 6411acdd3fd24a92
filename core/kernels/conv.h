// Kernels for convolution: im2col and its adjoint col2im, convolution as one GEMM per sample over
// its im2col columns (and its backward); the Window both they and pooling (pool.h) slide.
// Read next: nn/convolution.cpp (conv2d), nn/pooling.cpp (max_pool2d).
#pragma once

#include <utility>

#include "../tensor.h"

namespace ember::kernels {

/// The geometry of a sliding window over a 2-D plane.
struct Window {
  int64_t kh, kw;          // kernel
  int64_t sh, sw;          // stride
  int64_t ph, pw;          // zero padding
  int64_t dh = 1, dw = 1;  // dilation
  /// Output size along one axis, or an error naming `op` if the window does not fit.
  static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, const char* op);
};

/// Fails naming `op` unless x is 4-D (N, C, H, W).
void check_4d(const Tensor& x, const char* op);

/// cols[n, (c*kh + i)*kw + j, oy*OW + ox] = x[n, c, oy*sh - ph + i*dh, ox*sw - pw + j*dw] (0 when
/// outside). x: (N, C, H, W) -> cols: (N, C*kh*kw, OH*OW).
Tensor im2col(const Tensor& x, const Window& w);

/// The adjoint of im2col: sums every patch entry back into its pixel.
/// cols: (N, C*kh*kw, OH*OW) -> x: (N, C, H, W) with H, W given.
Tensor col2im(const Tensor& cols, int64_t channels, int64_t height, int64_t width, const Window& w);

/// y (N, O, OH, OW) = x (N, C, H, W) cross-correlated with weight (O, C/groups, kh, kw), plus
/// bias (O) when defined. Shapes are checked by the caller (nn::functional::conv2d). Per sample
/// and group one GEMM, weight (O/G, C/G*kh*kw) @ columns (C/G*kh*kw, OH*OW), with the columns
/// built in a per-thread buffer that stays in cache; samples are spread over threads, so every
/// output has one writer and the same bits at every thread count.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Window& w,
              int64_t groups);

struct Conv2dGrads {
  Tensor input, weight, bias;  // undefined where not asked for
};

/// The gradients of conv2d for its output gradient `grad`: input = col2im(weightᵀ @ grad) per
/// sample; weight = sum over samples of grad @ columnsᵀ, summed within fixed chunks of the batch
/// and then chunk by chunk in order (the chunks depend on the sizes alone, so the result does
/// not depend on the thread count); bias = sum of grad over samples and positions.
Conv2dGrads conv2d_backward(const Tensor& grad, const Tensor& x, const Tensor& weight,
                            const Window& w, int64_t groups, bool need_input, bool need_weight,
                            bool need_bias);

}  // namespace ember::kernels

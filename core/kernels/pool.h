// Max pooling: the maximum of each window and the flat index of its winner, which max_pool2d's
// backward sends the gradient to. Read next: nn/pooling.cpp (the differentiable max_pool2d).
#pragma once

#include <utility>

#include "conv.h"

namespace ember::kernels {

/// Max over each window (padding never wins) and the flat index (y*W + x) of the winner in its
/// plane, as PyTorch's max_pool2d_with_indices. x: (N, C, H, W) -> both (N, C, OH, OW).
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Window& w);

/// max_pool2d's input gradient: dx (N, C, height, width) is zero but where a window's winner
/// was, which receives that window's gradient (a pixel that wins several overlapping windows,
/// their sum, added in output order). grad and indices: (N, C, OH, OW), indices as max_pool2d
/// returned them. One pass per plane, planes spread over threads: the zeroing and the adds
/// stay in the cache, where a scatter_add over the whole batch ran serially after a zero fill
/// and a copy of it.
Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, int64_t height,
                           int64_t width);

}  // namespace ember::kernels

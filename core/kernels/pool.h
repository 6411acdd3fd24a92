// Max pooling: the maximum of each window and the flat index of its winner, which max_pool2d's
// backward scatters the gradient to. Read next: nn/pooling.cpp (the differentiable max_pool2d).
#pragma once

#include <utility>

#include "conv.h"

namespace ember::kernels {

/// Max over each window (padding never wins) and the flat index (y*W + x) of the winner in its
/// plane, as PyTorch's max_pool2d_with_indices. x: (N, C, H, W) -> both (N, C, OH, OW).
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Window& w);

}  // namespace ember::kernels

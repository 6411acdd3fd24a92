// The shape glue the nn::functional topic files share (convolution, pooling, normalization,
// activation, vision): a sliding window as the kernels take it, a per-channel vector shaped to
// broadcast over a feature map. Not part of the public API.
#pragma once

#include "../core/kernels/conv.h"
#include "functional.h"

namespace ember::nn::functional::detail {

/// The window of a convolution or pool in the order kernels::Window holds it.
inline kernels::Window window(Pair kernel, Pair dilation, Pair padding, Pair stride) {
  return {kernel.h, kernel.w, stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w};
}

/// A per-channel vector v: (C) as (1, C, 1, ..., 1), to broadcast against x: (N, C, d1, ...) of
/// the given rank.
inline Tensor per_channel(const Tensor& v, int64_t rank) {
  Shape s(rank, 1);
  s[1] = v.size(0);
  return reshape(v, s);
}

}  // namespace ember::nn::functional::detail

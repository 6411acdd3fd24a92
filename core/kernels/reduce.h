// Reduction kernels: sum, max/min (values and indices along one dim), amax/amin over any set of
// dims, and softmax/log_softmax along a dim. Each output is reduced in fixed blocks combined in
// a fixed order, so results are identical for every thread count.
// One concept at two layers: autograd/reduce.h makes these differentiable ops.
// Read next: autograd/reduce.cpp.
#pragma once

#include <utility>

#include "../tensor.h"

namespace ember::kernels {

/// Which dims a reduction removes, from a dim list (empty = all dims), wrapped and deduplicated.
std::vector<bool> reduced_dims(IntList dims, int64_t rank, std::string_view op);

/// Shape of a reduction's result: reduced dims dropped, or kept as 1 with keepdim.
Shape reduced_shape(IntList sizes, const std::vector<bool>& reduced, bool keepdim);

/// Sum over the marked dims. x: any shape/strides/dtype; float sums accumulate in double.
Tensor sum(const Tensor& x, const std::vector<bool>& reduced, bool keepdim);

/// Max (or min, with take_max = false) over the marked dims; NaN propagates.
Tensor amax(const Tensor& x, const std::vector<bool>& reduced, bool keepdim, bool take_max);

/// Values and int64 indices of the max (or min) along one dim; the first index wins ties.
std::pair<Tensor, Tensor> max_along(const Tensor& x, int64_t dim, bool keepdim, bool take_max);

/// softmax (or log_softmax) along dim, stable: exp(x - max) / sum. x: floating.
Tensor softmax(const Tensor& x, int64_t dim, bool log);

/// softmax's gradient from its output y and the output's gradient g (same shape):
/// dx = y ⊙ (g - Σ_dim g ⊙ y), the sum per row in fixed order (double), one pass and one
/// output where the composite holds two temporaries of y's size.
Tensor softmax_backward(const Tensor& y, const Tensor& g, int64_t dim);

}  // namespace ember::kernels

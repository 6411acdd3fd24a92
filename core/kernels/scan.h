// Kernels that walk each line along one dim in order: the sort permutation, the running sum and
// product, and the running product's exact gradient (zeros included). Every line is independent.
// One concept at two layers: autograd/scan.h makes these differentiable ops.
// Read next: autograd/scan.cpp.
#pragma once

#include "../tensor.h"

namespace ember::kernels {

/// The int64 positions that sort each line of x along dim (ascending, or descending), stable: equal
/// values keep their order. NaN sorts above every number, as in PyTorch.
Tensor sort_indices(const Tensor& x, int64_t dim, bool descending);

/// The running sum (or product) along dim, x's dtype; float32 accumulates in double.
Tensor cumulative(const Tensor& x, int64_t dim, bool product);

/// The gradient of y = cumprod(x) along dim for the output gradient g, exact when x has zeros:
/// before a line's first zero z, dx_i = Σ_{i≤j<z} g_j y_j / x_i; at z, Σ_{j≥z} g_j Π_{k≤j, k≠z}
/// x_k; after z, 0.
Tensor cumprod_backward(const Tensor& x, const Tensor& g, int64_t dim);

}  // namespace ember::kernels

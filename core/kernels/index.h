// Indexing kernels: index_select / index_add along one dim with a 1-D index, and gather /
// scatter_add with an index of the input's rank. Every index is bounds-checked.
// One concept at two layers: the differentiable ops on these are autograd/index.h.
// Read next: autograd/index.cpp.
#pragma once

#include "../tensor.h"

namespace ember::kernels {

/// out = x with dim d replaced by x's entries at `index` (1-D int64).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// out = copy of x; out[..., index[i], ...] += src[..., i, ...] along dim.
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// out[p] = x[p with coordinate dim replaced by index[p]], out shaped like index.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// out = copy of x; out[p with coordinate dim replaced by index[p]] += src[p]; src shaped like
/// index.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// The same, writing instead of adding (a position named twice keeps the last src entry).
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);

}  // namespace ember::kernels

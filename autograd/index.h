// Indexing ops: what embedding, cross-entropy and pooling need, scatter and one_hot. Each pair
// is the other's backward (index_select <-> index_add, gather <-> scatter_add). Formulas:
// index.cpp.
// One concept at two layers: the raw kernels these call are core/kernels/index.h.
#pragma once

#include "../core/tensor.h"

namespace ember {

/// x's entries at `index` (1-D int64) along dim.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// x plus src's slabs added at `index` along dim (out of place).
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// out[i][j] = x[i][index[i][j]] for dim 1 (and likewise for any dim); shaped like index.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// x plus src added at the positions index names along dim (out of place); duplicates add up.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// x with src (or value) written at the positions index names along dim (out of place; a
/// position named twice keeps the last entry written).
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, double value);
/// int64 (..., num_classes) with a 1 at each entry's class; num_classes = -1: the largest + 1.
Tensor one_hot(const Tensor& x, int64_t num_classes = -1);

}  // namespace ember

// Python's indexing, x[1:, None, ..., 0, idx] in PyTorch, spelled as libtorch spells it:
//   using namespace ember::indexing;
//   x.index({Slice(1, None), None, "...", 0, idx});   x.index_put_({Slice(), 0}, 0.5);
// with PyTorch's rules: integers, slices, None and the ellipsis are views (integers remove their
// dim, before any tensor index is applied); int64 (or int32) tensors are advanced indices,
// broadcast together, and the dims they index are replaced by the broadcast shape, in place when
// those dims are adjacent, else in front; a bool mask stands for the positions of its true
// elements over the dims it covers (x[mask] is x indexed by the columns of mask.nonzero()).
// Formulas: indexing.cpp. The entry type is core/tensor_index.h.
#pragma once

#include <vector>

#include "../core/tensor_index.h"

namespace ember {

/// x[indices]: a view when every entry is basic, a copy when any is a tensor; differentiable.
Tensor index(const Tensor& x, const std::vector<indexing::TensorIndex>& indices);
/// x with x[indices] set to values (broadcast to its shape), or increased by them with
/// accumulate (then repeated positions add up); out of place, differentiable in x and values.
/// Without accumulate, a position named twice keeps the last value written.
Tensor index_put(const Tensor& x, const std::vector<indexing::TensorIndex>& indices,
                 const Tensor& values, bool accumulate = false);
/// The elements of x where the bool mask (broadcast with x) is true, as a 1-D tensor.
Tensor masked_select(const Tensor& x, const Tensor& mask);
/// The positions of x's nonzero elements: (count, x.dim()) int64, in row-major order.
Tensor nonzero(const Tensor& x);

}  // namespace ember

// Views (sharing storage with their input) and data movement: reshape, permute, slicing,
// expand, squeeze, cat/stack/split, clone and dtype conversion. Formulas: shape.cpp.
// One concept at two layers: the size and stride arithmetic underneath is core/shape.h.
#pragma once

#include <vector>

#include "../core/tensor.h"

namespace ember {

/// A view with a new shape (one size may be -1); the strides must allow it.
Tensor view(const Tensor& x, const Shape& shape);
/// A view when the strides allow it, otherwise a copy (as torch.reshape).
Tensor reshape(const Tensor& x, const Shape& shape);
/// Reorders the dims: permute(x, {2, 0, 1}).
Tensor permute(const Tensor& x, const Shape& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
/// Transpose of a tensor of at most 2 dims.
Tensor t(const Tensor& x);
/// Elements [start, start + length) of dim.
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
/// Elements start, start + step, ... below end of dim (Python's x[start:end:step]).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
/// Index `index` of dim, removing the dim.
Tensor select(const Tensor& x, int64_t dim, int64_t index);
/// Repeats size-1 dims (and new leading dims) without copying; -1 keeps a size.
Tensor expand(const Tensor& x, const Shape& sizes);
/// expand(x, other's sizes).
Tensor expand_as(const Tensor& x, const Tensor& other);
/// Removes every size-1 dim, or the one given.
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
/// Merges dims start..end into one.
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
/// Splits dim into `sizes`.
Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes);
/// `base` with src written into base[start:end:step] along dim (out of place).
Tensor slice_scatter(const Tensor& base, const Tensor& src, int64_t dim, int64_t start, int64_t end,
                     int64_t step = 1);
/// A copy with its own storage.
Tensor clone(const Tensor& x);
/// Converted to dtype (differentiable between float32 and float64).
Tensor to(const Tensor& x, DType dtype);
/// Joins tensors along an existing dim.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// Joins tensors along a new dim.
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// Pieces of split_size along dim (the last may be smaller), as views.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
/// Pieces of the given sizes along dim (they must add up to its size), as views.
std::vector<Tensor> split(const Tensor& x, const Shape& split_sizes, int64_t dim = 0);
/// `chunks` nearly equal pieces along dim, as views.
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
/// Every index of dim, each with the dim removed (views).
std::vector<Tensor> unbind(const Tensor& x, int64_t dim = 0);

}  // namespace ember

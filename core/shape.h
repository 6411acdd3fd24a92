// Shapes and strides: the arithmetic every view, broadcast and kernel shares. Sizes and strides
// are in elements, outermost dimension first, with no maximum rank.
// One concept at two layers: the differentiable shape ops built on it are autograd/shape.h.
// Read next: storage.h, tensor.h.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

using Shape = std::vector<int64_t>;
using IntList = std::span<const int64_t>;

/// Number of elements of a shape (1 for a scalar, 0 if any size is 0).
int64_t numel_of(IntList sizes);

/// Row-major strides for `sizes`: the last dimension has stride 1.
Shape contiguous_strides(IntList sizes);

/// "[2, 3]" for error messages and printing.
std::string shape_str(IntList sizes);

/// Wraps a possibly negative dim into [0, rank), naming `op` if it is out of range.
int64_t wrap_dim(int64_t dim, int64_t rank, std::string_view op);

/// The broadcast shape of two shapes under NumPy's rules, or an ember::Error naming `op`.
Shape broadcast_shapes(IntList a, IntList b, std::string_view op);

/// True if a tensor of shape `from` broadcasts to shape `to` (to itself unchanged).
bool broadcasts_to(IntList from, IntList to);

/// Strides that read a tensor of (sizes, strides) as if it had shape `target` (0 for broadcast).
Shape broadcast_strides(IntList sizes, IntList strides, IntList target);

/// Strides that read a tensor of (old_sizes, old_strides) as `sizes` without copying, if any
/// exist (view's rule: each run of dims that is contiguous in memory may be regrouped).
std::optional<Shape> view_strides(IntList old_sizes, IntList old_strides, IntList sizes);

/// Resolves a single -1 in a view/reshape shape from the element count, checking the total.
Shape infer_size(IntList shape, int64_t numel, std::string_view op);

}  // namespace ember

// The strided loop under every elementwise kernel: walks N operands that share one (broadcast)
// shape, each with its own strides, and hands the kernel one innermost row at a time. Adjacent
// dims that are contiguous for every operand are merged first, so contiguous tensors become a
// single long row (the fast path) and everything else takes the general strided path.
// Read next: map_zip.h, which instantiates this for unary, binary and ternary ops.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "../parallel.h"
#include "../shape.h"

namespace ember::kernels {

/// Offsets (in elements) of the first element of a row for each operand, and the row's strides.
template <size_t N>
struct Row {
  std::array<int64_t, N> offset;
  std::array<int64_t, N> stride;
  int64_t length;
};

/// A contiguous tensor seen as (outer, n, inner) around dim: line (o, i) holds the n elements
/// o*n*inner + k*inner + i. Softmax's rows and the scans' lines.
struct Lines {
  int64_t outer, n, inner;
};
inline Lines lines_around(IntList sizes, int64_t dim) {
  auto rank = static_cast<int64_t>(sizes.size());
  int64_t n = rank ? sizes[dim] : 1, inner = 1;
  for (int64_t d = dim + 1; d < rank; ++d) inner *= sizes[d];
  return {n * inner != 0 ? numel_of(sizes) / (n * inner) : 0, n, inner};
}

/// Merges dims d and d+1 wherever every operand has stride[d] == stride[d+1] * size[d+1].
/// `strides[k]` are operand k's strides over `sizes` (0 along broadcast dims).
template <size_t N>
void coalesce(Shape& sizes, std::array<Shape, N>& strides) {
  for (size_t d = sizes.size(); d-- > 0;) {  // size-1 dims move nothing: drop them
    if (sizes[d] != 1) continue;
    sizes.erase(sizes.begin() + d);
    for (size_t k = 0; k < N; ++k) strides[k].erase(strides[k].begin() + d);
  }
  if (sizes.empty()) return;
  Shape out_sizes{sizes[0]};
  std::array<Shape, N> out_strides;
  for (size_t k = 0; k < N; ++k) out_strides[k] = {strides[k][0]};
  for (size_t d = 1; d < sizes.size(); ++d) {
    bool mergeable = true;
    for (size_t k = 0; k < N; ++k)
      mergeable = mergeable && out_strides[k].back() == strides[k][d] * sizes[d];
    if (mergeable) {
      out_sizes.back() *= sizes[d];
      for (size_t k = 0; k < N; ++k) out_strides[k].back() = strides[k][d];
    } else {
      out_sizes.push_back(sizes[d]);
      for (size_t k = 0; k < N; ++k) out_strides[k].push_back(strides[k][d]);
    }
  }
  sizes = std::move(out_sizes);
  strides = std::move(out_strides);
}

/// Calls row_fn(Row<N>) for every innermost row of `sizes`, rows split across threads in chunks
/// of at least `grain` elements. Operand offsets start at base[k]. Rows are independent, so any
/// schedule gives one result; pass a grain of kSerial when rows may write the same element.
inline constexpr int64_t kSerial = INT64_MAX;
template <size_t N, typename RowFn>
void for_each_row(Shape sizes, std::array<Shape, N> strides, std::array<int64_t, N> base,
                  RowFn&& row_fn, int64_t grain_elements = kGrainElements) {
  int64_t total = numel_of(sizes);
  if (total == 0) return;
  coalesce(sizes, strides);
  int64_t rank = static_cast<int64_t>(sizes.size());
  if (rank <= 1) {  // one long row: split it into chunks
    std::array<int64_t, N> stride{};
    for (size_t k = 0; k < N; ++k) stride[k] = rank ? strides[k][0] : 0;
    parallel_for(0, total, grain_elements, [&](int64_t lo, int64_t hi) {
      Row<N> row{base, stride, hi - lo};
      for (size_t k = 0; k < N; ++k) row.offset[k] += lo * stride[k];
      row_fn(row);
    });
    return;
  }
  int64_t inner = sizes[rank - 1];
  int64_t rows = total / inner;
  std::array<int64_t, N> inner_stride;
  for (size_t k = 0; k < N; ++k) inner_stride[k] = strides[k][rank - 1];
  int64_t grain = std::max<int64_t>(1, grain_elements / inner);
  parallel_for(0, rows, grain, [&](int64_t lo, int64_t hi) {
    // Unravel the first row index into a multi-index over the outer dims.
    std::vector<int64_t> index(rank - 1);
    Row<N> row{base, inner_stride, inner};
    int64_t rest = lo;
    for (int64_t d = rank - 2; d >= 0; --d) {
      index[d] = rest % sizes[d];
      rest /= sizes[d];
      for (size_t k = 0; k < N; ++k) row.offset[k] += index[d] * strides[k][d];
    }
    for (int64_t r = lo; r < hi; ++r) {
      row_fn(row);
      for (int64_t d = rank - 2; d >= 0; --d) {  // odometer increment
        for (size_t k = 0; k < N; ++k) row.offset[k] += strides[k][d];
        if (++index[d] < sizes[d]) break;
        for (size_t k = 0; k < N; ++k) row.offset[k] -= sizes[d] * strides[k][d];
        index[d] = 0;
      }
    }
  });
}

}  // namespace ember::kernels

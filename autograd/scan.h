// Selection and scans along one dim: sorting (sort, argsort, topk), running sums and products
// (cumsum, cumprod), and the reductions built on them (prod, logsumexp). Formulas: scan.cpp.
// One concept at two layers: the kernels these call are core/kernels/scan.h.
#pragma once

#include <concepts>
#include <optional>
#include <tuple>

#include "../core/tensor.h"

namespace ember {

/// (values, int64 indices) of x sorted along dim, ascending unless descending; always stable
/// (equal values keep their order), NaN last ascending and first descending, as PyTorch's.
/// The values' gradient flows back to the positions they came from.
std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);
/// The indices of sort (int64, not differentiable).
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
/// (values, int64 indices) of the k largest (or smallest) entries along dim, in sorted order
/// whatever `sorted` says (an unsorted order is PyTorch's licence, not its promise).
std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true,
                                bool sorted = true);
/// Running sum along dim, in `dtype` when given (else x's).
Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);
/// Running product along dim; its gradient is exact where x has zeros (second derivatives are
/// not, and refuse such an x).
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);
/// Product of all elements (a 0-dim tensor), or along dim: the last entry of cumprod, so that
/// its gradient is right when x has zeros.
Tensor prod(const Tensor& x, std::optional<DType> dtype = std::nullopt);
Tensor prod(const Tensor& x, int64_t dim, bool keepdim = false,
            std::optional<DType> dtype = std::nullopt);
/// log Σ exp(x) over dims (an empty list means all), computed stably around the maximum.
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);
template <std::integral I>
Tensor logsumexp(const Tensor& x, I dim, bool keepdim = false) {
  return logsumexp(x, Shape{static_cast<int64_t>(dim)}, keepdim);
}

}  // namespace ember

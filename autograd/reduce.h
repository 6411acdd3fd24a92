// Reductions over any set of dims (an empty list means all dims), and softmax/log_softmax.
// Formulas: reduce.cpp. One concept at two layers: the raw kernels these call are
// core/kernels/reduce.h.
#pragma once

#include <concepts>
#include <utility>

#include "../core/tensor.h"

namespace ember {

/// Sum of all elements (a 0-dim tensor), or over `dims`, keeping them as size 1 with keepdim.
/// Bool and integer tensors sum in int64, as in PyTorch.
Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim = false);
/// One dim, as libtorch's x.sum(1): sum(x, {dim}). (A template, so that sum(x, {}) still means
/// every dim rather than dim 0.)
template <std::integral I>
Tensor sum(const Tensor& x, I dim, bool keepdim = false) {
  return sum(x, Shape{static_cast<int64_t>(dim)}, keepdim);
}
template <std::integral I>
Tensor mean(const Tensor& x, I dim, bool keepdim = false) {
  return mean(x, Shape{static_cast<int64_t>(dim)}, keepdim);
}
/// Variance with Bessel's correction by default (correction = 1), as torch.var; of all elements
/// without dims.
Tensor var(const Tensor& x);
Tensor var(const Tensor& x, const Shape& dims, int64_t correction = 1, bool keepdim = false);
/// Standard deviation: sqrt of var, with the same arguments (torch.std). Call it ember::std or
/// x.std(): after `using namespace ember`, a bare std(...) is ambiguous with namespace std.
Tensor std(const Tensor& x);
Tensor std(const Tensor& x, const Shape& dims, int64_t correction = 1, bool keepdim = false);
/// The p-norm of all elements, or over dims (torch.norm / torch.linalg.vector_norm): p = 2 by
/// default, any p > 0, or INFINITY (the largest absolute value).
Tensor norm(const Tensor& x, double p = 2);
Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim = false);
/// Whether every / some element is nonzero, of all elements or along one dim: bool (uint8 for a
/// uint8 tensor, as PyTorch keeps it). all of nothing is true, any of nothing false.
Tensor all(const Tensor& x);
Tensor all(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor any(const Tensor& x);
Tensor any(const Tensor& x, int64_t dim, bool keepdim = false);
/// Max/min of all elements; gradient split evenly among ties.
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
/// Max/min over dims; gradient split evenly among ties (as torch.amax).
Tensor amax(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim = false);
template <std::integral I>
Tensor amax(const Tensor& x, I dim, bool keepdim = false) {
  return amax(x, Shape{static_cast<int64_t>(dim)}, keepdim);
}
template <std::integral I>
Tensor amin(const Tensor& x, I dim, bool keepdim = false) {
  return amin(x, Shape{static_cast<int64_t>(dim)}, keepdim);
}
/// (values, int64 indices) along one dim; the gradient goes to the index found.
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
/// Index of the max/min along dim (int64, not differentiable).
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
/// exp(x) / sum(exp(x)) along dim, computed stably.
Tensor softmax(const Tensor& x, int64_t dim);
/// log(softmax(x)) along dim, computed stably.
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace ember

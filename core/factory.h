// Making tensors: empty, zeros, ones, full, arange, linspace, eye, the random factories, tensors
// from C++ values, and the *_like variants. float32 is the default dtype, as in PyTorch. Each
// takes TensorOptions (options.h), or just a dtype: zeros({2}, kInt64),
// randn({3}, TensorOptions().dtype(kFloat64).requires_grad(true)).
// Read next: tensor.h (the handle these return), random.h (the generator).
#pragma once

#include <concepts>
#include <functional>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include "options.h"
#include "random.h"
#include "tensor.h"

namespace ember {

/// Uninitialised memory; every other factory fills it.
Tensor empty(const Shape& sizes, TensorOptions options = {});
Tensor zeros(const Shape& sizes, TensorOptions options = {});
Tensor ones(const Shape& sizes, TensorOptions options = {});
Tensor full(const Shape& sizes, const Scalar& value, TensorOptions options = {});
/// [start, end) in steps: arange(5) is 0..4 as int64; arange(0, 1, 0.25) is float32.
Tensor arange(int64_t end, TensorOptions options = {});
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
/// `steps` evenly spaced values from start to end inclusive.
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});
/// n x m identity (m = n when omitted).
Tensor eye(int64_t n, int64_t m = -1, TensorOptions options = {});

// Random numbers, the same as PyTorch's for the same seed and generator (random.h): rand,
// randint, randperm and uniform_ bit for bit; randn and normal_ bit for bit in float64 and for
// fewer than 16 elements; a float32 fill of 16 or more goes through PyTorch's vectorised
// log/sin/cos, which round differently in the last bits.
/// Uniform on [0, 1).
Tensor rand(const Shape& sizes, TensorOptions options = {}, Generator* gen = nullptr);
/// Standard normal.
Tensor randn(const Shape& sizes, TensorOptions options = {}, Generator* gen = nullptr);
/// Integers uniform on [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& sizes, TensorOptions options = {},
               Generator* gen = nullptr);
/// A random permutation of 0..n-1 (int64), as torch.randperm.
Tensor randperm(int64_t n, Generator* gen = nullptr);
/// Fills t in place with numbers uniform on [from, to), as Tensor.uniform_.
void uniform_(const Tensor& t, double from, double to, Generator* gen = nullptr);
/// Fills t in place with normal numbers of the given mean and standard deviation, as
/// Tensor.normal_.
void normal_(const Tensor& t, double mean, double std, Generator* gen = nullptr);

/// A 1-D tensor, its dtype libtorch's: float32 if any number is floating (tensor({1.0, 2})),
/// bool if all are bools, else int64 (tensor({1, 2}), tensor({n, -n, 5}) for an int64_t n);
/// pass a dtype for others.
Tensor tensor(std::initializer_list<Scalar> values, TensorOptions options = {});
/// A 2-D tensor from rows of equal length, by the same rule: tensor({{1.5, 2}, {3, 4}}).
Tensor tensor(std::initializer_list<std::initializer_list<Scalar>> rows,
              TensorOptions options = {});
/// A tensor of the given shape holding `values` (row-major), with T's dtype.
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& sizes);
/// t made what the options ask: converted to their dtype (else `fallback`), requiring grad if
/// asked, on the CPU (anything else is an Error naming `op`). The factories' last step.
Tensor with_options(const Tensor& t, const TensorOptions& options, DType fallback, const char* op);

// A list of one integer type (or of bools) picks one of these templates by exact match: they are
// the Scalar forms' shortcuts, and they keep tensor({{1}, {2}}) a 2-D tensor (a Scalar can be
// made from {1}, so the Scalar forms alone would be ambiguous there).
template <std::integral I>
requires(!std::is_same_v<I, bool>) Tensor
    tensor(std::initializer_list<I> values, TensorOptions options = {}) {
  Tensor t = from_vector(std::vector<int64_t>(values.begin(), values.end()),
                         {static_cast<int64_t>(values.size())});
  return with_options(t, options, kInt64, "tensor");
}
template <std::integral I>
requires(!std::is_same_v<I, bool>) Tensor
    tensor(std::initializer_list<std::initializer_list<I>> rows, TensorOptions options = {}) {
  std::vector<int64_t> flat;
  int64_t m = rows.size() ? static_cast<int64_t>(rows.begin()->size()) : 0;
  for (const auto& row : rows) {
    check(static_cast<int64_t>(row.size()) == m, "tensor: rows have different lengths (", m,
          " and ", row.size(), ")");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return with_options(from_vector(flat, {static_cast<int64_t>(rows.size()), m}), options, kInt64,
                      "tensor");
}
/// A tensor over memory the caller owns, as torch::from_blob: no copy; writes go to that memory,
/// which must outlive the tensor (or pass a deleter, called when the last tensor using it goes).
/// Row-major unless strides are given; the options' dtype, float32 by default.
Tensor from_blob(void* data, const Shape& sizes, TensorOptions options = {});
Tensor from_blob(void* data, const Shape& sizes, const Shape& strides, TensorOptions options = {});
Tensor from_blob(void* data, const Shape& sizes, std::function<void(void*)> deleter,
                 TensorOptions options = {});
Tensor from_blob(void* data, const Shape& sizes, const Shape& strides,
                 std::function<void(void*)> deleter, TensorOptions options = {});

// Sampling (sampling.cpp), drawn as PyTorch's CPU kernels draw, so a seed gives PyTorch's samples
// for contiguous tensors; not differentiable.
/// 1 with probability p_k, else 0, elementwise; the result has p's (floating) dtype.
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
/// x's shape and dtype, each element 1 with probability p.
Tensor bernoulli(const Tensor& x, double p, Generator* gen = nullptr);
const Tensor& bernoulli_(const Tensor& x, double p, Generator* gen = nullptr);
const Tensor& bernoulli_(const Tensor& x, const Tensor& p, Generator* gen = nullptr);
/// Fills x with draws from Exp(lambda), as Tensor.exponential_.
const Tensor& exponential_(const Tensor& x, double lambda = 1, Generator* gen = nullptr);
/// num_samples category indices (int64) per row of weights (1-D, or 2-D: one distribution per
/// row; the weights need not sum to 1), with or without replacement, as torch.multinomial.
Tensor multinomial(const Tensor& weights, int64_t num_samples, bool replacement = false,
                   Generator* gen = nullptr);

/// A bool tensor: tensor({true, false}) (a template, so that only a list of bools picks it).
template <std::same_as<bool> B>
Tensor tensor(std::initializer_list<B> values, TensorOptions options = {}) {
  Tensor t = from_vector(std::vector<bool>(values), {static_cast<int64_t>(values.size())});
  return with_options(t, options, kBool, "tensor");
}
/// A 0-dimensional tensor.
Tensor scalar_tensor(const Scalar& value, TensorOptions options = {});

/// t's shape, and t's dtype unless the options set one.
Tensor empty_like(const Tensor& t, TensorOptions options = {});
Tensor zeros_like(const Tensor& t, TensorOptions options = {});
Tensor ones_like(const Tensor& t, TensorOptions options = {});
Tensor full_like(const Tensor& t, const Scalar& value, TensorOptions options = {});
Tensor rand_like(const Tensor& t, TensorOptions options = {});
Tensor randn_like(const Tensor& t, TensorOptions options = {});

}  // namespace ember

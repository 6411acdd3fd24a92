// Making tensors: empty, zeros, ones, full, arange, linspace, eye, the random factories, tensors
// from C++ values, and the *_like variants. float32 is the default dtype, as in PyTorch.
// Read next: tensor.h (the handle these return), random.h (the generator).
#pragma once

#include <initializer_list>
#include <vector>

#include "random.h"
#include "tensor.h"

namespace ember {

/// Uninitialised memory; every other factory fills it.
Tensor empty(const Shape& sizes, DType dtype = kFloat32);
Tensor zeros(const Shape& sizes, DType dtype = kFloat32);
Tensor ones(const Shape& sizes, DType dtype = kFloat32);
Tensor full(const Shape& sizes, double value, DType dtype = kFloat32);
/// [start, end) in steps: arange(5) is 0..4 as int64; arange(0, 1, 0.25) is float32.
Tensor arange(int64_t end, DType dtype = kInt64);
Tensor arange(double start, double end, double step = 1.0, DType dtype = kFloat32);
/// `steps` evenly spaced values from start to end inclusive.
Tensor linspace(double start, double end, int64_t steps, DType dtype = kFloat32);
/// n x m identity (m = n when omitted).
Tensor eye(int64_t n, int64_t m = -1, DType dtype = kFloat32);

// Random numbers, the same as PyTorch's for the same seed and generator (random.h): rand,
// randint, randperm and uniform_ bit for bit; randn and normal_ bit for bit in float64 and for
// fewer than 16 elements; a float32 fill of 16 or more goes through PyTorch's vectorised
// log/sin/cos, which round differently in the last bits.
/// Uniform on [0, 1).
Tensor rand(const Shape& sizes, DType dtype = kFloat32, Generator* gen = nullptr);
/// Standard normal.
Tensor randn(const Shape& sizes, DType dtype = kFloat32, Generator* gen = nullptr);
/// Integers uniform on [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& sizes, DType dtype = kInt64,
               Generator* gen = nullptr);
/// A random permutation of 0..n-1 (int64), as torch.randperm.
Tensor randperm(int64_t n, Generator* gen = nullptr);
/// Fills t in place with numbers uniform on [from, to), as Tensor.uniform_.
void uniform_(const Tensor& t, double from, double to, Generator* gen = nullptr);
/// Fills t in place with normal numbers of the given mean and standard deviation, as
/// Tensor.normal_.
void normal_(const Tensor& t, double mean, double std, Generator* gen = nullptr);

/// A 1-D tensor: tensor({1.0, 2.0}) is float32; pass kFloat64 or kInt64 for others.
Tensor tensor(std::initializer_list<double> values, DType dtype = kFloat32);
/// A 2-D tensor from rows of equal length: tensor({{1, 2}, {3, 4}}).
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, DType dtype = kFloat32);
/// A tensor of the given shape holding `values` (row-major), with T's dtype.
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& sizes);
/// A 0-dimensional tensor.
Tensor scalar_tensor(double value, DType dtype = kFloat32);

Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor rand_like(const Tensor& t);
Tensor randn_like(const Tensor& t);

}  // namespace ember

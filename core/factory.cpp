// Tensor factories; see factory.h.
#include "factory.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/copy.h"
#include "parallel.h"

namespace ember {
namespace {

void check_sizes(const Shape& sizes, DType dtype, std::string_view op) {
  int64_t n = 1;
  for (int64_t s : sizes) {
    if (!(s >= 0)) fail(op, ": negative size in ", shape_str(sizes));
    if (!(s == 0 || n <= std::numeric_limits<int64_t>::max() / 8 / s))
      fail(op, ": shape ", shape_str(sizes), " has too many elements");
    n *= s;
  }
  (void)dtype;
}

// Fills a contiguous tensor element k with value_at(k), in parallel; deterministic.
template <typename F>
void fill_indexed(Tensor& t, F value_at) {
  visit_dtype(t.dtype(), [&]<typename T>() {
    T* p = t.data_ptr<T>();
    parallel_for(0, t.numel(), kGrainElements, [&](int64_t lo, int64_t hi) {
      for (int64_t k = lo; k < hi; ++k) p[k] = static_cast<T>(value_at(k));
    });
  });
}

}  // namespace

Tensor empty(const Shape& sizes, DType dtype) {
  check_sizes(sizes, dtype, "empty");
  auto storage = std::make_shared<Storage>(numel_of(sizes) * element_size(dtype));
  return Tensor(
      std::make_shared<TensorImpl>(std::move(storage), sizes, contiguous_strides(sizes), 0, dtype));
}

Tensor full(const Shape& sizes, double value, DType dtype) {
  Tensor t = empty(sizes, dtype);
  kernels::fill(t, value);
  return t;
}

Tensor zeros(const Shape& sizes, DType dtype) {
  Tensor t = empty(sizes, dtype);
  std::memset(t.raw_data(), 0, t.numel() * element_size(dtype));
  return t;
}

Tensor ones(const Shape& sizes, DType dtype) { return full(sizes, 1.0, dtype); }

Tensor arange(int64_t end, DType dtype) {
  return arange(0.0, static_cast<double>(end), 1.0, dtype);
}

Tensor arange(double start, double end, double step, DType dtype) {
  check(step != 0.0, "arange: step must be nonzero");
  check((end - start) / step >= 0 || start == end, "arange: range [", start, ", ", end,
        ") cannot be reached with step ", step);
  auto n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = empty({std::max<int64_t>(n, 0)}, dtype);
  fill_indexed(t, [&](int64_t k) { return start + static_cast<double>(k) * step; });
  return t;
}

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  check(steps >= 0, "linspace: number of steps must be non-negative, got ", steps);
  Tensor t = empty({steps}, dtype);
  double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
  int64_t half = steps / 2;
  fill_indexed(t, [&](int64_t k) {
    return k < half ? start + step * static_cast<double>(k)
                    : end - step * static_cast<double>(steps - 1 - k);
  });
  return t;
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  if (m < 0) m = n;
  check(n >= 0, "eye: n must be non-negative, got ", n);
  Tensor t = zeros({n, m}, dtype);
  visit_dtype(dtype, [&]<typename T>() {
    for (int64_t i = 0; i < std::min(n, m); ++i) t.data_ptr<T>()[i * m + i] = T(1);
  });
  return t;
}

Tensor rand(const Shape& sizes, DType dtype, Generator* gen) {
  check(is_floating(dtype), "rand: dtype must be floating, got ", dtype);
  Generator& g = gen ? *gen : default_generator();
  Tensor t = empty(sizes, dtype);
  uint64_t first = g.reserve(t.numel());
  fill_indexed(t, [&](int64_t k) { return g.uniform(first + k); });
  if (dtype == kFloat32) {  // rounding can give 1.0f; keep the interval half-open
    float* p = t.data_ptr<float>();
    for (int64_t k = 0; k < t.numel(); ++k) p[k] = std::min(p[k], 0x1.fffffep-1f);
  }
  return t;
}

Tensor randn(const Shape& sizes, DType dtype, Generator* gen) {
  check(is_floating(dtype), "randn: dtype must be floating, got ", dtype);
  Generator& g = gen ? *gen : default_generator();
  Tensor t = empty(sizes, dtype);
  uint64_t first = g.reserve(t.numel());
  fill_indexed(t, [&](int64_t k) { return g.normal(first + k); });
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& sizes, DType dtype, Generator* gen) {
  check(high > low, "randint: expected low < high, got low=", low, " high=", high);
  Generator& g = gen ? *gen : default_generator();
  Tensor t = empty(sizes, dtype);
  uint64_t first = g.reserve(t.numel());
  auto range = static_cast<uint64_t>(high - low);
  fill_indexed(t, [&](int64_t k) { return low + static_cast<int64_t>(g.bits(first + k) % range); });
  return t;
}

Tensor randperm(int64_t n, Generator* gen) {
  check(n >= 0, "randperm: n must be non-negative, got ", n);
  Generator& g = gen ? *gen : default_generator();
  Tensor t = arange(n, kInt64);
  int64_t* p = t.data_ptr<int64_t>();
  uint64_t first = g.reserve(static_cast<uint64_t>(n));
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    auto j = static_cast<int64_t>(g.bits(first + i) % static_cast<uint64_t>(i + 1));
    std::swap(p[i], p[j]);
  }
  return t;
}

Tensor tensor(std::initializer_list<double> values, DType dtype) {
  Tensor t = empty({static_cast<int64_t>(values.size())}, dtype);
  const double* v = values.begin();
  fill_indexed(t, [&](int64_t k) { return v[k]; });
  return t;
}

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, DType dtype) {
  auto n = static_cast<int64_t>(rows.size());
  int64_t m = n ? static_cast<int64_t>(rows.begin()->size()) : 0;
  std::vector<double> flat;
  for (const auto& row : rows) {
    check(static_cast<int64_t>(row.size()) == m, "tensor: rows have different lengths (", m,
          " and ", row.size(), ")");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  Tensor t = empty({n, m}, dtype);
  fill_indexed(t, [&](int64_t k) { return flat[k]; });
  return t;
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& sizes) {
  if (!(numel_of(sizes) == static_cast<int64_t>(values.size())))
    fail("from_vector: ", values.size(), " values do not fill shape ", shape_str(sizes));
  Tensor t = empty(sizes, dtype_of<T>());
  std::copy(values.begin(), values.end(), t.data_ptr<T>());
  return t;
}
template Tensor from_vector(const std::vector<float>&, const Shape&);
template Tensor from_vector(const std::vector<double>&, const Shape&);
template Tensor from_vector(const std::vector<int64_t>&, const Shape&);

Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }

Tensor empty_like(const Tensor& t) { return empty(shape_of(t), t.dtype()); }
Tensor zeros_like(const Tensor& t) { return zeros(shape_of(t), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(shape_of(t), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(shape_of(t), value, t.dtype()); }
Tensor rand_like(const Tensor& t) { return rand(shape_of(t), t.dtype()); }
Tensor randn_like(const Tensor& t) { return randn(shape_of(t), t.dtype()); }

}  // namespace ember

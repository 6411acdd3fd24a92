// Tensor factories; see factory.h.
#include "factory.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <numbers>

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
      for (int64_t k = lo; k < hi; ++k) p[k] = convert<T>(value_at(k));
    });
  });
}

// Memory for `sizes` of `dtype`, uninitialised: what every factory starts from.
Tensor allocate(const Shape& sizes, DType dtype, std::string_view op) {
  check_sizes(sizes, dtype, op);
  auto storage = std::make_shared<Storage>(numel_of(sizes) * element_size(dtype));
  return Tensor(
      std::make_shared<TensorImpl>(std::move(storage), sizes, contiguous_strides(sizes), 0, dtype));
}

// The options' dtype (else `fallback`), once the device is known to be the CPU.
DType resolve(const TensorOptions& options, DType fallback, const char* op) {
  check_cpu(options.device(), op);
  return options.dtype_or(fallback);
}

// The last step of a factory that made t in the resolved dtype: requires_grad if asked.
Tensor finish(Tensor t, const TensorOptions& options) {
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

Tensor filled(const Shape& sizes, const Scalar& value, DType dtype, const char* op) {
  Tensor t = allocate(sizes, dtype, op);
  kernels::fill(t, value);
  return t;
}

}  // namespace

Tensor with_options(const Tensor& t, const TensorOptions& options, DType fallback, const char* op) {
  DType d = resolve(options, fallback, op);
  Tensor out = t;
  if (d != t.dtype()) {
    out = allocate(shape_of(t), d, op);
    kernels::copy(out, t);
  }
  return finish(out, options);
}

Tensor empty(const Shape& sizes, TensorOptions options) {
  return finish(allocate(sizes, resolve(options, kFloat32, "empty"), "empty"), options);
}

Tensor full(const Shape& sizes, const Scalar& value, TensorOptions options) {
  return finish(filled(sizes, value, resolve(options, kFloat32, "full"), "full"), options);
}

Tensor zeros(const Shape& sizes, TensorOptions options) {
  DType d = resolve(options, kFloat32, "zeros");
  Tensor t = allocate(sizes, d, "zeros");
  std::memset(t.raw_data(), 0, t.numel() * element_size(d));
  return finish(t, options);
}

Tensor ones(const Shape& sizes, TensorOptions options) {
  return finish(filled(sizes, 1.0, resolve(options, kFloat32, "ones"), "ones"), options);
}

Tensor arange(int64_t end, TensorOptions options) {
  return arange(0.0, static_cast<double>(end), 1.0, options.dtype(options.dtype_or(kInt64)));
}

Tensor arange(double start, double end, double step, TensorOptions options) {
  DType dtype = resolve(options, kFloat32, "arange");
  check(step != 0.0, "arange: step must be nonzero");
  check((end - start) / step >= 0 || start == end, "arange: range [", start, ", ", end,
        ") cannot be reached with step ", step);
  auto n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = allocate({std::max<int64_t>(n, 0)}, dtype, "arange");
  fill_indexed(t, [&](int64_t k) { return start + static_cast<double>(k) * step; });
  return finish(t, options);
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions options) {
  check(steps >= 0, "linspace: number of steps must be non-negative, got ", steps);
  Tensor t = allocate({steps}, resolve(options, kFloat32, "linspace"), "linspace");
  double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
  int64_t half = steps / 2;
  fill_indexed(t, [&](int64_t k) {
    return k < half ? start + step * static_cast<double>(k)
                    : end - step * static_cast<double>(steps - 1 - k);
  });
  return finish(t, options);
}

Tensor eye(int64_t n, int64_t m, TensorOptions options) {
  if (m < 0) m = n;
  check(n >= 0, "eye: n must be non-negative, got ", n);
  DType dtype = resolve(options, kFloat32, "eye");
  Tensor t = zeros({n, m}, dtype);
  visit_dtype(dtype, [&]<typename T>() {
    for (int64_t i = 0; i < std::min(n, m); ++i) t.data_ptr<T>()[i * m + i] = T(1);
  });
  return finish(t, options);
}

// The random factories follow PyTorch's CPU kernels draw for draw (aten's
// uniform_real_distribution, normal_fill and randperm_cpu), so a seed gives PyTorch's numbers.
namespace {

Generator& generator_or_default(Generator* gen) { return gen ? *gen : default_generator(); }

// One uniform number on [from, to) in T's precision, as PyTorch draws it for a T tensor.
template <typename T>
T draw_uniform(Generator& g, T from, T to) {
  if constexpr (std::is_same_v<T, float>)
    return g.uniform_float(from, to);
  else
    return g.uniform_double(from, to);
}

// Runs fill(pointer, count) on t's elements in memory order: directly when t is contiguous,
// otherwise on a contiguous copy that is then written back.
template <typename T, typename Fill>
void fill_in_order(const Tensor& t, Fill fill) {
  if (t.is_contiguous()) return fill(t.data_ptr<T>(), t.numel());
  Tensor dense = empty(shape_of(t), t.dtype());
  fill(dense.data_ptr<T>(), dense.numel());
  t.copy_(dense);
}

// Box-Muller on 16 uniforms: the first 8 give the radii, the last 8 the angles (normal_fill_16).
template <typename T>
void box_muller_16(T* data, T mean, T std) {
  for (int j = 0; j < 8; ++j) {
    T u1 = 1 - data[j];  // [0, 1) -> (0, 1] for the log
    T u2 = data[j + 8];
    T radius = std::sqrt(-2 * std::log(u1));
    auto theta = static_cast<T>(2.0 * std::numbers::pi * static_cast<double>(u2));
    data[j] = std::fma(radius * std::cos(theta), std, mean);  // fused, as in PyTorch's build
    data[j + 8] = std::fma(radius * std::sin(theta), std, mean);
  }
}

}  // namespace

void uniform_(const Tensor& t, double from, double to, Generator* gen) {
  check(is_floating(t.dtype()), "uniform_: dtype must be floating, got ", t.dtype());
  check(from <= to, "uniform_: expected from <= to, got from=", from, " to=", to);
  Generator& g = generator_or_default(gen);
  std::lock_guard lock(g.mutex());
  visit_floating(t.dtype(), "uniform_", [&]<typename T>() {
    fill_in_order<T>(t, [&](T* p, int64_t n) {
      for (int64_t i = 0; i < n; ++i)
        p[i] = draw_uniform<T>(g, static_cast<T>(from), static_cast<T>(to));
    });
  });
}

void normal_(const Tensor& t, double mean, double std, Generator* gen) {
  check(is_floating(t.dtype()), "normal_: dtype must be floating, got ", t.dtype());
  check(std >= 0, "normal_: expected std >= 0, got ", std);
  Generator& g = generator_or_default(gen);
  std::lock_guard lock(g.mutex());
  visit_floating(t.dtype(), "normal_", [&]<typename T>() {
    int64_t n = t.numel();
    if (n >= 16 && t.is_contiguous()) {  // uniforms first, then Box-Muller 16 at a time
      T* p = t.data_ptr<T>();
      auto uniform01 = [&] { return draw_uniform<T>(g, 0, 1); };
      for (int64_t i = 0; i < n; ++i) p[i] = uniform01();
      for (int64_t i = 0; i + 16 <= n; i += 16)
        box_muller_16<T>(p + i, static_cast<T>(mean), static_cast<T>(std));
      if (n % 16 != 0) {  // the last 16 are drawn again and transformed together
        T* tail = p + n - 16;
        for (int i = 0; i < 16; ++i) tail[i] = uniform01();
        box_muller_16<T>(tail, static_cast<T>(mean), static_cast<T>(std));
      }
      return;
    }
    fill_in_order<T>(t, [&](T* p, int64_t count) {
      for (int64_t i = 0; i < count; ++i) p[i] = static_cast<T>(std::fma(g.normal(), std, mean));
    });
  });
}

Tensor rand(const Shape& sizes, TensorOptions options, Generator* gen) {
  DType dtype = resolve(options, kFloat32, "rand");
  check(is_floating(dtype), "rand: dtype must be floating, got ", dtype);
  Tensor t = allocate(sizes, dtype, "rand");
  uniform_(t, 0.0, 1.0, gen);
  return finish(t, options);
}

Tensor randn(const Shape& sizes, TensorOptions options, Generator* gen) {
  DType dtype = resolve(options, kFloat32, "randn");
  check(is_floating(dtype), "randn: dtype must be floating, got ", dtype);
  Tensor t = allocate(sizes, dtype, "randn");
  normal_(t, 0.0, 1.0, gen);
  return finish(t, options);
}

Tensor randint(int64_t low, int64_t high, const Shape& sizes, TensorOptions options,
               Generator* gen) {
  DType dtype = resolve(options, kInt64, "randint");
  check(high > low, "randint: expected low < high, got low=", low, " high=", high);
  Generator& g = generator_or_default(gen);
  std::lock_guard lock(g.mutex());
  Tensor t = empty(sizes, dtype);
  auto range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  visit_dtype(dtype, [&]<typename T>() {
    T* p = t.data_ptr<T>();
    for (int64_t k = 0; k < t.numel(); ++k) {
      uint64_t bits = range >= (uint64_t{1} << 32) ? g.random64() : g.random();
      p[k] = static_cast<T>(low + static_cast<int64_t>(bits % range));
    }
  });
  return finish(t, options);
}

Tensor randperm(int64_t n, Generator* gen) {
  check(n >= 0, "randperm: n must be non-negative, got ", n);
  Generator& g = generator_or_default(gen);
  std::lock_guard lock(g.mutex());
  Tensor t = arange(n, kInt64);
  int64_t* p = t.data_ptr<int64_t>();
  for (int64_t i = 0; i + 1 < n; ++i) {  // swaps position i with one of i..n-1
    auto z = static_cast<int64_t>(g.random() % static_cast<uint64_t>(n - i));
    std::swap(p[i], p[i + z]);
  }
  return t;
}

namespace {

// libtorch's rule for a brace list of numbers: float32 if any is floating, bool if all are bools,
// else int64; each value converted to the options' dtype if they set one.
Tensor from_scalars(const std::vector<Scalar>& values, const Shape& sizes, TensorOptions options) {
  bool floating = false, all_bool = !values.empty();
  for (const Scalar& v : values) {
    floating = floating || v.is_floating_point();
    all_bool = all_bool && v.is_boolean();
  }
  DType inferred = floating ? kFloat32 : all_bool ? kBool : kInt64;
  Tensor t = allocate(sizes, resolve(options, inferred, "tensor"), "tensor");
  visit_dtype(t.dtype(), [&]<typename T>() {
    T* p = t.data_ptr<T>();
    for (size_t k = 0; k < values.size(); ++k) p[k] = values[k].to<T>();
  });
  return finish(t, options);
}

}  // namespace

Tensor tensor(std::initializer_list<Scalar> values, TensorOptions options) {
  return from_scalars(values, {static_cast<int64_t>(values.size())}, options);
}

Tensor tensor(std::initializer_list<std::initializer_list<Scalar>> rows, TensorOptions options) {
  auto n = static_cast<int64_t>(rows.size());
  int64_t m = n ? static_cast<int64_t>(rows.begin()->size()) : 0;
  std::vector<Scalar> flat;
  for (const auto& row : rows) {
    check(static_cast<int64_t>(row.size()) == m, "tensor: rows have different lengths (", m,
          " and ", row.size(), ")");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return from_scalars(flat, {n, m}, options);
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& sizes) {
  if (!(numel_of(sizes) == static_cast<int64_t>(values.size())))
    fail("from_vector: ", values.size(), " values do not fill shape ", shape_str(sizes));
  Tensor t = allocate(sizes, dtype_of<T>(), "from_vector");
  std::copy(values.begin(), values.end(), t.data_ptr<T>());
  return t;
}
template Tensor from_vector(const std::vector<float>&, const Shape&);
template Tensor from_vector(const std::vector<double>&, const Shape&);
template Tensor from_vector(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector(const std::vector<uint8_t>&, const Shape&);
template Tensor from_vector(const std::vector<bool>&, const Shape&);

Tensor from_blob(void* data, const Shape& sizes, const Shape& strides,
                 std::function<void(void*)> deleter, TensorOptions options) {
  DType dtype = resolve(options, kFloat32, "from_blob");
  check_sizes(sizes, dtype, "from_blob");
  check(strides.size() == sizes.size(), "from_blob: ", sizes.size(), " sizes but ", strides.size(),
        " strides");
  int64_t last = 0;  // the offset of the last element, in elements
  for (size_t d = 0; d < sizes.size(); ++d) {
    check(strides[d] >= 0, "from_blob: negative stride ", strides[d], " in ", shape_str(strides));
    if (sizes[d] > 0) last += (sizes[d] - 1) * strides[d];
  }
  int64_t n = numel_of(sizes);
  check(data != nullptr || n == 0, "from_blob: null data for ", n, " elements");
  check(reinterpret_cast<uintptr_t>(data) % element_size(dtype) == 0, "from_blob: data at ", data,
        " is not aligned to its ", element_size(dtype), "-byte ", dtype, " elements");
  size_t nbytes = n == 0 ? 0 : static_cast<size_t>(last + 1) * element_size(dtype);
  auto storage = std::make_shared<Storage>(data, nbytes, std::move(deleter));
  Tensor t(std::make_shared<TensorImpl>(std::move(storage), sizes, strides, 0, dtype));
  return finish(t, options);
}

Tensor from_blob(void* data, const Shape& sizes, TensorOptions options) {
  return from_blob(data, sizes, contiguous_strides(sizes), nullptr, options);
}

Tensor from_blob(void* data, const Shape& sizes, const Shape& strides, TensorOptions options) {
  return from_blob(data, sizes, strides, nullptr, options);
}

Tensor from_blob(void* data, const Shape& sizes, std::function<void(void*)> deleter,
                 TensorOptions options) {
  return from_blob(data, sizes, contiguous_strides(sizes), std::move(deleter), options);
}

Tensor scalar_tensor(const Scalar& value, TensorOptions options) {
  return full({}, value, options);
}

// The options with t's dtype where they set none.
static TensorOptions like(const Tensor& t, const TensorOptions& o) {
  return o.dtype(o.dtype_or(t.dtype()));
}
Tensor empty_like(const Tensor& t, TensorOptions o) { return empty(shape_of(t), like(t, o)); }
Tensor zeros_like(const Tensor& t, TensorOptions o) { return zeros(shape_of(t), like(t, o)); }
Tensor ones_like(const Tensor& t, TensorOptions o) { return ones(shape_of(t), like(t, o)); }
Tensor full_like(const Tensor& t, const Scalar& value, TensorOptions o) {
  return full(shape_of(t), value, like(t, o));
}
Tensor rand_like(const Tensor& t, TensorOptions o) { return rand(shape_of(t), like(t, o)); }
Tensor randn_like(const Tensor& t, TensorOptions o) { return randn(shape_of(t), like(t, o)); }

}  // namespace ember

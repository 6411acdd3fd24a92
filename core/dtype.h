// DType, the three element types a tensor can hold, and visit_dtype: the one switch on dtype in
// ember. Kernels are templates on the scalar type; visit_dtype picks the instantiation once per op.
// Read next: shape.h, storage.h.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

#include "error.h"

namespace ember {

enum class DType : uint8_t { Float32, Float64, Int64 };

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kDouble = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kLong = DType::Int64;

inline constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::Int64:
      return "int64";
  }
  return "?";
}

inline std::ostream& operator<<(std::ostream& out, DType dtype) { return out << dtype_name(dtype); }

inline constexpr size_t element_size(DType dtype) { return dtype == DType::Float32 ? 4 : 8; }

inline constexpr bool is_floating(DType dtype) { return dtype != DType::Int64; }

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::Float32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::Float64;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::Int64;
}

/// Calls fn.template operator()<T>() with T the C++ type of `dtype`:
///   visit_dtype(x.dtype(), [&]<typename T>() { fill(x.data_ptr<T>(), ...); });
template <typename Fn>
decltype(auto) visit_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32:
      return fn.template operator()<float>();
    case DType::Float64:
      return fn.template operator()<double>();
    case DType::Int64:
      return fn.template operator()<int64_t>();
  }
  fail("visit_dtype: unknown dtype ", static_cast<int>(dtype));
}

/// The same, for ops defined only on floating types; `op` names the op in the error.
template <typename Fn>
decltype(auto) visit_floating(DType dtype, std::string_view op, Fn&& fn) {
  check(is_floating(dtype), op, ": expected a floating tensor (float32 or float64), got ", dtype);
  if (dtype == DType::Float32) return fn.template operator()<float>();
  return fn.template operator()<double>();
}

}  // namespace ember

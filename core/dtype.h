// DType, the element types a tensor can hold, and visit_dtype: the one switch on dtype in ember.
// Kernels are templates on the scalar type; visit_dtype picks the instantiation once per op.
// Which dtype an op between two dtypes computes in is promotion.h's table.
// Read next: promotion.h, shape.h, storage.h.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>
#include <type_traits>
#include <utility>

#include "error.h"

namespace ember {

// The order is the serialised one (checkpoints store dtype names, not these numbers, but keep it).
enum class DType : uint8_t { Float32, Float64, Int64, Bool, UInt8, Int32 };

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kDouble = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kLong = DType::Int64;
inline constexpr DType kInt32 = DType::Int32;
inline constexpr DType kInt = DType::Int32;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kByte = DType::UInt8;
inline constexpr DType kBool = DType::Bool;

inline constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::Int64:
      return "int64";
    case DType::Bool:
      return "bool";
    case DType::UInt8:
      return "uint8";
    case DType::Int32:
      return "int32";
  }
  return "?";
}

inline std::ostream& operator<<(std::ostream& out, DType dtype) { return out << dtype_name(dtype); }

inline constexpr size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::Bool:
    case DType::UInt8:
      return 1;
    case DType::Float32:
    case DType::Int32:
      return 4;
    case DType::Float64:
    case DType::Int64:
      return 8;
  }
  return 0;
}

inline constexpr bool is_floating(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Float64;
}

/// Integral types; bool counts only when include_bool, as c10::isIntegralType.
inline constexpr bool is_integral(DType dtype, bool include_bool) {
  return dtype == DType::Int64 || dtype == DType::Int32 || dtype == DType::UInt8 ||
         (include_bool && dtype == DType::Bool);
}

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
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::Int32;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::UInt8;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::Bool;
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
    case DType::Bool:
      return fn.template operator()<bool>();
    case DType::UInt8:
      return fn.template operator()<uint8_t>();
    case DType::Int32:
      return fn.template operator()<int32_t>();
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

/// The same, for ops defined on numbers but not on bool (neg, sub, sort's keys are fine on bool).
template <typename Fn>
decltype(auto) visit_numeric(DType dtype, std::string_view op, Fn&& fn) {
  check(dtype != DType::Bool, op, ": not defined for bool tensors");
  return visit_dtype(dtype, std::forward<Fn>(fn));
}

/// S converted to D as a tensor copy converts: numbers to bool are "!= 0"; a floating value to an
/// integral type truncates toward zero, and one that is NaN or out of int64's range becomes 0
/// (C++ leaves that undefined; PyTorch leaves it unspecified); int64 to a narrower integer wraps.
template <typename D, typename S>
constexpr D convert(S v) {
  if constexpr (std::is_same_v<D, bool>) {
    return v != S(0);
  } else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
    if (!(v > -9.2233720368547758e18 && v < 9.2233720368547758e18)) return D(0);
    return static_cast<D>(static_cast<int64_t>(v));
  } else {
    return static_cast<D>(v);
  }
}

}  // namespace ember

// Scalar, a number that remembers whether it was written as a bool, an integer or a floating
// value, as c10::Scalar: `x + 1` keeps an int64 tensor int64, `x + 0.5` makes it float32, the
// way PyTorch promotes (promotion.h). Every op that takes a plain number takes a Scalar.
// Read next: promotion.h.
#pragma once

#include <concepts>
#include <cstdint>

#include "dtype.h"

namespace ember {

class Scalar {
 public:
  enum class Kind : uint8_t { Bool, Integral, Floating };

  Scalar(bool v) : kind_(Kind::Bool), i_(v), d_(v) {}  // NOLINT: implicit, as c10::Scalar
  template <std::integral I>
  requires(!std::same_as<I, bool>) Scalar(I v)
      : kind_(Kind::Integral), i_(static_cast<int64_t>(v)), d_(static_cast<double>(v)) {}
  template <std::floating_point F>
  Scalar(F v) : kind_(Kind::Floating), i_(0), d_(static_cast<double>(v)) {}

  Kind kind() const { return kind_; }
  bool is_floating_point() const { return kind_ == Kind::Floating; }
  bool is_integral(bool include_bool) const {
    return kind_ == Kind::Integral || (include_bool && kind_ == Kind::Bool);
  }
  bool is_boolean() const { return kind_ == Kind::Bool; }

  double to_double() const { return d_; }
  /// The value as T: integers exactly (an int64 beyond 2^53 too), floating values as convert().
  template <typename T>
  T to() const {
    if (kind_ == Kind::Floating) return convert<T>(d_);
    if constexpr (std::is_floating_point_v<T>) return static_cast<T>(d_);
    return convert<T>(i_);
  }

  /// The dtype a tensor made from this number has: bool, int64, or the default float32, as
  /// torch.tensor(1), torch.tensor(True), torch.tensor(0.5).
  DType dtype() const {
    return kind_ == Kind::Bool ? kBool : kind_ == Kind::Integral ? kInt64 : kFloat32;
  }

 private:
  Kind kind_;
  int64_t i_;
  double d_;
};

}  // namespace ember

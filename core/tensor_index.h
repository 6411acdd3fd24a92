// One entry of Python's x[...] in C++, as libtorch spells it (torch::indexing): an integer, a
// Slice(start, stop, step), None (a new dim of size 1), "..." or Ellipsis (as many whole dims as
// the other entries leave), or an int64 tensor of positions. x.index({...}) and
// x.index_put_({...}, v) take a list of them; the rules are autograd/indexing.h's.
// Read next: autograd/indexing.h.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <variant>

#include "tensor.h"

namespace ember::indexing {

/// As an entry, a new dim of size 1 (Python's None); as a Slice bound, no bound.
inline constexpr std::nullopt_t None = std::nullopt;

struct EllipsisIndexType {};
inline constexpr EllipsisIndexType Ellipsis{};

/// start:stop:step, as Python's slice; a missing start is 0, a missing stop the end of the dim,
/// a missing step 1. Negative bounds count from the end.
class Slice {
 public:
  Slice(std::optional<int64_t> start = None, std::optional<int64_t> stop = None,
        std::optional<int64_t> step = None)
      : start_(start.value_or(0)), stop_(stop.value_or(INT64_MAX)), step_(step.value_or(1)) {}
  int64_t start() const { return start_; }
  int64_t stop() const { return stop_; }
  int64_t step() const { return step_; }

 private:
  int64_t start_, stop_, step_;
};

class TensorIndex {
 public:
  TensorIndex(std::nullopt_t) : value_(std::monostate{}) {}
  TensorIndex(EllipsisIndexType) : value_(EllipsisIndexType{}) {}
  /// "..." (any other string is an Error).
  TensorIndex(const char* text);
  template <std::integral I>
  requires(!std::is_same_v<I, bool>) TensorIndex(I integer)
      : value_(static_cast<int64_t>(integer)) {}
  TensorIndex(Slice slice) : value_(slice) {}
  TensorIndex(Tensor tensor) : value_(std::move(tensor)) {}

  bool is_none() const { return std::holds_alternative<std::monostate>(value_); }
  bool is_ellipsis() const { return std::holds_alternative<EllipsisIndexType>(value_); }
  bool is_integer() const { return std::holds_alternative<int64_t>(value_); }
  bool is_slice() const { return std::holds_alternative<Slice>(value_); }
  bool is_tensor() const { return std::holds_alternative<Tensor>(value_); }
  int64_t integer() const { return std::get<int64_t>(value_); }
  const Slice& slice() const { return std::get<Slice>(value_); }
  const Tensor& tensor() const { return std::get<Tensor>(value_); }

 private:
  std::variant<std::monostate, EllipsisIndexType, int64_t, Slice, Tensor> value_;
};

}  // namespace ember::indexing

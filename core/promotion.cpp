// The promotion table and PyTorch's result_type; see promotion.h.
#include "promotion.h"

#include <array>
#include <optional>

namespace ember {

namespace {

// kPromote[a][b] in DType's enum order: Float32, Float64, Int64, Bool, UInt8, Int32.
constexpr DType f4 = kFloat32, f8 = kFloat64, i8 = kInt64, b1 = kBool, u1 = kUInt8, i4 = kInt32;
constexpr std::array<std::array<DType, 6>, 6> kPromote{{
    //       f4  f8  i8  b1  u1  i4
    /* f4 */ {f4, f8, f4, f4, f4, f4},
    /* f8 */ {f8, f8, f8, f8, f8, f8},
    /* i8 */ {f4, f8, i8, i8, i8, i8},
    /* b1 */ {f4, f8, i8, b1, u1, i4},
    /* u1 */ {f4, f8, i8, u1, u1, i4},
    /* i4 */ {f4, f8, i8, i4, i4, i4},
}};

int category(DType d) { return d == kBool ? 0 : is_floating(d) ? 2 : 1; }

// PyTorch's ResultTypeState: dimensioned tensors, 0-dim tensors and plain numbers each promote
// among themselves; then a later group only counts when its category is higher.
struct State {
  std::optional<DType> dim, zero, wrapped;

  static void update(std::optional<DType>& slot, DType d) {
    slot = slot ? promote_types(*slot, d) : d;
  }
  void add(const Tensor& t) { update(t.dim() > 0 ? dim : zero, t.dtype()); }
  void add(const Scalar& v) { update(wrapped, v.dtype()); }

  static std::optional<DType> combine(std::optional<DType> higher, std::optional<DType> lower) {
    if (!higher) return lower;
    if (!lower) return higher;
    if (is_floating(*higher)) return higher;
    if (*higher == kBool || is_floating(*lower)) return promote_types(*higher, *lower);
    return higher;
  }
  DType result() const {
    auto r = combine(combine(dim, zero), wrapped);
    check(r.has_value(), "result_type: expected at least one operand");
    return *r;
  }
};

}  // namespace

DType promote_types(DType a, DType b) {
  return kPromote[static_cast<size_t>(a)][static_cast<size_t>(b)];
}

DType result_type(const std::vector<Tensor>& tensors, const std::vector<Scalar>& scalars) {
  State s;
  for (const Tensor& t : tensors) s.add(t);
  for (const Scalar& v : scalars) s.add(v);
  return s.result();
}

// The two-operand forms every binary op calls: no vectors, no reference counts.
DType result_type(const Tensor& a, const Tensor& b) {
  if (a.dtype() == b.dtype()) return a.dtype();
  State s;
  s.add(a);
  s.add(b);
  return s.result();
}

DType result_type(const Tensor& a, const Scalar& b) {
  State s;
  s.add(a);
  s.add(b);
  return s.result();
}

bool can_cast(DType from, DType to) { return category(from) <= category(to); }

}  // namespace ember

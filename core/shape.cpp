// Shape arithmetic; see shape.h.
#include "shape.h"

#include <sstream>

#include "error.h"

namespace ember {

int64_t numel_of(IntList sizes) {
  for (int64_t s : sizes)
    if (s == 0) return 0;  // before multiplying: huge dims beside a 0 must not overflow
  int64_t n = 1;
  for (int64_t s : sizes)
    if (__builtin_mul_overflow(n, s, &n))
      fail("shape ", shape_str(sizes), " has too many elements");
  return n;
}

Shape contiguous_strides(IntList sizes) {
  Shape strides(sizes.size());
  int64_t stride = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = stride;
    // Only a zero-size tensor can have dims whose product overflows; its strides are moot.
    if (__builtin_mul_overflow(stride, std::max<int64_t>(sizes[i], 1), &stride)) stride = INT64_MAX;
  }
  return strides;
}

std::string shape_str(IntList sizes) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << ']';
  return out.str();
}

int64_t wrap_dim(int64_t dim, int64_t rank, std::string_view op) {
  int64_t r = std::max<int64_t>(rank, 1);  // a scalar accepts dim 0 and -1, as in PyTorch
  check(dim >= -r && dim < r, op, ": dim ", dim, " is out of range for a tensor of rank ", rank,
        " (expected in [", -r, ", ", r - 1, "])");
  return dim < 0 ? dim + r : dim;
}

Shape broadcast_shapes(IntList a, IntList b, std::string_view op) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t sa = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t sb = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (!(sa == sb || sa == 1 || sb == 1))
      fail(op, ": shapes ", shape_str(a), " and ", shape_str(b), " cannot be broadcast (dim ", i,
           ": ", sa, " vs ", sb, ")");
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

bool broadcasts_to(IntList from, IntList to) {
  if (from.size() > to.size()) return false;
  size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[lead + i]) return false;
  return true;
}

Shape broadcast_strides(IntList sizes, IntList strides, IntList target) {
  Shape out(target.size(), 0);
  size_t lead = target.size() - sizes.size();
  for (size_t i = 0; i < sizes.size(); ++i)
    out[lead + i] = sizes[i] == 1 && target[lead + i] != 1 ? 0 : strides[i];
  return out;
}

Shape infer_size(IntList shape, int64_t numel, std::string_view op) {
  Shape out(shape.begin(), shape.end());
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (!(infer < 0)) fail(op, ": only one dimension can be -1, got ", shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      if (!(out[i] >= 0)) fail(op, ": invalid size ", out[i], " in ", shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    if (!(known != 0 && numel % known == 0))
      fail(op, ": shape ", shape_str(shape), " is invalid for input of size ", numel);
    out[infer] = numel / known;
  }
  if (numel_of(out) != numel)
    fail(op, ": shape ", shape_str(shape), " is invalid for input of size ", numel);
  return out;
}

// Walks both shapes from the back, matching chunks of dims that are contiguous in the input.
std::optional<Shape> view_strides(IntList old_sizes, IntList old_strides, IntList sizes) {
  if (old_sizes.empty() || numel_of(old_sizes) == 0) return contiguous_strides(sizes);
  Shape strides(sizes.size());
  int64_t view_d = static_cast<int64_t>(sizes.size()) - 1;
  int64_t chunk_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_sizes[d];
    bool chunk_ends =
        d == 0 || (old_sizes[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || sizes[view_d] == 1)) {
      strides[view_d] = view_numel * chunk_stride;
      view_numel *= sizes[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_stride = old_strides[d - 1];
      tensor_numel = view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

}  // namespace ember

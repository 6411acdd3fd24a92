// Copies that move elements, each a composite (no backward code of its own): repeat is an
// expand of x with a size-1 dim before each of its dims, flip an index_select with the indices
// reversed, roll two narrows joined the other way round, tril/triu a where with a triangle mask,
// diagonal an index_select of the flattened matrix.
// Read next: index.cpp.
#include "rearrange.h"

#include <algorithm>
#include <set>
#include <vector>

#include "../core/profiler.h"
#include "ops.h"

namespace ember {

// x (s0, s1) seen as (1, s0, 1, s1), expanded to (r0, s0, r1, s1), flattened to (r0 s0, r1 s1)
Tensor repeat(const Tensor& x, const Shape& repeats) {
  profiler::Scope scope("repeat");
  auto rank = static_cast<int64_t>(repeats.size());
  if (rank < x.dim())
    fail("repeat: ", rank, " repeats ", shape_str(repeats), " for a tensor of rank ", x.dim(), " (",
         shape_str(x.sizes()), "); give one per dim at least");
  Shape padded(rank - x.dim(), 1), interleaved, expanded, result;
  padded.insert(padded.end(), x.sizes().begin(), x.sizes().end());
  for (int64_t k = 0; k < rank; ++k) {
    check(repeats[k] >= 0, "repeat: repeats ", shape_str(repeats), " must not be negative");
    interleaved.insert(interleaved.end(), {1, padded[k]});
    expanded.insert(expanded.end(), {repeats[k], padded[k]});
    result.push_back(repeats[k] * padded[k]);
  }
  if (numel_of(result) == 0) return zeros(result, x.dtype());
  return reshape(expand(reshape(x, interleaved), expanded), result);
}

// y[..., i, ...] = x[..., n-1-i, ...] along each dim listed
Tensor flip(const Tensor& x, const Shape& dims) {
  profiler::Scope scope("flip");
  std::set<int64_t> seen;
  Tensor y = x;  // each index_select copies; no copy before them
  for (int64_t dim : dims) {
    int64_t d = wrap_dim(dim, x.dim(), "flip");
    if (!seen.insert(d).second) fail("flip: dim ", dim, " appears twice in ", shape_str(dims));
    std::vector<int64_t> reversed(x.size(d));
    for (size_t i = 0; i < reversed.size(); ++i) reversed[i] = x.size(d) - 1 - int64_t(i);
    y = index_select(y, d, from_vector(reversed, {x.size(d)}));
  }
  return y.is_same(x) ? clone(x) : y;
}

// y[i] = x[(i - shift) mod n] along each dim: x's last `shift` entries, then its first n - shift
Tensor roll(const Tensor& x, const Shape& shifts, const Shape& dims) {
  profiler::Scope scope("roll");
  if (dims.empty()) {
    if (shifts.size() != 1)
      fail("roll: ", shifts.size(), " shifts ", shape_str(shifts),
           " without dims; give one shift to roll the flattened tensor, or a dim per shift");
    return reshape(roll(reshape(x, {-1}), shifts, {0}), shape_of(x));
  }
  if (shifts.size() != dims.size())
    fail("roll: ", shifts.size(), " shifts ", shape_str(shifts), " for ", dims.size(), " dims ",
         shape_str(dims), "; give one shift per dim");
  Tensor y = x;
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], x.dim(), "roll"), n = x.size(d);
    int64_t s = n ? ((shifts[i] % n) + n) % n : 0;
    if (s == 0) continue;
    y = cat({narrow(y, d, n - s, s), narrow(y, d, 0, n - s)}, d);
  }
  return y.is_same(x) ? clone(x) : y;
}

Tensor roll(const Tensor& x, int64_t shift, std::optional<int64_t> dim) {  // (composite)
  return dim ? roll(x, Shape{shift}, Shape{*dim}) : roll(x, Shape{shift}, Shape{});
}

namespace {

// 1 where column - row <= diagonal (lower) or >= diagonal (upper), over the last two dims of x.
Tensor triangle(const char* op, const Tensor& x, int64_t diagonal, bool lower) {
  if (x.dim() < 2) fail(op, ": expected a tensor of at least 2 dims, got ", shape_str(x.sizes()));
  Tensor rows = reshape(arange(x.size(-2)), {-1, 1}), cols = reshape(arange(x.size(-1)), {1, -1});
  Tensor offset = cols - rows;
  return lower ? le(offset, diagonal) : ge(offset, diagonal);
}

}  // namespace

// y = x where j - i <= diagonal, else 0
Tensor tril(const Tensor& x, int64_t diagonal) {
  profiler::Scope scope("tril");
  return where(triangle("tril", x, diagonal, /*lower=*/true), x, 0.0);
}

// y = x where j - i >= diagonal, else 0
Tensor triu(const Tensor& x, int64_t diagonal) {
  profiler::Scope scope("triu");
  return where(triangle("triu", x, diagonal, /*lower=*/false), x, 0.0);
}

// y[..., i] = x[..., i, i + offset] over dims dim1, dim2: those two dims moved last and
// flattened, then index_select of the diagonal's positions
Tensor diagonal(const Tensor& x, int64_t offset, int64_t dim1, int64_t dim2) {
  profiler::Scope scope("diagonal");
  int64_t d1 = wrap_dim(dim1, x.dim(), "diagonal"), d2 = wrap_dim(dim2, x.dim(), "diagonal");
  check(d1 != d2, "diagonal: dim1 and dim2 are both dim ", d1, " of ", shape_str(x.sizes()));
  Shape order, sizes;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != d1 && d != d2) {
      order.push_back(d);
      sizes.push_back(x.size(d));
    }
  int64_t rows = x.size(d1), cols = x.size(d2);
  std::vector<int64_t> positions;
  for (int64_t i = std::max<int64_t>(0, -offset); i < rows && i + offset < cols; ++i)
    positions.push_back(i * cols + i + offset);
  order.insert(order.end(), {d1, d2});
  sizes.push_back(rows * cols);
  Tensor flat = reshape(permute(x, order), sizes);
  return index_select(flat, -1, from_vector(positions, {static_cast<int64_t>(positions.size())}));
}

}  // namespace ember

// Copies that move elements: tiling (repeat), reversing (flip), cyclic shifts (roll) and the
// triangles and the diagonal of a matrix (tril, triu, diagonal). Each is a composite of
// index_select, narrow, cat, expand and where, so each gradient is theirs. Formulas: rearrange.cpp.
#pragma once

#include <optional>

#include "../core/tensor.h"

namespace ember {

/// x tiled: repeats[k] copies along dim k, with leading dims added when repeats has more
/// entries than x has dims (torch.Tensor.repeat; numpy calls it tile).
Tensor repeat(const Tensor& x, const Shape& repeats);
/// x with the order of each dim in dims reversed (a copy).
Tensor flip(const Tensor& x, const Shape& dims);
/// x shifted cyclically by shifts[i] along dims[i]; with no dims, x flattened is shifted and
/// reshaped back. Entries pushed past the end come round to the start.
Tensor roll(const Tensor& x, const Shape& shifts, const Shape& dims = {});
Tensor roll(const Tensor& x, int64_t shift, std::optional<int64_t> dim = std::nullopt);
/// The lower (upper) triangle of the last two dims, from `diagonal` (0 the main one, > 0 above
/// it, < 0 below); the rest zero.
Tensor tril(const Tensor& x, int64_t diagonal = 0);
Tensor triu(const Tensor& x, int64_t diagonal = 0);
/// The diagonal of dims dim1 and dim2 (offset > 0 above the main one, < 0 below), as a new last
/// dim, the two dims removed (torch.diagonal's values; a copy here, a view there).
Tensor diagonal(const Tensor& x, int64_t offset = 0, int64_t dim1 = 0, int64_t dim2 = 1);

}  // namespace ember

// Matrix products, and einsum built on them. Formulas: linalg.cpp, einsum.cpp.
#pragma once

#include <string_view>
#include <vector>

#include "../core/tensor.h"

namespace ember {

/// torch.matmul: 1-D, 2-D and batched N-D products with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
/// Product of two matrices (m, k) @ (k, n) (torch.mm: 2-D only).
Tensor mm(const Tensor& a, const Tensor& b);
/// Batched product of 3-D tensors (B, m, k) @ (B, k, n) -> (B, m, n).
Tensor bmm(const Tensor& a, const Tensor& b);
/// Einstein summation, as torch.einsum: einsum("bij,bjk->bik", {a, b}). Letters name dims; a
/// letter in two operands and not in the output is summed over, one repeated in an operand takes
/// its diagonal; without "->" the output is the letters seen once, alphabetically. Each pair of
/// operands is one bmm (einsum.cpp); "..." is not supported.
Tensor einsum(std::string_view equation, const std::vector<Tensor>& operands);

}  // namespace ember

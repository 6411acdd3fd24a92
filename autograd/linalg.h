// Matrix products. Formulas: linalg.cpp.
#pragma once

#include "../core/tensor.h"

namespace ember {

/// torch.matmul: 1-D, 2-D and batched N-D products with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
/// Product of two matrices (m, k) @ (k, n) (torch.mm: 2-D only).
Tensor mm(const Tensor& a, const Tensor& b);
/// Batched product of 3-D tensors (B, m, k) @ (B, k, n) -> (B, m, n).
Tensor bmm(const Tensor& a, const Tensor& b);

}  // namespace ember

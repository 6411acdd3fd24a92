// Matrix multiply through cblas: the GEMM wrapper that takes strides instead of copies, and
// matmul with PyTorch's semantics (1-D, 2-D, batched N-D with broadcast batch dims).
// Read next: autograd/linalg.cpp (the differentiable matmul and its backward).
#pragma once

#include "../tensor.h"

namespace ember::kernels {

/// a @ b with torch.matmul's rules. a, b: float32 or float64, same dtype.
///   (k) @ (k) -> ()            (m, k) @ (k, n) -> (m, n)        (k) @ (..., k, n) -> (..., n)
///   (..., m, k) @ (k) -> (..., m)    (..., m, k) @ (..., k, n) -> (broadcast ..., m, n)
/// Transposed and strided matrices are passed to BLAS as transpose flags and leading
/// dimensions; only layouts BLAS cannot express are copied.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace ember::kernels

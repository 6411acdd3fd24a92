// One row-major GEMM call, C = A·B + beta·C with optional transposes, for kernels that drive BLAS
// with raw pointers (matmul, conv2d). Inside parallel_for_blas each call runs on its own thread.
#pragma once

#include <cstdint>

namespace ember::kernels {

/// c (m x n, leading dim ldc) = op(a) @ op(b) + beta * c, op = transpose when the flag is set;
/// a is (m x k) and b (k x n) after op, each row-major with leading dim lda / ldb.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

}  // namespace ember::kernels

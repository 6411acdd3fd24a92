// One row-major GEMM call, C = A·B + beta·C with optional transposes, for kernels that drive it
// with raw pointers (matmul, conv2d). A small product runs on ember's own register tile, a larger
// one on OpenBLAS (loaded by core/blas.cpp with the kernels that fit the CPU); inside
// parallel_for_blas each call runs on its own thread. Read next: gemm.cpp, for where the line
// between the two lies and why.
#pragma once

#include <cblas.h>

#include <cstdint>

namespace ember::kernels {

/// c (m x n, leading dim ldc) = op(a) @ op(b) + beta * c, op = transpose when the flag is set;
/// a is (m x k) and b (k x n) after op, each row-major with leading dim lda / ldb.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

/// The OpenBLAS entry points ember calls, resolved from the library core/blas.cpp loaded (on
/// first use). Benchmarks call sgemm here as "the direct OpenBLAS call".
struct BlasLibrary {
  decltype(&cblas_sgemm) sgemm = nullptr;
  decltype(&cblas_dgemm) dgemm = nullptr;
  decltype(&openblas_set_num_threads) set_num_threads = nullptr;
  decltype(&openblas_get_num_threads) get_num_threads = nullptr;
  decltype(&openblas_get_corename) get_corename = nullptr;
  decltype(&openblas_get_config) get_config = nullptr;
  void (*shutdown_threads)() = nullptr;  // blas_thread_shutdown_: threads restart on next use
};
const BlasLibrary& blas_library();

}  // namespace ember::kernels

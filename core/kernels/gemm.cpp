// The GEMM every kernel calls: OpenBLAS's sgemm / dgemm, resolved from the library core/blas.cpp
// loaded, under a profiler scope and a BlasCall (which keeps OpenBLAS to one thread inside
// parallel_for_blas); see gemm.h.
#include "gemm.h"

#include <type_traits>

#include "../parallel.h"
#include "../profiler.h"

namespace ember::kernels {

namespace {

// OpenBLAS's entry point for T: sgemm or dgemm.
template <typename T>
auto gemm_routine() {
  if constexpr (std::is_same_v<T, float>)
    return blas_library().sgemm;
  else
    return blas_library().dgemm;
}

template <typename T>
void blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
               const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  profiler::Scope scope("kernels::gemm (BLAS)");
  scope.count({.flops = 2 * m * n * k, .bytes = int64_t{sizeof(T)} * (m * k + k * n + m * n)});
  BlasCall call(m * n * k);
  gemm_routine<T>()(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, m, n, k, T(1), a, lda, b, ldb, beta, c,
                    ldc);
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  blas_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  blas_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace ember::kernels

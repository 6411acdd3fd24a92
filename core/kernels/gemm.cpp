// The GEMM every kernel calls; see gemm.h. A small product runs on ember's register tile
// (vectors.inc, one copy per capability); a larger one is OpenBLAS's sgemm / dgemm, resolved from
// the library core/blas.cpp loaded, under a BlasCall (which keeps OpenBLAS to one thread inside
// parallel_for_blas).
//
// Why two: most GEMMs of a small network are small. FashionNet's training step makes 2,438 a
// step, almost all once per sample (a 1x1 convolution's 32 x 32 by 32 x 196) or once per sample
// and head (efficient attention's 8 x 196 by 196 x 8). OpenBLAS packs both operands into panels
// for every call, and at these sizes the packing and the call cost as much as the product:
// measured in that step on an AMD EPYC (Zen 3), 28-42 GFLOP/s a thread for the 1x1 convolutions'
// products and 2-3 GFLOP/s for the attention's, against 78 a thread the FMA units can do. The
// register tile reads the operands where they lie; only a transposed b with many columns (which
// goes through the lane transpose) and b's last columns when they are not a whole vector are
// copied first.
#include "gemm.h"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "../parallel.h"
#include "../profiler.h"
#include "capability.h"
#include "capability_copies.h"

namespace ember::kernels {

namespace {

// The register tile, one copy per capability.
#define EMBER_CAPABILITY_KERNELS "vectors.inc"
#include "each_capability.inc"
#undef EMBER_CAPABILITY_KERNELS

// The largest product (multiply-adds) the register tile takes: the size below which OpenBLAS
// itself runs on the calling thread, and the most a call inside ember's parallel loops has.
constexpr int64_t kTileGemmWork = kSerialBlasWork;
// The most values the tile may copy b into (a transposed b): 256 KiB of floats, within L2.
constexpr int64_t kTilePackLimit = int64_t{1} << 16;

// The register tile of the capability in use, and how much it packs.
template <typename T>
struct TileGemm {
  decltype(&baseline::tile_gemm<T>) run;
  decltype(&baseline::tile_gemm_pack_size<T>) pack_size;
};

template <typename T>
TileGemm<T> tile_gemm_of_cpu() {
  switch (cpu_capability()) {
    case Capability::avx512: return {avx512::tile_gemm<T>, avx512::tile_gemm_pack_size<T>};
    case Capability::avx2: return {avx2::tile_gemm<T>, avx2::tile_gemm_pack_size<T>};
    case Capability::baseline: break;
  }
  return {baseline::tile_gemm<T>, baseline::tile_gemm_pack_size<T>};
}

// OpenBLAS's entry point for T: sgemm or dgemm.
template <typename T>
auto gemm_routine() {
  if constexpr (std::is_same_v<T, float>)
    return blas_library().sgemm;
  else
    return blas_library().dgemm;
}

template <typename T>
void any_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
              const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  static const TileGemm<T> tile = tile_gemm_of_cpu<T>();
  profiler::Work work{.flops = 2 * m * n * k,
                      .bytes = int64_t{sizeof(T)} * (m * k + k * n + m * n)};
  int64_t pack = tile.pack_size(trans_a, trans_b, n, k);
  if (m * n * k <= kTileGemmWork && pack <= kTilePackLimit) {
    profiler::Scope scope("kernels::gemm (register tile)");
    scope.count(work);
    thread_local std::vector<T> buffer;
    if (static_cast<int64_t>(buffer.size()) < pack) buffer.resize(pack);
    tile.run(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, buffer.data());
    return;
  }
  profiler::Scope scope("kernels::gemm (BLAS)");
  scope.count(work);
  BlasCall call(m * n * k);
  gemm_routine<T>()(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, m, n, k, T(1), a, lda, b, ldb, beta, c,
                    ldc);
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  any_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  any_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace ember::kernels

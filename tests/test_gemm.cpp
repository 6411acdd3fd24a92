// kernels::gemm, the one GEMM every kernel calls, against a naive loop in long double: both of
// its paths (ember's register tile for small products, OpenBLAS above), every transpose, beta 0
// (which ignores what c held, NaN included), 1 and another, leading dims wider than the
// matrices, and sizes that leave partial tiles and partial vectors at every capability. Run
// once per capability (tests/CMakeLists.txt).
#include <ember/core/kernels/gemm.h>

#include <cmath>
#include <limits>
#include <vector>

#include "helpers.h"

using namespace ember;

namespace {

// Values with a fixed pattern and no common factor, so a swapped or skipped index changes the
// sum.
template <typename T>
std::vector<T> pattern(int64_t count, int seed) {
  std::vector<T> v(count);
  for (int64_t i = 0; i < count; ++i) v[i] = T(((i * 7 + seed * 13) % 23) - 11) / T(8);
  return v;
}

struct GemmCase {
  bool trans_a, trans_b;
  int64_t m, n, k;
  double beta;
};

// Runs kernels::gemm on one case with leading dims 3 wider than needed and checks every element
// of c, and that c's columns past n (inside the leading dim) are untouched.
template <typename T>
void check_case(const GemmCase& g) {
  int64_t a_rows = g.trans_a ? g.k : g.m, a_cols = g.trans_a ? g.m : g.k;
  int64_t b_rows = g.trans_b ? g.n : g.k, b_cols = g.trans_b ? g.k : g.n;
  int64_t lda = a_cols + 3, ldb = b_cols + 3, ldc = g.n + 3;
  std::vector<T> a = pattern<T>(std::max<int64_t>(a_rows * lda, 1), 1);
  std::vector<T> b = pattern<T>(std::max<int64_t>(b_rows * ldb, 1), 2);
  std::vector<T> c = pattern<T>(std::max<int64_t>(g.m * ldc, 1), 3);
  if (g.beta == 0 && !c.empty()) c[0] = std::numeric_limits<T>::quiet_NaN();  // must be ignored
  std::vector<T> before = c;
  kernels::gemm(g.trans_a, g.trans_b, g.m, g.n, g.k, a.data(), lda, b.data(), ldb, T(g.beta),
                c.data(), ldc);
  auto at = [](const std::vector<T>& x, int64_t ld, bool trans, int64_t i, int64_t j) {
    return static_cast<long double>(trans ? x[j * ld + i] : x[i * ld + j]);
  };
  double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  int64_t wrong = 0;
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < g.n; ++j) {
      long double want = 0;
      for (int64_t p = 0; p < g.k; ++p)
        want += at(a, lda, g.trans_a, i, p) * at(b, ldb, g.trans_b, p, j);
      if (g.beta != 0) want += static_cast<long double>(g.beta) * before[i * ldc + j];
      double got = c[i * ldc + j];
      if (!(std::abs(got - static_cast<double>(want)) <=
            tolerance * (1 + std::abs(static_cast<double>(want))))) {
        if (++wrong == 1)  // where: the first wrong element
          MESSAGE("c[", i, ", ", j, "] = ", got, ", expected ", static_cast<double>(want));
      }
    }
    for (int64_t j = g.n; j < ldc && i * ldc + j < static_cast<int64_t>(c.size()); ++j)
      if (!(c[i * ldc + j] == before[i * ldc + j] ||
            (std::isnan(c[i * ldc + j]) && std::isnan(before[i * ldc + j]))))
        ++wrong;
  }
  CAPTURE(g.trans_a);
  CAPTURE(g.trans_b);
  CAPTURE(g.m);
  CAPTURE(g.n);
  CAPTURE(g.k);
  CAPTURE(g.beta);
  CHECK(wrong == 0);
}

template <typename T>
void check_all_cases() {
  // Rows around the tile's 6 (8 with AVX-512), columns around 1, 2 and 3 vectors of every width,
  // depths with and without a vector tail; few columns over a long depth (with b transposed,
  // the dot-product tiles: 4 x 3 and their edges); then products on the BLAS side of the
  // threshold.
  std::vector<std::tuple<int64_t, int64_t, int64_t>> sizes = {
      {1, 1, 1},     {5, 3, 2},   {6, 8, 7},     {7, 17, 9},   {8, 16, 16},
      {9, 33, 31},   {13, 47, 5}, {32, 196, 32}, {8, 196, 8},  {196, 8, 8},
      {32, 9, 784},  {3, 70, 1},  {2, 5, 0},     {64, 64, 64}, {65, 64, 64},
      {100, 90, 80}, {8, 8, 196}, {10, 5, 37},   {1, 15, 16}};
  for (auto [m, n, k] : sizes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.0, 0.5}) check_case<T>({ta, tb, m, n, k, beta});
}

}  // namespace

TEST_CASE("kernels::gemm: register tile and BLAS against a naive loop, float32") {
  check_all_cases<float>();
}

TEST_CASE("kernels::gemm: register tile and BLAS against a naive loop, float64") {
  check_all_cases<double>();
}

TEST_CASE("kernels::gemm: small products run on the register tile, large ones on BLAS") {
  std::vector<float> a(128 * 128, 1.0f), b(128 * 128, 1.0f), c(128 * 128);
  auto path = [&](int64_t n) {
    profiler::Profile profile;
    kernels::gemm(false, false, n, n, n, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    profile.stop();
    return profile.events().at(0).name;
  };
  CHECK(path(32) == "kernels::gemm (register tile)");
  CHECK(path(64) == "kernels::gemm (register tile)");  // 64^3 multiply-adds: the threshold
  CHECK(path(128) == "kernels::gemm (BLAS)");
  CHECK(c[0] == 128.0f);
}

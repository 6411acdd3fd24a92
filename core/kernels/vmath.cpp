// Vectorised transcendental functions through SLEEF; see vmath.h.
// Each function runs SLEEF's vector version over full blocks of lanes, and the last partial
// block through a zero-padded copy, so every element takes the same code path.
#include "vmath.h"

#include <sleef.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace ember::kernels::vmath {
namespace {

// The vector types and SLEEF functions of the widest instruction set the compiler targets.
// SLEEF names them Sleef_<fn><type><lanes>_u10<isa>: u10 = at most 1.0 ulp of error.
#if defined(__AVX512F__)
using VecF = __m512;
using VecD = __m512d;
constexpr const char* kIsa = "avx512";
constexpr auto exp_f = Sleef_expf16_u10avx512f, log_f = Sleef_logf16_u10avx512f,
               tanh_f = Sleef_tanhf16_u10avx512f, erf_f = Sleef_erff16_u10avx512f;
constexpr auto exp_d = Sleef_expd8_u10avx512f, log_d = Sleef_logd8_u10avx512f,
               tanh_d = Sleef_tanhd8_u10avx512f, erf_d = Sleef_erfd8_u10avx512f;
#elif defined(__AVX2__) && defined(__FMA__)
using VecF = __m256;
using VecD = __m256d;
constexpr const char* kIsa = "avx2";
constexpr auto exp_f = Sleef_expf8_u10avx2, log_f = Sleef_logf8_u10avx2,
               tanh_f = Sleef_tanhf8_u10avx2, erf_f = Sleef_erff8_u10avx2;
constexpr auto exp_d = Sleef_expd4_u10avx2, log_d = Sleef_logd4_u10avx2,
               tanh_d = Sleef_tanhd4_u10avx2, erf_d = Sleef_erfd4_u10avx2;
#else  // baseline x86-64: SSE2 vectors; SLEEF picks SSE4.1 or AVX2 code for them at run time
using VecF = __m128;
using VecD = __m128d;
constexpr const char* kIsa = "sse";
constexpr auto exp_f = Sleef_expf4_u10, log_f = Sleef_logf4_u10, tanh_f = Sleef_tanhf4_u10,
               erf_f = Sleef_erff4_u10;
constexpr auto exp_d = Sleef_expd2_u10, log_d = Sleef_logd2_u10, tanh_d = Sleef_tanhd2_u10,
               erf_d = Sleef_erfd2_u10;
#endif

// y[0, n) = f(x[0, n)), lanes of V at a time. V is a GCC vector type, so f may also use + - * /.
template <typename V, typename T, typename F>
void blocks(T* y, const T* x, int64_t n, F f) {
  constexpr int64_t lanes = sizeof(V) / sizeof(T);
  V v;
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    std::memcpy(&v, x + i, sizeof v);  // unaligned vector load
    v = f(v);
    std::memcpy(y + i, &v, sizeof v);
  }
  if (i == n) return;
  T pad[lanes] = {};
  std::copy(x + i, x + n, pad);
  std::memcpy(&v, pad, sizeof v);
  v = f(v);
  std::memcpy(pad, &v, sizeof v);
  std::copy(pad, pad + (n - i), y + i);
}

}  // namespace

void exp(float* y, const float* x, int64_t n) { blocks<VecF>(y, x, n, exp_f); }
void exp(double* y, const double* x, int64_t n) { blocks<VecD>(y, x, n, exp_d); }
void log(float* y, const float* x, int64_t n) { blocks<VecF>(y, x, n, log_f); }
void log(double* y, const double* x, int64_t n) { blocks<VecD>(y, x, n, log_d); }
void tanh(float* y, const float* x, int64_t n) { blocks<VecF>(y, x, n, tanh_f); }
void tanh(double* y, const double* x, int64_t n) { blocks<VecD>(y, x, n, tanh_d); }
void erf(float* y, const float* x, int64_t n) { blocks<VecF>(y, x, n, erf_f); }
void erf(double* y, const double* x, int64_t n) { blocks<VecD>(y, x, n, erf_d); }

// sigmoid(x) = 1 / (1 + e^-x) for x >= 0, and e^x / (1 + e^x) for x < 0: e^-|x| never
// overflows, and for very negative x the result keeps full precision instead of inheriting the
// rounding of 1 + e^-x (a large number).
template <typename V, typename Exp>
V sigmoid_lanes(V v, Exp exp_lanes) {
  using T = std::remove_cvref_t<decltype(v[0])>;
  V e = exp_lanes(v >= 0 ? -v : v);
  V r = T(1) / (T(1) + e);
  return v >= 0 ? r : e * r;
}

void sigmoid(float* y, const float* x, int64_t n) {
  blocks<VecF>(y, x, n, [](VecF v) { return sigmoid_lanes(v, exp_f); });
}
void sigmoid(double* y, const double* x, int64_t n) {
  blocks<VecD>(y, x, n, [](VecD v) { return sigmoid_lanes(v, exp_d); });
}

const char* isa() { return kIsa; }

}  // namespace ember::kernels::vmath

// Vectorised transcendental functions over contiguous arrays, from SLEEF (what PyTorch uses):
// 16 floats at a time on AVX-512, 8 on AVX2, 4 on SSE, at SLEEF's 1.0-ulp accuracy (u10), so a
// result is within 2 ulp of the C library's (tests/test_cpu.cpp checks it). Which width is
// compiled in follows the target the compiler builds for (EMBER_NATIVE, README).
// Used by the elementwise ops (autograd/elementwise.cpp) and softmax (reduce.cpp).
// Read next: vmath.cpp.
#pragma once

#include <cstdint>

namespace ember::kernels::vmath {

/// y[i] = e^x[i] for i < n. y may be x (in place).
void exp(float* y, const float* x, int64_t n);
void exp(double* y, const double* x, int64_t n);
/// y[i] = ln x[i].
void log(float* y, const float* x, int64_t n);
void log(double* y, const double* x, int64_t n);
/// y[i] = tanh x[i].
void tanh(float* y, const float* x, int64_t n);
void tanh(double* y, const double* x, int64_t n);
/// y[i] = erf x[i].
void erf(float* y, const float* x, int64_t n);
void erf(double* y, const double* x, int64_t n);
/// y[i] = 1 / (1 + e^-x[i]).
void sigmoid(float* y, const float* x, int64_t n);
void sigmoid(double* y, const double* x, int64_t n);

/// The SIMD width compiled in, for benchmarks and tests: "avx512", "avx2" or "sse".
const char* isa();

}  // namespace ember::kernels::vmath

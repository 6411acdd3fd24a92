// Summing in interleaved lanes: a loop the compiler vectorises, with the same bits every time.
#pragma once

#include <cstdint>
#include <cstring>

namespace ember::kernels {

/// The sum of term(i) for i in [0, n), in double. Term i goes to lane i % 8 and the lanes are added
/// pairwise at the end, always in the same order: a single running sum would make every add wait
/// for the one before, while eight independent ones fill a vector register.
template <typename Term>
double lane_sum(int64_t n, Term term) {
  constexpr int kLanes = 8;
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += term(i + j);
  for (int j = 0; i + j < n; ++j) lanes[j] += term(i + j);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

/// Vectors of 32 bytes of T (GCC's vector extensions: two SSE registers in a build for every
/// x86-64 CPU, one AVX2 register, half an AVX-512 one), for the loops the compiler does not
/// vectorise well by itself: sums that it would keep in double, or selects it would turn into
/// masked loads.
template <typename T> struct Vector32;
template <> struct Vector32<float> { typedef float type __attribute__((vector_size(32))); };
template <> struct Vector32<double> { typedef double type __attribute__((vector_size(32))); };

template <typename T>
[[gnu::always_inline]] inline typename Vector32<T>::type load32(const T* from) {
  typename Vector32<T>::type v;
  std::memcpy(&v, from, sizeof v);
  return v;
}

/// The sum of f(x[i]) for i in [0, n), f taking a vector or one value (a generic lambda): in T,
/// in the lanes of two vectors added in a fixed order, then the last values one by one. For a
/// plane of a few hundred values, whose sums the caller adds in double: twice the lanes of
/// lane_sum's doubles a vector, and no conversion.
template <typename T, typename F>
T vector_sum(const T* x, int64_t n, F f) {
  using V = typename Vector32<T>::type;
  constexpr int64_t lanes = 32 / sizeof(T);
  V part[2] = {};
  int64_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    part[0] += f(load32(x + i));
    part[1] += f(load32(x + i + lanes));
  }
  V both = part[0] + part[1];
  T sum = 0;
  for (; i < n; ++i) sum += f(x[i]);
  for (int64_t j = 0; j < lanes; ++j) sum += both[j];
  return sum;
}

}  // namespace ember::kernels

// Summing in interleaved lanes: a loop the compiler vectorises, with the same bits every time.
#pragma once

#include <cstdint>

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

}  // namespace ember::kernels

// A small benchmark harness: runs the contenders of one measurement in alternation, rep by rep,
// so that both see the same machine load, and reports medians. (Google Benchmark times one
// function at a time; on a shared, noisy machine, interleaving is what makes ratios fair.)
#pragma once

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace ember::bench {

inline double seconds_of(const std::function<void()>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Median seconds of each contender, run in alternation: warm-up, then reps chosen so that the
/// whole measurement takes about target_s seconds (at least min_reps).
inline std::vector<double> interleaved(const std::vector<std::function<void()>>& contenders,
                                       double target_s = 2.0, int min_reps = 5) {
  double one = 0;
  for (const auto& c : contenders) one += seconds_of(c);  // warm-up
  int reps = std::max(min_reps, static_cast<int>(target_s / std::max(one, 1e-6)));
  reps = std::min(reps, 1000);
  std::vector<std::vector<double>> times(contenders.size());
  for (int r = 0; r < reps; ++r)
    for (size_t i = 0; i < contenders.size(); ++i) times[i].push_back(seconds_of(contenders[i]));
  std::vector<double> out;
  for (const auto& t : times) out.push_back(median(t));
  return out;
}

}  // namespace ember::bench

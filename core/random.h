// The seeded random generator. Counter-based: the k-th number drawn after manual_seed(s) is a
// pure function of (s, k), so tensors fill in parallel and give the same values on every run and
// at every thread count. Read next: factory.h (rand, randn, randint, randperm use it).
#pragma once

#include <atomic>
#include <cstdint>

namespace ember {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  Generator(const Generator& other) : seed_(other.seed_), offset_(other.offset_.load()) {}

  void manual_seed(uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  uint64_t seed() const { return seed_; }
  /// How many numbers have been drawn since the seed was set; with the seed, the whole state.
  uint64_t offset() const { return offset_.load(); }
  void set_offset(uint64_t offset) { offset_ = offset; }

  /// Reserves `count` consecutive counters and returns the first.
  uint64_t reserve(uint64_t count) { return offset_.fetch_add(count); }

  /// 64 random bits for counter k: splitmix64 applied to the seed and the counter.
  uint64_t bits(uint64_t k) const;
  /// Uniform in [0, 1) for counter k, with 53 random bits.
  double uniform(uint64_t k) const { return static_cast<double>(bits(k) >> 11) * 0x1.0p-53; }
  /// Standard normal for counter k (Box-Muller on counters 2k and 2k+1 of a derived stream).
  double normal(uint64_t k) const;

 private:
  uint64_t seed_;
  std::atomic<uint64_t> offset_{0};
};

/// The global generator that rand, randn, randint, randperm, dropout and init draw from.
Generator& default_generator();

/// Seeds the global generator: the same seed gives the same numbers on every run.
void manual_seed(uint64_t seed);

}  // namespace ember

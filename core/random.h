// The seeded random generator: the same numbers as PyTorch's CPU generator. A Mersenne Twister
// (mt19937) seeded with the low 32 bits of the seed, turned into numbers the way PyTorch does, so
// manual_seed(s) followed by rand, randint, randperm or a layer's initialisation gives what
// torch.manual_seed(s) gives in PyTorch, bit for bit (randn: see factory.h). A tensor is filled
// serially under the generator's lock, so the numbers never depend on the thread count.
// Read next: factory.h (rand, randn, randint, randperm, uniform_, normal_ draw from it).
#pragma once

#include <cmath>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>

namespace ember {

class Generator {
 public:
  /// PyTorch's default seed (default_rng_seed_val), used until manual_seed is called.
  static constexpr uint64_t kDefaultSeed = 67280421310721ull;

  explicit Generator(uint64_t seed = kDefaultSeed) { manual_seed(seed); }
  Generator(const Generator& other);
  Generator& operator=(const Generator& other);

  /// Restarts the sequence; only the low 32 bits reach the engine, as in PyTorch.
  void manual_seed(uint64_t seed);
  uint64_t seed() const { return seed_; }

  // Draws. Callers filling a tensor hold mutex() for the whole fill.
  /// 32 random bits: one output of the engine.
  uint32_t random() { return static_cast<uint32_t>(engine_()); }
  /// 64 random bits from two outputs, the first one in the high half.
  uint64_t random64() {
    uint64_t high = random();
    return high << 32 | random();
  }
  /// Uniform on [from, to): the low 24 bits of one output scaled to [0, 1), then
  /// x * (to - from) + from in float, as one fused multiply-add (PyTorch's x86-64 kernels are
  /// compiled with FMA, so their product and sum round once; spelled out here so that the
  /// result does not depend on how the compiler contracts).
  float uniform_float(float from, float to) {
    float x = static_cast<float>(random() & 0xFFFFFFu) * 0x1.0p-24f;
    return std::fma(x, to - from, from);
  }
  /// Uniform on [from, to) with the low 53 bits of random64(), in double.
  double uniform_double(double from, double to) {
    double x = static_cast<double>(random64() & 0x1FFFFFFFFFFFFFull) * 0x1.0p-53;
    return std::fma(x, to - from, from);
  }
  /// A standard normal in double (Box-Muller on two uniform_double draws); each pair gives two
  /// numbers, the second kept for the next call, as PyTorch's normal_distribution<double>.
  double normal();

  std::mutex& mutex() const { return mutex_; }

 private:
  uint64_t seed_ = 0;
  std::mt19937 engine_;
  std::optional<double> next_normal_;
  mutable std::mutex mutex_;
};

/// The global generator that rand, randn, randint, randperm, dropout and init draw from.
Generator& default_generator();

/// Seeds the global generator: the same seed gives the same numbers on every run, and the same
/// numbers as torch.manual_seed(seed).
void manual_seed(uint64_t seed);

}  // namespace ember

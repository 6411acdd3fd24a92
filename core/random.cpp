// Counter-based random numbers; see random.h.
#include "random.h"

#include <cmath>
#include <numbers>

namespace ember {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t Generator::bits(uint64_t k) const { return splitmix64(splitmix64(seed_) ^ k); }

double Generator::normal(uint64_t k) const {
  // Two uniforms from a stream that never meets uniform()'s: u1 in (0, 1] so log is finite.
  uint64_t stream = splitmix64(seed_ ^ 0x6A09E667F3BCC909ull);
  double u1 = 1.0 - static_cast<double>(splitmix64(stream ^ (2 * k)) >> 11) * 0x1.0p-53;
  double u2 = static_cast<double>(splitmix64(stream ^ (2 * k + 1)) >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace ember

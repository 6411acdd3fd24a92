// PyTorch's CPU random generator; see random.h.
#include "random.h"

#include <cmath>
#include <numbers>
#include <utility>

namespace ember {

Generator::Generator(const Generator& other) {
  std::lock_guard lock(other.mutex_);
  seed_ = other.seed_;
  engine_ = other.engine_;
  next_normal_ = other.next_normal_;
}

Generator& Generator::operator=(const Generator& other) {
  if (this == &other) return *this;
  std::scoped_lock lock(mutex_, other.mutex_);
  seed_ = other.seed_;
  engine_ = other.engine_;
  next_normal_ = other.next_normal_;
  return *this;
}

void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  engine_.seed(static_cast<uint32_t>(seed & 0xFFFFFFFFu));
  next_normal_.reset();
}

double Generator::normal() {
  if (next_normal_) return *std::exchange(next_normal_, std::nullopt);
  double u1 = uniform_double(0, 1);
  double u2 = uniform_double(0, 1);
  double radius = std::sqrt(-2.0 * std::log1p(-u2));  // 1 - u2 is in (0, 1]: log is finite
  double theta = 2.0 * std::numbers::pi * u1;
  next_normal_ = radius * std::sin(theta);
  return radius * std::cos(theta);
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(uint64_t seed) {
  Generator& g = default_generator();
  std::lock_guard lock(g.mutex());
  g.manual_seed(seed);
}

}  // namespace ember

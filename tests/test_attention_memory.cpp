// The paper's complexity claim in deterministic figures: the tracking allocator's peak over one
// forward and backward grows linearly in the positions for efficient attention (and for blocked
// dot-product attention) and quadratically for dot-product attention with the full map.
#include <cmath>

#include "helpers.h"

using namespace ember;
namespace F = ember::nn::functional;
using nn::Normalization;

namespace {

// Peak tracked bytes of one forward+backward of `m` on (1, C, s, s), above what was held before.
int64_t peak_bytes(nn::Module& m, int64_t channels, int64_t s) {
  manual_seed(0);
  Tensor x = randn({1, channels, s, s}).requires_grad_();
  m.zero_grad();
  reset_peak_memory_stats();
  int64_t before = memory_stats().current;
  sum(m(x)).backward();
  return memory_stats().peak - before;
}

// Least-squares slope of log(peak) against log(n).
double fitted_exponent(const std::vector<double>& n, const std::vector<double>& peak) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < n.size(); ++i)
    mx += std::log(n[i]) / n.size(), my += std::log(peak[i]) / n.size();
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < n.size(); ++i) {
    sxy += (std::log(n[i]) - mx) * (std::log(peak[i]) - my);
    sxx += (std::log(n[i]) - mx) * (std::log(n[i]) - mx);
  }
  return sxy / sxx;
}

}  // namespace

TEST_CASE("memory: efficient attention grows linearly in n, dot-product attention with n^2") {
  nn::AttentionConfig o{.in_channels = 8, .key_channels = 8, .value_channels = 8, .head_count = 1};
  nn::EfficientAttention2d efficient(o);
  o.blocked = false;  // the full map
  nn::DotProductAttention2d dot(o);
  std::vector<double> n, eff_peak, dot_peak;
  for (int64_t s : {16, 24, 32, 48, 64}) {
    n.push_back(double(s * s));
    eff_peak.push_back(double(peak_bytes(*efficient, 8, s)));
    dot_peak.push_back(double(peak_bytes(*dot, 8, s)));
    MESSAGE("n = ", s * s, ": efficient peak ", eff_peak.back() / 1048576.0,
            " MiB, dot-product peak ", dot_peak.back() / 1048576.0, " MiB");
  }
  double eff_exp = fitted_exponent(n, eff_peak), dot_exp = fitted_exponent(n, dot_peak);
  MESSAGE("fitted exponents: efficient ", eff_exp, ", dot-product ", dot_exp);
  CHECK(std::abs(eff_exp - 1.0) <= 0.05);
  CHECK(std::abs(dot_exp - 2.0) <= 0.05);
}

TEST_CASE("memory: blocked dot-product attention grows linearly in n") {
  // Blocks of 16 queries: each block's map is 16 x n, so the peak is linear in n where the full
  // map's is quadratic (the same functional without blocks, for contrast).
  std::vector<double> n, blocked_peak, full_peak;
  for (int64_t positions : {256, 576, 1024, 2304, 4096}) {
    manual_seed(0);
    Tensor q = randn({1, 1, 8, positions}).requires_grad_(), k = randn({1, 1, 8, positions}),
           v = randn({1, 1, 8, positions});
    k.requires_grad_();
    v.requires_grad_();
    auto peak = [&](bool blocked) {
      reset_peak_memory_stats();
      int64_t before = memory_stats().current;
      Tensor out = blocked ? F::blocked_dot_product_attention(q, k, v, Normalization::Softmax, {},
                                                              16 * positions)
                           : F::dot_product_attention(q, k, v);
      sum(out).backward();
      return double(memory_stats().peak - before);
    };
    n.push_back(double(positions));
    blocked_peak.push_back(peak(true));
    full_peak.push_back(peak(false));
    MESSAGE("n = ", positions, ": blocked peak ", blocked_peak.back() / 1048576.0,
            " MiB, full map peak ", full_peak.back() / 1048576.0, " MiB");
  }
  double blocked_exp = fitted_exponent(n, blocked_peak), full_exp = fitted_exponent(n, full_peak);
  MESSAGE("fitted exponents: blocked ", blocked_exp, ", full map ", full_exp);
  CHECK(std::abs(blocked_exp - 1.0) <= 0.05);
  CHECK(std::abs(full_exp - 2.0) <= 0.1);
}

// The guided tour, chapter 4 (docs/tour/04-two-attentions.md): dot-product attention and
// efficient attention on one example; their equality under scaling normalization; the n x n
// map one builds against the d_k x d_v context the other builds; and how their peak memory
// grows with the number of positions, from ember's tracking allocator.
// Run: ./build/examples/tour/two_attentions
#include <ember/ember.h>

#include <cmath>
#include <cstdio>
#include <iostream>

using namespace ember;
namespace F = ember::nn::functional;
using nn::Normalization;

namespace {

// Peak bytes allocated while one forward and backward of `attention` runs at n positions.
template <typename Attention>
double peak_bytes(Attention attention, int64_t n) {
  manual_seed(1);
  Tensor q = randn({1, 1, 32, n}).requires_grad_(), k = randn({1, 1, 32, n}).requires_grad_();
  Tensor v = randn({1, 1, 32, n}).requires_grad_();
  empty_cache();
  reset_peak_memory_stats();
  int64_t before = memory_stats().current;
  sum(attention(q, k, v)).backward();
  return static_cast<double>(memory_stats().peak - before);
}

}  // namespace

int main() {
  // tour:begin equal
  manual_seed(0);
  // One head, d_k = 4 key channels, d_v = 3 value channels, n = 6 positions, channels first.
  Tensor q = randn({1, 1, 4, 6}, kFloat64), k = randn({1, 1, 4, 6}, kFloat64);
  Tensor v = randn({1, 1, 3, 6}, kFloat64);
  Tensor dot = F::dot_product_attention(q, k, v, Normalization::Scaling);
  Tensor efficient = F::efficient_attention(q, k, v, Normalization::Scaling);
  double gap = amax(abs(dot - efficient), {}).item<double>();
  std::cout << "scaling normalization: dot-product and efficient attention agree to 1e-12: "
            << (gap < 1e-12 ? "yes" : "no") << "\n";
  // tour:end equal

  // tour:begin softmax
  Tensor dot_softmax = F::dot_product_attention(q, k, v);
  Tensor efficient_softmax = F::efficient_attention(q, k, v);
  std::cout << "softmax normalization: both give " << shape_str(dot_softmax.sizes())
            << ", and differ by " << std::round(amax(abs(dot_softmax - efficient_softmax), {})
                                                    .item<double>() * 10) / 10
            << " at most: different functions\n";
  // tour:end softmax

  // tour:begin sizes
  int64_t n = 64 * 64, d_k = 32, d_v = 32;  // a 64x64 feature map, 32 channels
  std::cout << "at n = " << n << ": the map holds " << n * n << " numbers, the context "
            << d_k * d_v << "\n";
  // tour:end sizes

  // tour:begin memory
  auto dot_attention = [](const Tensor& q, const Tensor& k, const Tensor& v) {
    return F::dot_product_attention(q, k, v);
  };
  auto efficient_attention = [](const Tensor& q, const Tensor& k, const Tensor& v) {
    return F::efficient_attention(q, k, v);
  };
  for (auto [name, growth] :
       {std::pair{"dot-product", peak_bytes(dot_attention, 2048) / peak_bytes(dot_attention, 512)},
        std::pair{"efficient", peak_bytes(efficient_attention, 2048) /
                                   peak_bytes(efficient_attention, 512)}})
    std::printf("%s attention: 4x the positions, %.0fx the peak memory (exponent %.1f)\n", name,
                growth, std::log(growth) / std::log(4.0));
  // tour:end memory
}

// W4 (FashionNet's two convolutions at batch 64, forward + backward: input, weight and bias
// gradients) and one W1 training step (FashionNet without attention and with efficient attention:
// forward, cross-entropy, backward, Adam step) at batch 64. Prints median milliseconds;
// bench/compare_peer.sh runs this and the PyTorch peer (bench/peer_fashionnet.py) in alternation
// and prints the ratios. Run: ./build/bench/bench_fashionnet [--reps N]
#include <ember/ember.h>

#include <cstdio>
#include <cstring>

#include "../examples/fashion_net.h"
#include "harness.h"

using namespace ember;

namespace {

// Median ms of conv forward+backward on x (requires grad) with weight and bias.
double conv_ms(const Shape& input, int64_t out_channels, int reps) {
  manual_seed(0);
  Tensor x = randn(input).requires_grad_();
  nn::Conv2d conv(
      {.in_channels = input[1], .out_channels = out_channels, .kernel_size = 3, .padding = 1});
  auto step = [&] {
    x.set_grad(Tensor());
    conv->zero_grad();
    Tensor y = conv(x);
    y.backward(ones_like(y));
  };
  step();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) t.push_back(bench::seconds_of(step));
  return 1e3 * bench::median(t);
}

double w1_step_ms(int reps, bool efficient_attention) {
  manual_seed(0);
  auto model = std::make_shared<examples::FashionNet>(efficient_attention ? "efficient" : "none");
  optim::Adam adam(model->parameters(), {.lr = 1e-3});
  Tensor x = randn({64, 1, 28, 28});
  Tensor y = randint(0, 10, {64});
  auto step = [&] {
    adam.zero_grad();
    Tensor loss = nn::functional::cross_entropy((*model)(x), y);
    loss.backward();
    adam.step();
  };
  step();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) t.push_back(bench::seconds_of(step));
  return 1e3 * bench::median(t);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 30;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::atoi(argv[i + 1]);
  std::printf("# ember: %s\n", to_string(blas_info()).c_str());
  std::printf("threads=%d\n", get_num_threads());
  std::printf("conv1_fwd_bwd_ms=%.3f\n", conv_ms({64, 1, 28, 28}, 32, reps));
  std::printf("conv2_fwd_bwd_ms=%.3f\n", conv_ms({64, 32, 14, 14}, 64, reps));
  std::printf("w1_step_none_ms=%.3f\n", w1_step_ms(reps, false));
  std::printf("w1_step_efficient_ms=%.3f\n", w1_step_ms(reps, true));
  return 0;
}

// W4 (FashionNet's two convolutions at batch 64, forward + backward: input, weight and bias
// gradients), then SceneNet's eight convolutions at batch 32 the same way, and one W1 training step
// (FashionNet without attention and with efficient attention: forward, cross-entropy, backward,
// Adam step) at batch 64. Prints median milliseconds; bench/compare_peer.sh runs this and the
// PyTorch peer (bench/peer_fashionnet.py) in alternation and prints the ratios. Then one step of
// each optimizer over FashionNet's parameters, and last the efficient step under the profiler: its
// counted FLOPs per step, GFLOP/s and share of the FMA peak, and the table per op with each op's
// rate.
// Run: ./build/bench/bench_fashionnet [--reps N]
#include <ember/ember.h>

#include <cstdio>
#include <cstring>

#include "../examples/fashion_net.h"
#include "harness.h"

using namespace ember;

namespace {

// Median ms of conv forward+backward on x (requires grad) with weight and bias: a k x k kernel,
// "same" padding for the dilation.
double conv_ms(const Shape& input, int64_t out_channels, int reps, int64_t kernel = 3,
               int64_t dilation = 1) {
  manual_seed(0);
  Tensor x = randn(input).requires_grad_();
  nn::Conv2d conv({.in_channels = input[1],
                   .out_channels = out_channels,
                   .kernel_size = kernel,
                   .padding = dilation * (kernel - 1) / 2,
                   .dilation = dilation});
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

// One W1 step (forward, cross-entropy, backward, Adam) of FashionNet at batch 64.
struct W1Step {
  explicit W1Step(bool efficient_attention)
      : model((manual_seed(0),
               std::make_shared<examples::FashionNet>(efficient_attention ? "efficient" : "none"))),
        adam(model->parameters(), {.lr = 1e-3}),
        x(randn({64, 1, 28, 28})),
        y(randint(0, 10, {64})) {}
  void operator()() {
    adam.zero_grad();
    Tensor loss = nn::functional::cross_entropy((*model)(x), y);
    loss.backward();
    adam.step();
  }
  std::shared_ptr<examples::FashionNet> model;
  optim::Adam adam;
  Tensor x, y;
};

// The W1 step with efficient attention under the profiler: counted GFLOP/s over the steps' wall
// time and its share of the FMA peak, then the table per op (lines starting with '#').
void w1_step_work(int reps) {
  W1Step step(true);
  step();
  profiler::Profile profile;
  for (int i = 0; i < reps; ++i) step();
  profile.stop();
  double gflops = static_cast<double>(profile.total_work().flops) / profile.wall_ns();
  double peak = profiler::fma_peak_gflops(get_num_threads());
  std::printf("w1_step_efficient_gflop_per_step=%.4f\n", profile.total_work().flops / 1e9 / reps);
  std::printf("w1_step_efficient_gflops=%.2f\n", gflops);
  std::printf("w1_step_efficient_fraction_of_peak=%.3f\n", peak > 0 ? gflops / peak : 0.0);
  std::string table = profile.table(16);
  for (size_t start = 0; start < table.size();) {
    size_t end = table.find('\n', start);
    std::printf("# %s\n", table.substr(start, end - start).c_str());
    start = end + 1;
  }
}

// One optimizer step over FashionNet's parameters (426,058, efficient attention), gradients
// fixed: SGD with Nesterov momentum and weight decay, Adam, RMSprop centered with momentum.
double optimizer_step_ms(int reps, const std::string& which) {
  manual_seed(0);
  examples::FashionNet model("efficient");
  std::vector<Tensor> params = model.parameters();
  for (Tensor& p : params) p.set_grad(randn(shape_of(p)));
  std::unique_ptr<optim::Optimizer> opt;
  if (which == "sgd")
    opt = std::make_unique<optim::SGD>(
        params, optim::SGDOptions(1e-3).momentum(0.9).nesterov(true).weight_decay(1e-4));
  else if (which == "adam")
    opt = std::make_unique<optim::Adam>(params, optim::AdamOptions(1e-3));
  else
    opt = std::make_unique<optim::RMSprop>(
        params, optim::RMSpropOptions(1e-3).centered(true).momentum(0.9));
  opt->step();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) t.push_back(bench::seconds_of([&] { opt->step(); }));
  return 1e3 * bench::median(t);
}

double w1_step_ms(int reps, bool efficient_attention) {
  W1Step step(efficient_attention);
  step();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) t.push_back(bench::seconds_of([&] { step(); }));
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
  // SceneNet's convolutions (examples/scene_net.h) at its training batch, 32.
  std::printf("scene_stem1_fwd_bwd_ms=%.3f\n", conv_ms({32, 1, 64, 64}, 16, reps));
  std::printf("scene_stem2_fwd_bwd_ms=%.3f\n", conv_ms({32, 16, 64, 64}, 16, reps));
  std::printf("scene_down1_fwd_bwd_ms=%.3f\n", conv_ms({32, 16, 32, 32}, 32, reps));
  std::printf("scene_down2_fwd_bwd_ms=%.3f\n", conv_ms({32, 32, 32, 32}, 32, reps, 3, 2));
  std::printf("scene_down3_fwd_bwd_ms=%.3f\n", conv_ms({32, 32, 32, 32}, 32, reps, 3, 4));
  std::printf("scene_mid_fwd_bwd_ms=%.3f\n", conv_ms({32, 32, 32, 32}, 32, reps));
  std::printf("scene_head1_fwd_bwd_ms=%.3f\n", conv_ms({32, 32, 64, 64}, 16, reps));
  std::printf("scene_head2_fwd_bwd_ms=%.3f\n", conv_ms({32, 16, 64, 64}, 3, reps, 1));
  std::printf("w1_step_none_ms=%.3f\n", w1_step_ms(reps, false));
  std::printf("w1_step_efficient_ms=%.3f\n", w1_step_ms(reps, true));
  for (const char* which : {"sgd", "adam", "rmsprop"})
    std::printf("optim_%s_step_ms=%.3f\n", which, optimizer_step_ms(reps, which));
  w1_step_work(reps);
  return 0;
}

// The guided tour, chapter 5 (docs/tour/05-where-the-time-goes.md): one training step of the
// main job's FashionNet (efficient attention, batch 64) taken apart on the reader's machine:
// the BLAS kernels in use, the time of each part of the step, and what the thread count and
// flushing denormal floats do to it.
// Run: ./build/examples/tour/where_time_goes [STEPS]   (default 20 timed steps per figure)
#include <ember/ember.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "../fashion_net.h"

using namespace ember;
using Clock = std::chrono::steady_clock;

namespace {

// The median of `steps` timings of fn, in milliseconds, after one untimed warm-up call.
double median_ms(int steps, const std::function<void()>& fn) {
  fn();
  std::vector<double> ms;
  for (int i = 0; i < steps; ++i) {
    auto start = Clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int steps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  manual_seed(0);
  examples::FashionNet net("efficient");
  optim::Adam adam(net.parameters(), {.lr = 1e-3});
  Tensor images = randn({64, 1, 28, 28}), labels = randint(0, 10, {64});
  // tour:begin setup
  std::printf("%s\n", to_string(blas_info()).c_str());
  auto step = [&] {
    adam.zero_grad();
    nn::functional::cross_entropy(net(images), labels).backward();
    adam.step();
  };
  // tour:end setup

  // tour:begin parts
  Tensor a, b, c;
  auto forward_part = [&](auto&& fn) { return median_ms(steps, [&] { NoGradGuard g; fn(); }); };
  std::vector<std::pair<const char*, double>> parts = {
      {"conv1 + bn + relu + pool", forward_part([&] { a = (*net.block1)(images); })},
      {"efficient attention", forward_part([&] { b = (*net.attn)(a); })},
      {"conv2 + bn + relu + pool", forward_part([&] { c = (*net.block2)(b); })},
      {"linear head + loss", forward_part([&] {
         nn::functional::cross_entropy((*net.head)(c), labels);
       })},
  };
  double whole = median_ms(steps, step), forward = 0;
  for (auto& [name, ms] : parts) forward += ms;
  parts.push_back({"backward + Adam (the rest)", whole - forward});
  std::printf("%-28s %8s %7s\n", "part of one step", "ms", "share");
  for (auto& [name, ms] : parts) std::printf("%-28s %8.2f %6.0f%%\n", name, ms, 100 * ms / whole);
  std::printf("%-28s %8.2f\n", "whole step", whole);
  // tour:end parts

  // tour:begin threads
  int cores = get_num_threads();
  for (int threads : {1, cores}) {
    set_num_threads(threads);
    std::printf("%d thread(s): %.2f ms per step\n", threads, median_ms(steps, step));
  }
  // tour:end threads

  // tour:begin denormals
  for (bool flush : {false, true}) {
    set_flush_denormal(flush);
    std::printf("denormals %s: %.2f ms per step\n", flush ? "flushed to zero" : "kept (IEEE)",
                median_ms(steps, step));
  }
  // tour:end denormals
}

// The guided tour, chapter 5 (docs/tour/05-where-the-time-goes.md): one training step of the
// main job's FashionNet (efficient attention, batch 64) taken apart on the reader's machine:
// the BLAS kernels in use, the profile of its ops and kernels (also written as a Chrome trace,
// where_time_goes.json), and what the thread count and flushing denormal floats do to it.
// Run: ./build/examples/tour/where_time_goes [STEPS]   (default 20 timed steps per figure)
#include <ember/ember.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>

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
  const int cores = get_num_threads();  // before the profile below sets one thread
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

  // tour:begin profile
  set_num_threads(1);                  // one thread: the times of the ops add up to the step's
  for (int i = 0; i < 3; ++i) step();  // warm-up: BLAS loaded, buffers allocated and reused
  profiler::Profile profile;
  for (int i = 0; i < steps; ++i) step();
  profile.stop();
  std::printf("%d steps on one thread, by self time:\n%s", steps, profile.table(12).c_str());
  profile.export_chrome_trace("where_time_goes.json");
  // tour:end profile

  // tour:begin phases
  // The scopes opened outside any other are the phases of a step.
  std::map<std::string, double> phase_ms;
  for (const profiler::Event& e : profile.events()) {
    if (e.depth != 0 || e.thread != 0) continue;
    bool backward = e.name.ends_with(" backward") || e.name == "AccumulateGrad";
    bool update = e.name.starts_with("Adam") || e.name.starts_with("Optimizer");
    phase_ms[backward ? "backward"
             : update ? "optimizer"
                      : "forward"] += e.duration_ns / 1e6 / steps;
  }
  for (auto& [phase, ms] : phase_ms) std::printf("%-9s %6.2f ms per step\n", phase.c_str(), ms);
  // tour:end phases

  // tour:begin threads
  for (int threads : {1, cores}) {  // cores: get_num_threads() at the start
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

// The guided tour, chapter 5 (docs/tour/05-where-the-time-goes.md): one training step of the
// main job's FashionNet (efficient attention, batch 64) taken apart on the reader's machine:
// the BLAS kernels in use, the profile of its ops and kernels (also written as a Chrome trace,
// where_time_goes.json), the ops on a roofline (roofline.svg: arithmetic intensity against
// achieved rate, under the FMA peak and the memory bandwidth measured here), and what the
// thread count and flushing denormal floats do to it.
// Run: ./build/examples/tour/where_time_goes [STEPS]   (default 20 timed steps per figure)
#include <ember/ember.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

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

struct OpPoint {
  std::string name;
  double intensity, gflops;  // FLOPs per byte; FLOPs per ns
};

// The ops on log-log axes of arithmetic intensity (FLOP/byte) against GFLOP/s, under the two
// roofs: min(peak, bandwidth x intensity). An op under the slanted roof is memory-bound.
std::string roofline_plot(const std::vector<OpPoint>& ops, double peak, double bandwidth) {
  const double left = 60, top = 30, width = 420, height = 280, x_lo = -2, x_hi = 3, y_lo = -1;
  const double y_hi = std::ceil(std::log10(peak) + 0.3);
  auto px = [&](double x) { return left + width * (std::log10(x) - x_lo) / (x_hi - x_lo); };
  auto py = [&](double y) { return top + height * (y_hi - std::log10(y)) / (y_hi - y_lo); };
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << left + width + 250 << "' height='"
      << top + height + 50 << "' font-family='Helvetica, Arial, sans-serif' font-size='11'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n<rect x='" << left << "' y='" << top
      << "' width='" << width << "' height='" << height << "' fill='none' stroke='#999'/>\n"
      << "<text x='" << left + width / 2 << "' y='18' text-anchor='middle'>one thread: peak "
      << std::lround(peak) << " GFLOP/s, memory bandwidth " << std::lround(bandwidth)
      << " GB/s</text>\n";
  for (double e = x_lo; e <= x_hi; ++e)
    svg << "<text x='" << px(std::pow(10, e)) << "' y='" << top + height + 16
        << "' text-anchor='middle'>" << std::pow(10, e) << "</text>\n";
  for (double e = y_lo; e <= y_hi; ++e)
    svg << "<text x='" << left - 6 << "' y='" << py(std::pow(10, e)) + 4 << "' text-anchor='end'>"
        << std::pow(10, e) << "</text>\n";
  svg << "<text x='" << left + width / 2 << "' y='" << top + height + 36
      << "' text-anchor='middle'>FLOP per byte (log scale)</text>\n<text x='14' y='"
      << top + height / 2 << "' transform='rotate(-90 14 " << top + height / 2
      << ")' text-anchor='middle'>GFLOP/s (log scale)</text>\n";
  double ridge = peak / bandwidth;  // the roofs: bandwidth x intensity, then the peak
  svg << "<polyline fill='none' stroke='#555' stroke-width='2' points='" << px(1e-2) << ","
      << py(bandwidth * 1e-2) << " " << px(ridge) << "," << py(peak) << " " << px(1e3) << ","
      << py(peak) << "'/>\n";
  for (size_t i = 0; i < ops.size(); ++i) {
    double x = px(ops[i].intensity), y = py(std::max(ops[i].gflops, 0.1));
    svg << "<circle cx='" << x << "' cy='" << y << "' r='4' fill='#2471a3'/>\n<text x='"
        << left + width + 10 << "' y='" << top + 12 + 14 * i << "'>" << i + 1 << ": " << ops[i].name
        << "</text>\n<text x='" << x + 5 << "' y='" << y - 4 << "'>" << i + 1 << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
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

  // tour:begin roofline
  // The roofs, measured here on one thread: the FMA peak, and the bandwidth of a large add
  // (three arrays of 64 MiB: two read, one written).
  Tensor a = randn({int64_t{1} << 24}), b = randn({int64_t{1} << 24});
  double bandwidth = 3 * 4.0 * a.numel() / (median_ms(5, [&] { a + b; }) * 1e6);  // GB/s
  double peak = profiler::fma_peak_gflops(1);
  std::vector<OpPoint> ops;
  for (const profiler::Summary& row : profile.averages())
    if (row.work.flops > 0 && row.work.bytes > 0)
      ops.push_back({row.name, double(row.work.flops) / row.work.bytes,
                     double(row.work.flops) / row.total_ns});
  std::printf("roofline: peak %.1f GFLOP/s, bandwidth %.1f GB/s, %zu ops (roofline.svg)\n", peak,
              bandwidth, ops.size());
  write_file_atomically("roofline.svg", roofline_plot(ops, peak, bandwidth));
  // tour:end roofline

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

// W2, the paper's headline result on a CPU: one attention block on a (1, 64, s, s) feature map
// (1x1-conv keys, queries and values with 64 channels and 4 heads, reprojection, residual),
// forward + backward, as s grows, for three forms: dot-product attention with its full n x n
// map (quadratic time and memory), dot-product attention in blocks of queries
// (blocked_dot_product_attention: quadratic time, linear memory) and efficient attention
// (linear in both). Each point runs in a fresh child process (this program with --child), so
// its peak resident memory is its own; the full map stops where its predicted memory passes
// --budget-mib. Prints a table and each curve's fitted exponents (the slope of log time and log
// memory against log n over its largest sizes), and writes a CSV and an SVG plot.
// Run: ./build/examples/attention_scaling [--threads 2] [--csv scaling.csv] [--svg scaling.svg]
#include <ember/ember.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

extern char** environ;

using namespace ember;

namespace {

struct Point {
  std::string variant;
  int64_t size = 0;
  double median_ms = 0, tracked_mib = 0, rss_mib = 0;
  int reps = 0;
};

double rss_peak_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// The measurement itself, in the child: prints "median_ms tracked_mib rss_mib reps".
int child(const std::string& variant, int64_t s, double target_s) {
  manual_seed(0);
  nn::AttentionConfig o{
      .in_channels = 64, .key_channels = 64, .value_channels = 64, .head_count = 4};
  std::shared_ptr<nn::Module> block;
  if (variant == "efficient") {
    block = nn::EfficientAttention2d(o);
  } else {
    o.blocked = variant == "blocked";
    block = nn::DotProductAttention2d(o);
  }
  Tensor x = randn({1, 64, s, s}).requires_grad_();
  auto step = [&] {
    block->zero_grad();
    x.set_grad(Tensor());
    auto t0 = std::chrono::steady_clock::now();
    sum((*block)(x)).backward();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  reset_peak_memory_stats();
  int64_t before = memory_stats().current;
  double warm = step();
  double tracked = static_cast<double>(memory_stats().peak - before) / 1048576.0;
  int reps = static_cast<int>(std::clamp(target_s / warm, 3.0, 30.0));
  if (3 * warm > 120) reps = 1;
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) t.push_back(step());
  std::sort(t.begin(), t.end());
  std::printf("%.3f %.3f %.1f %d\n", 1e3 * t[t.size() / 2], tracked, rss_peak_mib(), reps);
  return 0;
}

// Runs this program as a child for one point and parses its line.
bool measure(const std::string& self, Point& p, int threads, double target_s) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<std::string> args{self,         "--child",
                                "--variant",  p.variant,
                                "--size",     std::to_string(p.size),
                                "--threads",  std::to_string(threads),
                                "--target-s", std::to_string(target_s)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return false;
  }
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::istringstream in(out);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
         static_cast<bool>(in >> p.median_ms >> p.tracked_mib >> p.rss_mib >> p.reps);
}

// Bytes the dot-product block with the full map needs, about: 3 float32 n x n maps per head
// live at the peak of the backward (measured: 12.03 bytes per n^2 per head at 96²), plus the
// linear part.
double predicted_dot_mib(int64_t s) {
  double n = double(s) * double(s);
  return (12.05 * 4 * n * n + 64 * 4 * 40 * n) / 1048576.0;
}

// The three curves: name in the CSV, legend, colour.
struct Curve {
  const char* variant;
  const char* label;
  const char* color;
};
constexpr Curve kCurves[] = {{"efficient", "efficient attention", "#1f77b4"},
                             {"dot", "dot-product, full map", "#d62728"},
                             {"blocked", "dot-product in blocks", "#2ca02c"}};

// Least-squares slope of log(value) against log(n) over a curve's `last` largest sizes; NaN
// with fewer than two points.
template <typename Value>
double fitted_exponent(const std::vector<Point>& points, const std::string& variant, size_t last,
                       Value value) {
  std::vector<std::pair<double, double>> xy;
  for (const Point& p : points)
    if (p.variant == variant)
      xy.emplace_back(std::log(double(p.size * p.size)), std::log(value(p)));
  if (xy.size() > last) xy.erase(xy.begin(), xy.end() - static_cast<std::ptrdiff_t>(last));
  if (xy.size() < 2) return NAN;
  double mx = 0, my = 0;
  for (auto [x, y] : xy) mx += x / xy.size(), my += y / xy.size();
  double sxy = 0, sxx = 0;
  for (auto [x, y] : xy) sxy += (x - mx) * (y - my), sxx += (x - mx) * (x - mx);
  return sxy / sxx;
}

std::string svg_plot(const std::vector<Point>& points) {
  // Two log-log panels side by side: time (ms) and tracked peak memory (MiB) against n.
  const int w = 460, h = 340, left = 60, top = 30, pw = 360, ph = 250;
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << 2 * w << "' height='" << h
      << "' font-family='Helvetica' font-size='11'>\n<rect width='100%' height='100%' "
         "fill='white'/>\n";
  auto panel = [&](int x0, const char* title, auto value) {
    double xmin = 1e300, xmax = 0, ymin = 1e300, ymax = 0;
    for (const Point& p : points) {
      double n = double(p.size * p.size), v = value(p);
      xmin = std::min(xmin, n), xmax = std::max(xmax, n), ymin = std::min(ymin, v),
      ymax = std::max(ymax, v);
    }
    double lx0 = std::floor(std::log10(xmin)), lx1 = std::ceil(std::log10(xmax));
    double ly0 = std::floor(std::log10(ymin)), ly1 = std::ceil(std::log10(ymax));
    auto px = [&](double n) { return x0 + left + pw * (std::log10(n) - lx0) / (lx1 - lx0); };
    auto py = [&](double v) { return top + ph - ph * (std::log10(v) - ly0) / (ly1 - ly0); };
    svg << "<text x='" << x0 + left + pw / 2 << "' y='18' text-anchor='middle' font-size='13'>"
        << title << "</text>\n";
    svg << "<rect x='" << x0 + left << "' y='" << top << "' width='" << pw << "' height='" << ph
        << "' fill='none' stroke='#444'/>\n";
    for (double e = lx0; e <= lx1; ++e)
      svg << "<text x='" << px(std::pow(10, e)) << "' y='" << top + ph + 15
          << "' text-anchor='middle'>1e" << e << "</text>\n";
    for (double e = ly0; e <= ly1; ++e)
      svg << "<text x='" << x0 + left - 5 << "' y='" << py(std::pow(10, e)) + 4
          << "' text-anchor='end'>1e" << e << "</text>\n";
    svg << "<text x='" << x0 + left + pw / 2 << "' y='" << top + ph + 32
        << "' text-anchor='middle'>n = H x W</text>\n";
    int legend_y = top + 18;
    for (const Curve& c : kCurves) {
      std::ostringstream line;
      for (const Point& p : points)
        if (p.variant == c.variant) {
          double n = double(p.size * p.size);
          line << px(n) << ',' << py(value(p)) << ' ';
          svg << "<circle cx='" << px(n) << "' cy='" << py(value(p)) << "' r='3' fill='" << c.color
              << "'/>\n";
        }
      svg << "<polyline points='" << line.str() << "' fill='none' stroke='" << c.color
          << "' stroke-width='2'/>\n";
      svg << "<text x='" << x0 + left + 10 << "' y='" << legend_y << "' fill='" << c.color << "'>"
          << c.label << "</text>\n";
      legend_y += 16;
    }
  };
  panel(0, "forward + backward, median ms", [](const Point& p) { return p.median_ms; });
  panel(w, "peak tensor memory, MiB (tracked)", [](const Point& p) { return p.tracked_mib; });
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "W2: efficient attention, dot-product attention with the full map and in blocks, "
      "forward+backward, at growing resolution"};
  std::vector<int64_t> eff_sizes{16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024};
  std::vector<int64_t> dot_sizes{16, 32, 48, 64, 96, 128, 192};
  std::vector<int64_t> blocked_sizes{16, 32, 48, 64, 96, 128};
  int threads = 2;
  double budget_mib = 16384, target_s = 5;
  std::string csv = "attention_scaling.csv", svg = "attention_scaling.svg", variant;
  bool is_child = false;
  int64_t size = 0;
  app.add_option("--efficient-sizes", eff_sizes,
                 "feature-map sizes s (n = s^2) for efficient attention")
      ->delimiter(',');
  app.add_option("--dot-sizes", dot_sizes,
                 "sizes for dot-product attention with the full map (stopped by --budget-mib)")
      ->delimiter(',');
  app.add_option("--blocked-sizes", blocked_sizes, "sizes for dot-product attention in blocks")
      ->delimiter(',');
  app.add_option("--threads", threads, "threads");
  app.add_option("--budget-mib", budget_mib,
                 "memory budget: skip full-map sizes predicted to need more");
  app.add_option("--target-s", target_s, "seconds of timed repetitions per point, about");
  app.add_option("--csv", csv, "CSV output");
  app.add_option("--svg", svg, "SVG plot output");
  app.add_flag("--child", is_child)->group("");
  app.add_option("--variant", variant)->group("");
  app.add_option("--size", size)->group("");
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);
  if (is_child) return child(variant, size, target_s);

  std::string self = "/proc/self/exe";
  char path[4096];
  ssize_t len = readlink(self.c_str(), path, sizeof path - 1);
  if (len > 0) self.assign(path, len);
  std::vector<Point> points;
  std::printf("%-10s %5s %8s %12s %14s %12s %5s\n", "variant", "s", "n", "median ms", "tracked MiB",
              "peak RSS MiB", "reps");
  for (auto [name, sizes] :
       {std::pair{std::string("efficient"), eff_sizes}, std::pair{std::string("dot"), dot_sizes},
        std::pair{std::string("blocked"), blocked_sizes}}) {
    for (int64_t s : sizes) {
      if (name == "dot" && predicted_dot_mib(s) > budget_mib) {
        std::printf("%-10s %5lld %8lld  skipped: predicted %.0f MiB > budget %.0f MiB\n",
                    name.c_str(), (long long)s, (long long)(s * s), predicted_dot_mib(s),
                    budget_mib);
        break;
      }
      Point p{name, s};
      if (!measure(self, p, threads, target_s)) {
        std::printf("%-10s %5lld  failed (out of memory?)\n", name.c_str(), (long long)s);
        break;
      }
      if (p.rss_mib > budget_mib) {
        std::printf("%-10s %5lld  over budget: peak RSS %.0f MiB > %.0f MiB\n", name.c_str(),
                    (long long)s, p.rss_mib, budget_mib);
        break;
      }
      points.push_back(p);
      std::printf("%-10s %5lld %8lld %12.2f %14.1f %12.1f %5d\n", name.c_str(), (long long)s,
                  (long long)(s * s), p.median_ms, p.tracked_mib, p.rss_mib, p.reps);
      std::fflush(stdout);
    }
  }
  std::printf("fitted exponents over each curve's 4 largest sizes (time, tracked memory):\n");
  for (const Curve& c : kCurves)
    std::printf(
        "  %-24s time %.2f  memory %.2f\n", c.label,
        fitted_exponent(points, c.variant, 4, [](const Point& p) { return p.median_ms; }),
        fitted_exponent(points, c.variant, 4, [](const Point& p) { return p.tracked_mib; }));
  std::ostringstream out;
  out << "variant,s,n,median_ms,tracked_peak_mib,peak_rss_mib,reps\n";
  for (const Point& p : points)
    out << p.variant << ',' << p.size << ',' << p.size * p.size << ',' << p.median_ms << ','
        << p.tracked_mib << ',' << p.rss_mib << ',' << p.reps << '\n';
  write_file_atomically(csv, out.str(), "attention_scaling");
  write_file_atomically(svg, svg_plot(points), "attention_scaling");
  std::cout << "wrote " << csv << " and " << svg << "\n";
  return 0;
}

// What the main job (train_fashion_mnist) records about a training run: the per-epoch metrics as
// a CSV, the training loss of every step averaged over windows of steps, an SVG plot of both,
// and the process's resident memory.
// Both files are written atomically (write_file_atomically), so an interrupted run never leaves
// half of one.
#pragma once

#include <ember/ember.h>

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace ember::examples {

struct EpochMetrics {
  int epoch;
  double train_loss, train_accuracy, test_loss, test_accuracy, images_per_s, seconds, rss_mib;
  double test_miou;  // mean IoU over the classes (per pixel for the scenes)
};

/// Resident memory of this process now (VmRSS) or at its peak (VmHWM), from /proc/self/status
/// (0 where unavailable).
inline double status_mib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(field.size())) / 1024.0;
  return 0;
}
inline double resident_mib() { return status_mib("VmRSS:"); }
inline double peak_resident_mib() { return status_mib("VmHWM:"); }

inline void write_metrics(const std::string& path, const std::vector<EpochMetrics>& rows) {
  std::ostringstream out;
  out << "epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_images_per_s,"
         "train_seconds,resident_mib,test_miou\n";
  for (const auto& r : rows)
    out << r.epoch << ',' << r.train_loss << ',' << r.train_accuracy << ',' << r.test_loss << ','
        << r.test_accuracy << ',' << r.images_per_s << ',' << r.seconds << ',' << r.rss_mib << ','
        << r.test_miou << '\n';
  write_file_atomically(path, out.str(), "write_metrics");
}

// The training loss of every step, averaged over windows of steps so that a plot shows the
// curve within an epoch (about 25 points per epoch) without each batch's noise. Each point is
// (epoch as a fraction, mean loss of the window that ends there).
struct LossCurve {
  explicit LossCurve(int64_t steps_per_epoch)
      : steps_per_epoch(steps_per_epoch), window(std::max<int64_t>(1, steps_per_epoch / 25)) {}
  int64_t steps_per_epoch, window;
  std::vector<std::pair<double, double>> points;
  double sum = 0;
  int64_t count = 0;

  void add(int64_t global_step, double loss) {  // global_step counts from 1
    sum += loss, ++count;
    if (count == window || global_step % steps_per_epoch == 0) {
      points.emplace_back(double(global_step) / steps_per_epoch, sum / count);
      sum = 0, count = 0;
    }
  }
};

// One series of a plot panel: points joined by a line, with dots when there are few.
struct Series {
  const char* name;
  std::vector<std::pair<double, double>> points;
};

// Two panels: losses (the training loss per window of steps, the test loss per epoch) and
// accuracies (training and test, per epoch), against the epoch.
inline void write_plot(const std::string& path, const std::vector<EpochMetrics>& rows,
                       const LossCurve& curve) {
  const int w = 420, h = 300, left = 55, top = 35, pw = 330, ph = 210;
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << 2 * w << "' height='" << h
      << "' font-family='Helvetica' font-size='11'>\n<rect width='100%' height='100%' "
         "fill='white'/>\n";
  double x_lo = rows.front().epoch - 1, x_hi = rows.back().epoch;
  auto panel = [&](int x0, const char* title, const std::vector<Series>& series) {
    double lo = 1e300, hi = -1e300;
    for (const auto& s : series)
      for (auto [x, y] : s.points) lo = std::min(lo, y), hi = std::max(hi, y);
    if (hi - lo < 1e-9) hi = lo + 1;
    double pad = 0.05 * (hi - lo);
    lo -= pad, hi += pad;
    auto px = [&](double x) { return x0 + left + pw * (x - x_lo) / (x_hi - x_lo); };
    auto py = [&](double y) { return top + ph - ph * (y - lo) / (hi - lo); };
    svg << "<text x='" << x0 + left + pw / 2 << "' y='20' text-anchor='middle' font-size='13'>"
        << title << "</text>\n"
        << "<rect x='" << x0 + left << "' y='" << top << "' width='" << pw << "' height='" << ph
        << "' fill='none' stroke='#444'/>\n";
    for (int k = 0; k <= 4; ++k) {
      double y = lo + (hi - lo) * k / 4;
      svg << "<text x='" << x0 + left - 5 << "' y='" << py(y) + 4 << "' text-anchor='end'>"
          << std::setprecision(3) << y << "</text>\n";
    }
    for (int e = int(x_lo); e <= int(x_hi); ++e)
      svg << "<text x='" << px(e) << "' y='" << top + ph + 15 << "' text-anchor='middle'>" << e
          << "</text>\n";
    svg << "<text x='" << x0 + left + pw / 2 << "' y='" << top + ph + 32
        << "' text-anchor='middle'>epoch</text>\n";
    const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c"};
    for (size_t s = 0; s < series.size(); ++s) {
      std::ostringstream pts;
      for (auto [x, y] : series[s].points) {
        pts << px(x) << ',' << py(y) << ' ';
        if (series[s].points.size() <= 20)
          svg << "<circle cx='" << px(x) << "' cy='" << py(y) << "' r='3' fill='" << colors[s]
              << "'/>\n";
      }
      svg << "<polyline points='" << pts.str() << "' fill='none' stroke='" << colors[s]
          << "' stroke-width='" << (series[s].points.size() > 20 ? 1.5 : 2) << "'/>\n"
          << "<text x='" << x0 + pw + left - 10 << "' y='" << top + 16 + 14 * s
          << "' text-anchor='end' fill='" << colors[s] << "'>" << series[s].name << "</text>\n";
    }
  };
  Series test_loss{"test loss", {}}, train_acc{"training accuracy", {}},
      test_acc{"test accuracy", {}};
  for (const auto& r : rows) {
    test_loss.points.emplace_back(r.epoch, r.test_loss);
    train_acc.points.emplace_back(r.epoch, 100 * r.train_accuracy);
    test_acc.points.emplace_back(r.epoch, 100 * r.test_accuracy);
  }
  panel(0, "loss", {{"training loss (mean per window of steps)", curve.points}, test_loss});
  panel(w, "accuracy (%)", {train_acc, test_acc});
  svg << "</svg>\n";
  write_file_atomically(path, svg.str(), "write_plot");
}

}  // namespace ember::examples

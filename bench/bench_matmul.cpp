// W3: square float32 GEMM. ember::matmul against the direct OpenBLAS sgemm call on the same
// buffers, at 1 and 2 threads, and against the machine's FMA peak. Prints GFLOP/s from median
// times and the ratios; the last column is ember::matmul with set_thread_count_invariant(true)
// (panels of single-thread GEMMs).
// With --cores, it also runs itself once per OpenBLAS core (OPENBLAS_CORETYPE set in a child
// process), round-robin, and prints each core's sgemm speed next to ember's default choice.
// Run: ./build/bench/bench_matmul [--sizes 256,512,1024,2048] [--threads 1,2]
//                                 [--cores Haswell,Zen,SkylakeX,Cooperlake]
#include <ember/core/blas.h>
#include <ember/core/kernels/gemm.h>
#include <ember/ember.h>

#include <cstdio>
#include <map>
#include <sstream>

#include "harness.h"

namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  for (const auto& item : split(text)) out.push_back(std::stoi(item));
  return out;
}

// float32 FMA flop per cycle per core: two FMA pipes of 256 bits (AVX2 CPUs and Zen 4, which
// splits 512-bit FMAs in two) or of 512 bits (Intel AVX-512 server cores, AMD Zen 5).
struct Row {
  int threads, n;
  double ember_gf, cblas_gf, invariant_gf;
};

std::vector<Row> measure(const std::vector<int>& sizes, const std::vector<int>& threads,
                         double target_s) {
  std::vector<Row> rows;
  const auto& blas = ember::kernels::blas_library();
  for (int t : threads) {
    ember::set_num_threads(t);
    for (int n : sizes) {
      ember::manual_seed(0);
      ember::Tensor a = ember::randn({n, n}), b = ember::randn({n, n});
      ember::Tensor c = ember::empty({n, n});
      const float* ap = a.data_ptr<float>();
      const float* bp = b.data_ptr<float>();
      float* cp = c.data_ptr<float>();
      ember::NoGradGuard no_grad;
      auto invariant = [&] {
        ember::set_thread_count_invariant(true);
        ember::Tensor r = ember::matmul(a, b);
        ember::set_thread_count_invariant(false);
      };
      auto direct = [&] {
        blas.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, ap, n, bp, n, 0.0f, cp,
                   n);
      };
      auto times = ember::bench::interleaved(
          {[&] { ember::Tensor r = ember::matmul(a, b); }, direct, invariant}, target_s);
      double flop = 2.0 * n * double(n) * n;
      rows.push_back({t, n, flop / times[0] / 1e9, flop / times[1] / 1e9, flop / times[2] / 1e9});
    }
  }
  return rows;
}

// GEMM shapes of the kind ember's layers run, one thread each (convolutions and attention run
// one GEMM per sample or head on each thread): C (m x n) = A (m x k) B (k x n).
struct Thin {
  const char* name;
  int m, k, n;
};
constexpr Thin kThin[] = {
    {"64x32x3136", 64, 32, 3136}, {"64x288x196", 64, 288, 196}, {"288x64x196", 288, 64, 196}};

double thin_gflops(const Thin& t) {
  ember::set_num_threads(1);
  ember::Tensor a = ember::randn({t.m, t.k}), b = ember::randn({t.k, t.n}),
                c = ember::empty({t.m, t.n});
  const auto& blas = ember::kernels::blas_library();
  auto times = ember::bench::interleaved({[&] {
                                           blas.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                                      t.m, t.n, t.k, 1.0f, a.data_ptr<float>(), t.k,
                                                      b.data_ptr<float>(), t.n, 0.0f,
                                                      c.data_ptr<float>(), t.n);
                                         }},
                                         0.5);
  return 2.0 * t.m * t.n * t.k / times[0] / 1e9;
}

// Runs this program per core in child processes, `rounds` times round-robin; median GF/s of
// the direct sgemm per (core, threads, n). The core "default" is ember's own choice.
std::map<std::string, std::map<std::pair<int, int>, double>> per_core(
    const char* self, const std::vector<std::string>& cores, const std::string& sizes,
    const std::string& threads, int rounds) {
  std::map<std::string, std::map<std::pair<int, int>, std::vector<double>>> runs;
  for (int r = 0; r < rounds; ++r) {
    for (const auto& core : cores) {
      std::string cmd = (core == "default" ? std::string("env -u OPENBLAS_CORETYPE ")
                                           : "env OPENBLAS_CORETYPE=" + core + " ") +
                        self + " --child --sizes " + sizes + " --threads " + threads;
      FILE* pipe = popen(cmd.c_str(), "r");
      char line[256];
      while (pipe && std::fgets(line, sizeof(line), pipe)) {
        int t = 0, n = 0;
        double ge = 0, gc = 0;
        char name[32];
        for (int i = 0; i < int(std::size(kThin)); ++i)  // thin shapes: keyed (0, -1 - index)
          if (std::sscanf(line, "thin %31s %lf", name, &gc) == 2 &&
              kThin[i].name == std::string(name))
            runs[core][{0, -1 - i}].push_back(gc);
        if (std::sscanf(line, "%d %d %lf %lf", &t, &n, &ge, &gc) == 4)
          runs[core][{t, n}].push_back(core == "default" ? ge : gc);
      }
      if (pipe) pclose(pipe);
    }
  }
  std::map<std::string, std::map<std::pair<int, int>, double>> out;
  for (auto& [core, points] : runs)
    for (auto& [key, values] : points) out[core][key] = ember::bench::median(values);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string sizes = "256,512,1024,2048", threads = "1,2", cores;
  bool child = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--child")
      child = true;
    else if (i + 1 < argc && flag == "--sizes")
      sizes = argv[++i];
    else if (i + 1 < argc && flag == "--threads")
      threads = argv[++i];
    else if (i + 1 < argc && flag == "--cores")
      cores = argv[++i];
  }
  if (child) {  // one line per point: threads n ember_GF/s direct_GF/s, then the thin shapes
    for (const Row& r : measure(parse_list(sizes), parse_list(threads), 1.0))
      std::printf("%d %d %.2f %.2f\n", r.threads, r.n, r.ember_gf, r.cblas_gf);
    for (const Thin& t : kThin) std::printf("thin %s %.2f\n", t.name, thin_gflops(t));
    return 0;
  }
  std::printf(
      "W3 sgemm, median of interleaved reps\n%s\nFMA peak %.1f GFLOP/s per thread "
      "(ember::profiler::fma_peak_gflops)\n",
      ember::to_string(ember::blas_info()).c_str(), ember::profiler::fma_peak_gflops(1));
  std::printf("%7s %5s %12s %12s %12s %8s %10s %16s\n", "threads", "n", "ember GF/s", "cblas GF/s",
              "peak GF/s", "ember/cblas", "ember/peak", "invariant/cblas");
  for (const Row& r : measure(parse_list(sizes), parse_list(threads), 2.0)) {
    double peak = ember::profiler::fma_peak_gflops(r.threads);
    std::printf("%7d %5d %12.1f %12.1f %12.1f %8.3f %10.3f %16.3f\n", r.threads, r.n, r.ember_gf,
                r.cblas_gf, peak, r.ember_gf / r.cblas_gf, peak > 0 ? r.ember_gf / peak : 0.0,
                r.invariant_gf / r.cblas_gf);
  }
  if (cores.empty()) return 0;
  std::vector<std::string> names = split(cores);
  names.insert(names.begin(), "default");
  auto table = per_core(argv[0], names, sizes, threads, 3);
  std::printf(
      "\nsgemm GF/s per OpenBLAS core (child processes, median of 3 round-robin runs);\n"
      "'default' is ember::matmul with the core ember chose\n%7s %5s",
      "threads", "n");
  for (const auto& core : names) std::printf(" %11s", core.c_str());
  std::printf(" %13s\n", "default/best");
  for (int t : parse_list(threads)) {
    for (int n : parse_list(sizes)) {
      std::printf("%7d %5d", t, n);
      double best = 0;
      for (const auto& core : names) {
        double v = table[core][{t, n}];
        if (core != "default") best = std::max(best, v);
        std::printf(" %11.1f", v);
      }
      std::printf(" %13.3f\n", best > 0 ? table["default"][{t, n}] / best : 0.0);
    }
  }
  std::printf("\nthin GEMMs (m x k x n), 1 thread, direct sgemm GF/s\n%13s", "shape");
  for (const auto& core : names) std::printf(" %11s", core.c_str());
  std::printf(" %13s\n", "default/best");
  for (int i = 0; i < int(std::size(kThin)); ++i) {
    std::printf("%13s", kThin[i].name);
    double best = 0;
    for (const auto& core : names) {
      double v = table[core][{0, -1 - i}];
      if (core != "default") best = std::max(best, v);
      std::printf(" %11.1f", v);
    }
    std::printf(" %13.3f\n", best > 0 ? table["default"][{0, -1 - i}] / best : 0.0);
  }
  return 0;
}

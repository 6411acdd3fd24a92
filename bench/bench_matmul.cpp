// W3: square float32 GEMM. ember::matmul against a direct cblas_sgemm on the same buffers, at
// 1 and 2 threads, and against the machine's FMA peak (Zen 4: 32 float32 flop per cycle per
// core, 2 x 256-bit FMA pipes). Prints GFLOP/s from median times and the ratios; the last column
// is ember::matmul with set_thread_count_invariant(true) (panels of single-thread GEMMs).
// Run: ./build/bench/bench_matmul [--sizes 256,512,1024,2048] [--threads 1,2]
#include <cblas.h>
#include <ember/ember.h>

#include <cstdio>
#include <sstream>

#include "harness.h"

namespace {

std::vector<int> parse_list(const char* text) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes{256, 512, 1024, 2048}, threads{1, 2};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--sizes")
      sizes = parse_list(argv[i + 1]);
    else if (flag == "--threads")
      threads = parse_list(argv[i + 1]);
  }
  double mhz = ember::bench::cpu_mhz();
  std::printf("W3 sgemm, median of interleaved reps; cpu MHz %.0f (peak = threads x MHz x 32)\n",
              mhz);
  std::printf("%7s %5s %12s %12s %12s %8s %10s %16s\n", "threads", "n", "ember GF/s", "cblas GF/s",
              "peak GF/s", "ember/cblas", "ember/peak", "invariant/cblas");
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
      auto times =
          ember::bench::interleaved({[&] { ember::Tensor r = ember::matmul(a, b); },
                                     [&] {
                                       cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n,
                                                   n, 1.0f, ap, n, bp, n, 0.0f, cp, n);
                                     },
                                     invariant},
                                    2.0);
      double flop = 2.0 * n * double(n) * n;
      double ge = flop / times[0] / 1e9, gc = flop / times[1] / 1e9, gi = flop / times[2] / 1e9;
      double peak = t * mhz * 1e6 * 32 / 1e9;
      std::printf("%7d %5d %12.1f %12.1f %12.1f %8.3f %10.3f %16.3f\n", t, n, ge, gc, peak, ge / gc,
                  peak > 0 ? ge / peak : 0.0, gi / gc);
    }
  }
  return 0;
}

// Elementwise and reduction bandwidth: add (2 reads + 1 write), exp (1 + 1) and sum (1 read)
// over 1M to 16M float32 values, in GB/s from median times, at the current thread count
// (EMBER_NUM_THREADS or all cores), next to a plain single-threaded C++ loop for scale.
// Run: ./build/bench/bench_elementwise
#include <ember/core/kernels/vmath.h>
#include <ember/ember.h>

#include <cmath>
#include <cstdio>

#include "harness.h"

int main() {
  using namespace ember;
  NoGradGuard no_grad;
  std::printf("%s; vector math: %s\n", to_string(blas_info()).c_str(), kernels::vmath::isa());
  std::printf("threads %d; GB/s from median times (bytes moved / time)\n", get_num_threads());
  std::printf("%10s %10s %10s %10s %10s %12s\n", "n", "add", "exp", "sum", "loop add",
              "ember/loop");
  for (int64_t n : {int64_t{1} << 20, int64_t{1} << 22, int64_t{1} << 24}) {
    manual_seed(0);
    Tensor a = randn({n}), b = randn({n});
    std::vector<float> out(n);
    const float* ap = a.data_ptr<float>();
    const float* bp = b.data_ptr<float>();
    auto t = bench::interleaved(
        {[&] { Tensor c = a + b; }, [&] { Tensor c = exp(a); }, [&] { Tensor s = sum(a); },
         [&] {
           for (int64_t i = 0; i < n; ++i) out[i] = ap[i] + bp[i];
         }},
        2.0);
    double gb = double(n) * 4 / 1e9;
    std::printf("%10lld %10.1f %10.1f %10.1f %10.1f %12.2f\n", static_cast<long long>(n),
                3 * gb / t[0], 2 * gb / t[1], gb / t[2], 3 * gb / t[3], t[3] / t[0]);
  }
  return 0;
}

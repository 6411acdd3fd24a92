// The guided tour, chapter 6 (docs/tour/06-training-on-more-than-one-process.md): data
// parallelism simulated in one process. Two "ranks" each take half of a batch; averaging their
// gradients gives the whole batch's gradient, unless batch norm normalised each half with its
// own statistics. Then the ring all-reduce's cost for FashionNet's gradients.
// Run: ./build/examples/tour/data_parallel_by_hand
#include <ember/ember.h>

#include <cstdio>
#include <vector>

#include "../fashion_net.h"

using namespace ember;

namespace {

nn::Sequential small_net(bool batch_norm) {
  manual_seed(3);  // the same weights every time
  nn::Conv2d conv({.in_channels = 1, .out_channels = 4, .kernel_size = 3, .padding = 1});
  std::shared_ptr<nn::Module> norm = nn::Identity();
  if (batch_norm) norm = nn::BatchNorm2d(4);
  nn::Sequential net(conv, norm, nn::ReLU(), nn::Flatten(), nn::Linear(4 * 6 * 6, 3));
  net->to(kFloat64);
  return net;
}

// The gradients of the mean cross-entropy over `x` with respect to every parameter.
std::vector<Tensor> gradients(nn::Module& net, const Tensor& x, const Tensor& y) {
  net.zero_grad();
  nn::functional::cross_entropy(net(x), y).backward();
  std::vector<Tensor> g;
  for (const Tensor& p : net.parameters()) g.push_back(p.grad().clone());
  return g;
}

}  // namespace

int main() {
  manual_seed(0);
  Tensor x = randn({8, 1, 6, 6}, kFloat64), y = randint(0, 3, {8});
  // tour:begin average
  for (bool batch_norm : {false, true}) {
    auto net = small_net(batch_norm);
    auto whole = gradients(*net, x, y);                                  // one process
    auto rank0 = gradients(*net, x.narrow(0, 0, 4), y.narrow(0, 0, 4));  // two ranks,
    auto rank1 = gradients(*net, x.narrow(0, 4, 4), y.narrow(0, 4, 4));  // half each
    double worst = 0;
    for (size_t i = 0; i < whole.size(); ++i) {
      Tensor averaged = (rank0[i] + rank1[i]) * 0.5;  // what all_reduce(Average) computes
      worst = std::max(worst, amax(abs(averaged - whole[i]), {}).item<double>());
    }
    std::printf("%s: averaged half-batch gradients %s the whole batch's\n",
                batch_norm ? "with batch norm   " : "without batch norm",
                worst < 1e-12 ? "equal" : "differ from");
  }
  // tour:end average

  // tour:begin cost
  examples::FashionNet fashion_net("efficient");
  double bytes = 4.0 * static_cast<double>(nn::parameter_count(fashion_net));
  std::printf("FashionNet: %lld parameters, %.2f MB of float32 gradients per step\n",
              (long long)nn::parameter_count(fashion_net), bytes / 1e6);
  std::printf("%5s %12s %9s %9s %9s\n", "ranks", "MB per rank", "1 GbE", "10 GbE", "25 GbE");
  for (int n : {2, 4, 8}) {
    double moved = 2.0 * (n - 1) / n * bytes;  // a ring: reduce-scatter, then all-gather
    std::printf("%5d %12.2f", n, moved / 1e6);
    for (double gbit : {1.0, 10.0, 25.0}) std::printf(" %6.2f ms", 1e3 * moved * 8 / (gbit * 1e9));
    std::printf("\n");
  }
  // tour:end cost
}

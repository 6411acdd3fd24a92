// The guided tour, chapter 4 (docs/tour/04-two-attentions.md): dot-product attention and
// efficient attention on one example; their equality under scaling normalization; the n x n
// map one builds against the d_k x d_v context the other builds; and how their peak memory
// grows with the number of positions, from ember's tracking allocator (attention_memory.svg);
// with the main job's checkpoint, the global attention maps of its trained FashionNet
// (global_attention_maps.png).
// Run: ./build/examples/tour/two_attentions [build/fashion_mnist.safetensors [DATA_DIR]]
#include <ember/ember.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "../attention_map_grid.h"

using namespace ember;
namespace F = ember::nn::functional;
using nn::Normalization;

namespace {

// Peak bytes allocated while one forward and backward of `attention` runs at n positions.
template <typename Attention>
double peak_bytes(Attention attention, int64_t n) {
  manual_seed(1);
  Tensor q = randn({1, 1, 32, n}).requires_grad_(), k = randn({1, 1, 32, n}).requires_grad_();
  Tensor v = randn({1, 1, 32, n}).requires_grad_();
  empty_cache();
  reset_peak_memory_stats();
  int64_t before = memory_stats().current;
  sum(attention(q, k, v)).backward();
  return static_cast<double>(memory_stats().peak - before);
}

// Peak memory against positions on log-log axes, one line per attention, as SVG.
std::string memory_plot(const std::vector<double>& n, const std::vector<double>& dot,
                        const std::vector<double>& efficient) {
  const double left = 60, top = 30, width = 360, height = 240;
  double y_lo = std::floor(std::log10(std::min(dot.front(), efficient.front())));
  double y_hi = std::ceil(std::log10(std::max(dot.back(), efficient.back())));
  auto px = [&](double x) {
    return left + width * std::log2(x / n.front()) / std::log2(n.back() / n.front());
  };
  auto py = [&](double y) { return top + height * (y_hi - std::log10(y)) / (y_hi - y_lo); };
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << left + width + 140 << "' height='"
      << top + height + 50 << "' font-family='Helvetica, Arial, sans-serif' font-size='12'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n<rect x='" << left << "' y='" << top
      << "' width='" << width << "' height='" << height << "' fill='none' stroke='#999'/>\n"
      << "<text x='" << left + width / 2 << "' y='18' text-anchor='middle'>peak memory of one "
      << "forward and backward, one head, 32 channels</text>\n";
  for (double x : n)
    svg << "<text x='" << px(x) << "' y='" << top + height + 16 << "' text-anchor='middle'>" << x
        << "</text>\n";
  for (double e = y_lo; e <= y_hi; ++e)
    svg << "<text x='" << left - 6 << "' y='" << py(std::pow(10, e)) + 4 << "' text-anchor='end'>"
        << std::pow(10, e) << "</text>\n";
  svg << "<text x='" << left + width / 2 << "' y='" << top + height + 36
      << "' text-anchor='middle'>positions n (log scale)</text>\n<text x='14' y='"
      << top + height / 2 << "' transform='rotate(-90 14 " << top + height / 2
      << ")' text-anchor='middle'>MiB (log scale)</text>\n";
  for (auto [values, color, name] : {std::tuple{&dot, "#c0392b", "dot-product"},
                                     std::tuple{&efficient, "#2471a3", "efficient"}}) {
    svg << "<polyline fill='none' stroke='" << color << "' stroke-width='2' points='";
    for (size_t i = 0; i < n.size(); ++i) svg << px(n[i]) << "," << py((*values)[i]) << " ";
    svg << "'/>\n<text x='" << px(n.back()) + 8 << "' y='" << py(values->back()) + 4 << "' fill='"
        << color << "'>" << name << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace

int main(int argc, char** argv) try {
  // tour:begin equal
  manual_seed(0);
  // One head, d_k = 4 key channels, d_v = 3 value channels, n = 6 positions, channels first.
  Tensor q = randn({1, 1, 4, 6}, kFloat64), k = randn({1, 1, 4, 6}, kFloat64);
  Tensor v = randn({1, 1, 3, 6}, kFloat64);
  Tensor dot = F::dot_product_attention(q, k, v, Normalization::Scaling);
  Tensor efficient = F::efficient_attention(q, k, v, Normalization::Scaling);
  double gap = amax(abs(dot - efficient), {}).item<double>();
  std::cout << "scaling normalization: dot-product and efficient attention agree to 1e-12: "
            << (gap < 1e-12 ? "yes" : "no") << "\n";
  // tour:end equal

  // tour:begin softmax
  Tensor dot_softmax = F::dot_product_attention(q, k, v);
  Tensor efficient_softmax = F::efficient_attention(q, k, v);
  std::cout << "softmax normalization: both give " << shape_str(dot_softmax.sizes())
            << ", and differ by "
            << std::round(amax(abs(dot_softmax - efficient_softmax), {}).item<double>() * 10) / 10
            << " at most: different functions\n";
  // tour:end softmax

  // tour:begin sizes
  int64_t n = 64 * 64, d_k = 32, d_v = 32;  // a 64x64 feature map, 32 channels
  std::cout << "at n = " << n << ": the map holds " << n * n << " numbers, the context "
            << d_k * d_v << "\n";
  // tour:end sizes

  // tour:begin memory
  auto dot_attention = [](const Tensor& q, const Tensor& k, const Tensor& v) {
    return F::dot_product_attention(q, k, v);
  };
  auto efficient_attention = [](const Tensor& q, const Tensor& k, const Tensor& v) {
    return F::efficient_attention(q, k, v);
  };
  std::vector<double> positions, dot_mib, efficient_mib;
  std::printf("%9s %16s %14s\n", "positions", "dot-product MiB", "efficient MiB");
  for (int64_t n = 256; n <= 4096; n *= 2) {
    positions.push_back(static_cast<double>(n));
    dot_mib.push_back(peak_bytes(dot_attention, n) / (1 << 20));
    efficient_mib.push_back(peak_bytes(efficient_attention, n) / (1 << 20));
    std::printf("%9lld %16.2f %14.2f\n", static_cast<long long>(n), dot_mib.back(),
                efficient_mib.back());
  }
  // The slope on a log-log plot over the last doubling: 2 for n squared, 1 for n.
  auto exponent = [](const std::vector<double>& mib) {
    return std::log2(mib[mib.size() - 1] / mib[mib.size() - 2]);
  };
  std::printf("growth over the last doubling: dot-product n^%.1f, efficient n^%.1f\n",
              exponent(dot_mib), exponent(efficient_mib));
  write_file_atomically("attention_memory.svg", memory_plot(positions, dot_mib, efficient_mib));
  // tour:end memory

  if (argc < 2) {
    std::cout << "no checkpoint given: pass the main job's (build/fashion_mnist.safetensors) "
                 "to draw its global attention maps\n";
    return 0;
  }
  // tour:begin maps
  examples::FashionNet net("efficient");
  TensorMap state;  // the main job's checkpoint holds the model under "model."
  for (auto& [name, t] : load_safetensors(argv[1]))
    if (name.starts_with("model.")) state.emplace(name.substr(6), t);
  net.load_state_dict(state);
  net.eval();
  NoGradGuard no_grad;
  std::string data = argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist";
  Tensor raw = narrow(data::load_idx(data + "/t10k-images-idx3-ubyte.gz"), 0, 0, 4);
  Tensor maps = examples::fashion_net_maps(net, examples::fashion_input(raw));  // (4, 32, 14, 14)
  data::write_png("global_attention_maps.png", examples::map_grid(raw, maps, 8));
  std::cout << "wrote global_attention_maps.png: " << shape_str(maps.sizes()) << " maps\n";
  // tour:end maps
} catch (const ember::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}

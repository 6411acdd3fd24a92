// The paper's interpretation, made visible: in efficient attention each key channel, softmaxed
// over the positions, is a global attention map. This program takes FashionNet with efficient
// attention (from a train_fashion_mnist checkpoint, or trains one briefly), runs a few test
// images, and writes one PNG grid: each row an image and the attention maps of its first keys.
// Run: ./build/examples/attention_maps --checkpoint build/fashion_mnist.safetensors --out maps.png
#include <ember/ember.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "fashion_net.h"

using namespace ember;

namespace {

constexpr double kMean = 0.2860, kStd = 0.3530;

// Rescales a (H, W) map to [0, 1] and enlarges it by nearest neighbour to (size, size).
Tensor tile(const Tensor& map, int64_t size) {
  Tensor m = map - amin(map, {});
  m = m / (amax(m, {}) + 1e-12);
  int64_t h = map.size(0), w = map.size(1);
  Tensor rows =
      index_select(m, 0, to(arange(0, double(size), 1, kFloat64) * (double(h) / size), kInt64));
  return index_select(rows, 1,
                      to(arange(0, double(size), 1, kFloat64) * (double(w) / size), kInt64));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Write the global attention maps of FashionNet's efficient attention as a PNG grid"};
  std::string checkpoint, data = "/usr/share/datasets/fashion-mnist", out = "attention_maps.png";
  int64_t images = 6, maps = 8, train_steps = 300;
  app.add_option("--checkpoint", checkpoint,
                 "train_fashion_mnist checkpoint (--attention efficient)");
  app.add_option("--data", data, "folder with the Fashion-MNIST IDX files");
  app.add_option("--images", images, "test images (rows)");
  app.add_option("--maps", maps, "key channels shown per image (columns after the image)");
  app.add_option("--train-steps", train_steps,
                 "without a checkpoint: Adam steps of batch 64 to train");
  app.add_option("--out", out, "PNG output");
  CLI11_PARSE(app, argc, argv);
  try {
    namespace fs = std::filesystem;
    fs::path images_file = fs::path(data) / "t10k-images-idx3-ubyte.gz";
    if (!fs::exists(images_file)) {
      std::fprintf(stderr,
                   "error: no Fashion-MNIST in '%s'; install it with: sudo apt-get install "
                   "dataset-fashion-mnist (or pass --data)\n",
                   data.c_str());
      return 2;
    }
    manual_seed(0);
    auto model = std::make_shared<examples::FashionNet>("efficient");
    auto attention = std::dynamic_pointer_cast<nn::EfficientAttention2d>(model->attn);
    const nn::AttentionOptions& o = attention->options;
    auto normalise = [](const Tensor& raw) { return (unsqueeze(raw, 1) / 255.0 - kMean) / kStd; };
    if (!checkpoint.empty()) {
      TensorMap state;
      for (auto& [k, v] : load_safetensors(checkpoint))
        if (k.rfind("model.", 0) == 0) state.emplace(k.substr(6), v);
      model->load_state_dict(state);
    } else {
      std::printf("no --checkpoint: training %lld steps first\n", (long long)train_steps);
      Tensor x =
          normalise(data::load_idx((fs::path(data) / "train-images-idx3-ubyte.gz").string()));
      Tensor y = data::load_idx((fs::path(data) / "train-labels-idx1-ubyte.gz").string(), kInt64);
      optim::Adam adam(model->parameters(), {.lr = 1e-3});
      for (int64_t step = 0; step < train_steps; ++step) {
        Tensor idx = randint(0, x.size(0), {64});
        adam.zero_grad();
        nn::functional::cross_entropy((*model)(index_select(x, 0, idx)), index_select(y, 0, idx))
            .backward();
        adam.step();
      }
    }
    model->eval();
    NoGradGuard no_grad;
    Tensor raw = narrow(data::load_idx(images_file.string()), 0, 0, images);
    Tensor features = (*model->block1)(normalise(raw));  // (N, 32, 14, 14): the block's input
    int64_t n = features.size(0), hw = features.size(2) * features.size(3);
    // Each key channel's softmax over the 196 positions: a global attention map.
    Tensor keys = softmax(reshape((*attention->keys)(features), {n, o.key_channels, hw}), 2);
    keys = reshape(keys, {n, o.key_channels, features.size(2), features.size(3)});
    const int64_t cell = 56, gap = 4;
    maps = std::min<int64_t>(maps, o.key_channels);
    Tensor grid = ones({1, n * (cell + gap) + gap, (maps + 1) * (cell + gap) + gap});
    for (int64_t i = 0; i < n; ++i) {
      int64_t top = gap + i * (cell + gap);
      auto place = [&](int64_t column, const Tensor& picture) {
        narrow(narrow(select(grid, 0, 0), 0, top, cell), 1, gap + column * (cell + gap), cell)
            .copy_(picture);
      };
      place(0, tile(select(raw, 0, i), cell));
      for (int64_t k = 0; k < maps; ++k) place(k + 1, tile(select(select(keys, 0, i), 0, k), cell));
    }
    data::write_png(out, grid);
    std::printf(
        "wrote %s: %lld test images (left) and the global attention maps of %lld key channels\n",
        out.c_str(), (long long)n, (long long)maps);
    return 0;
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

// The paper's interpretation, made visible: in efficient attention each key channel, softmaxed
// over the positions, is a global attention map. This program takes FashionNet with efficient
// attention (14x14 maps over its feature map) or, with --model vit, FashionViT (7x7 maps over
// its 49 patch tokens, from one block), from a train_fashion_mnist checkpoint or trained briefly,
// runs a few test images, and writes one PNG grid: each row an image and the attention maps of
// its first keys.
// Run: ./build/examples/attention_maps --checkpoint build/fashion_mnist.safetensors --out maps.png
//      ./build/examples/attention_maps --model vit --checkpoint vit.safetensors --out vit_maps.png
#include <ember/ember.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "attention_map_grid.h"
#include "fashion_net.h"
#include "fashion_vit.h"

using namespace ember;
using examples::global_maps;

int main(int argc, char** argv) {
  CLI::App app{"Write the global attention maps of efficient attention as a PNG grid"};
  std::string model_name = "fashionnet", checkpoint, data = "/usr/share/datasets/fashion-mnist",
              out = "attention_maps.png";
  int64_t images = 6, maps = 8, train_steps = 300, block_index = -1;
  app.add_option("--model", model_name, "fashionnet or vit")
      ->check(CLI::IsMember({"fashionnet", "vit"}));
  app.add_option("--checkpoint", checkpoint,
                 "train_fashion_mnist checkpoint (--attention efficient)");
  app.add_option("--block", block_index, "vit: the block whose keys are shown (default: the last)");
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
    std::shared_ptr<examples::FashionNet> net;
    std::shared_ptr<examples::FashionViT> vit;
    if (model_name == "vit")
      vit = std::make_shared<examples::FashionViT>("efficient");
    else
      net = std::make_shared<examples::FashionNet>("efficient");
    std::shared_ptr<nn::Module> model = net ? std::shared_ptr<nn::Module>(net) : vit;
    if (vit) {
      int64_t depth = static_cast<int64_t>(vit->blocks->size());
      if (block_index < 0) block_index = depth - 1;
      if (block_index >= depth) fail("attention_maps: --block ", block_index, " of ", depth);
    }
    if (!checkpoint.empty()) {
      TensorMap state;
      for (auto& [k, v] : load_safetensors(checkpoint))
        if (k.rfind("model.", 0) == 0) state.emplace(k.substr(6), v);
      model->load_state_dict(state);
    } else {
      std::printf("no --checkpoint: training %lld steps first\n", (long long)train_steps);
      Tensor x = examples::fashion_input(
          data::load_idx((fs::path(data) / "train-images-idx3-ubyte.gz").string()));
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
    Tensor input = examples::fashion_input(raw);
    int64_t n = input.size(0);
    Tensor keys;  // (N, key channels, h, w)
    if (net) {
      keys = examples::fashion_net_maps(*net, input);  // softmax over the 196 positions
    } else {
      Tensor tokens = vit->embed(input);  // (N, 49, 64)
      for (int64_t b = 0; b < block_index; ++b) tokens = (*(*vit->blocks)[b])(tokens);
      auto block = std::dynamic_pointer_cast<examples::ViTBlock>((*vit->blocks)[block_index]);
      auto attention = std::dynamic_pointer_cast<nn::EfficientSelfAttentionImpl>(block->attn);
      // Each key channel's softmax over the 49 tokens: a global 7x7 map over the patches.
      Tensor k = transpose((*attention->keys)((*block->norm1)(tokens)), 1, 2);  // (N, 64, 49)
      int64_t side = static_cast<int64_t>(std::lround(std::sqrt(double(k.size(2)))));
      keys = global_maps(k, side, side);
    }
    maps = std::min<int64_t>(maps, keys.size(1));
    Tensor grid = examples::map_grid(raw, keys, maps);
    data::write_png(out, grid);
    std::string where =
        net ? "FashionNet's attention block" : "FashionViT's block " + std::to_string(block_index);
    std::printf(
        "wrote %s: %lld test images (left) and the %lldx%lld global attention maps of %lld key "
        "channels of %s\n",
        out.c_str(), (long long)n, (long long)keys.size(2), (long long)keys.size(3),
        (long long)maps, where.c_str());
    return 0;
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

// A convolutional autoencoder on Fashion-MNIST: two stride-2 convolutions squeeze each 28x28
// image into 32 feature maps of 7x7 (a third of its pixels' worth of numbers), and a decoder
// brings it back: transposed convolutions (--decoder transpose, the default) or nearest and
// bilinear upsampling each followed by a convolution (--decoder upsample). Trained with Adam on
// the mean squared error between the image and its reconstruction; prints the test
// reconstruction loss per epoch and writes a PNG grid: test images on top, their
// reconstructions below.
// Run: ./build/examples/autoencoder --epochs 5 --out reconstructions.png
#include <ember/ember.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>

using namespace ember;
namespace fs = std::filesystem;

namespace {

class ConvAutoencoder : public nn::Module {
 public:
  explicit ConvAutoencoder(const std::string& decoder_kind) : Module("ConvAutoencoder") {
    using namespace nn;
    auto conv = [](int64_t in, int64_t out, int64_t stride) {
      return Conv2d(Conv2dOptions(in, out, 3).stride(stride).padding(1));
    };
    // (N, 1, 28, 28) -> (N, 16, 14, 14) -> (N, 32, 7, 7)
    encoder =
        register_module("encoder", Sequential{conv(1, 16, 2), ReLU(), conv(16, 32, 2), ReLU()});
    if (decoder_kind == "transpose") {
      auto up = [](int64_t in, int64_t out) {  // doubles H and W exactly: (H-1)*2 - 2 + 3 + 1
        return ConvTranspose2d(
            ConvTranspose2dOptions(in, out, 3).stride(2).padding(1).output_padding(1));
      };
      decoder = register_module("decoder", Sequential{up(32, 16), ReLU(), up(16, 1), Sigmoid()});
    } else {
      auto upsample = [](Interpolation mode) {
        return Upsample(InterpolateArgs{.scale_factor = 2.0, .mode = mode});
      };
      decoder = register_module(
          "decoder", Sequential{upsample(Interpolation::Nearest), conv(32, 16, 1), ReLU(),
                                upsample(Interpolation::Bilinear), conv(16, 1, 1), Sigmoid()});
    }
  }
  Tensor forward(const Tensor& x) override { return decoder(encoder(x)); }

  nn::Sequential encoder{nullptr}, decoder{nullptr};
};

// The IDX images of one split as (N, 1, 28, 28) in [0, 1], the first `limit` if limit > 0.
Tensor load_images(const std::string& folder, const std::string& name, int64_t limit) {
  for (std::string suffix : {".gz", ""}) {
    fs::path p = fs::path(folder) / (name + suffix);
    if (!fs::exists(p)) continue;
    Tensor x = data::load_idx(p.string(), kFloat32);
    if (x.dim() != 3) fail("autoencoder: ", p.string(), " holds ", shape_str(x.sizes()));
    if (limit > 0 && limit < x.size(0)) x = narrow(x, 0, 0, limit);
    return unsqueeze(x / 255.0, 1);
  }
  fail("autoencoder: '", name, "' was not found in '", folder,
       "' (install Fashion-MNIST with: sudo apt-get install dataset-fashion-mnist)");
}

// Mean squared error over a whole set, in batches, without a graph.
double reconstruction_loss(ConvAutoencoder& model, const Tensor& images) {
  NoGradGuard no_grad;
  double total = 0;
  for (int64_t i = 0; i < images.size(0); i += 256) {
    Tensor batch = narrow(images, 0, i, std::min<int64_t>(256, images.size(0) - i));
    total += nn::functional::mse_loss(model(batch), batch, nn::Reduction::Sum).item<double>();
  }
  return total / static_cast<double>(images.numel());
}

// Row 0: `count` test images; row 1: their reconstructions; 2-pixel white gaps.
void write_grid(ConvAutoencoder& model, const Tensor& images, int64_t count,
                const std::string& path) {
  NoGradGuard no_grad;
  count = std::min(count, images.size(0));
  Tensor originals = narrow(images, 0, 0, count);
  Tensor rows[2] = {originals, model(originals)};
  const int64_t side = 28, gap = 2;
  Tensor grid = ones({1, 2 * (side + gap) + gap, count * (side + gap) + gap});
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t i = 0; i < count; ++i)
      narrow(narrow(grid, 1, gap + r * (side + gap), side), 2, gap + i * (side + gap), side)
          .copy_(select(rows[r], 0, i));
  data::write_png(path, grid);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a convolutional autoencoder on Fashion-MNIST"};
  std::string data_dir = "/usr/share/datasets/fashion-mnist", decoder = "transpose",
              out = "reconstructions.png";
  int epochs = 5, threads = 0;
  int64_t batch_size = 128, limit = 0, count = 10;
  double lr = 2e-3;
  uint64_t seed = 0;
  app.add_option("--data", data_dir, "folder with the Fashion-MNIST IDX files (.gz or plain)");
  app.add_option("--decoder", decoder, "transpose (ConvTranspose2d) or upsample")
      ->check(CLI::IsMember({"transpose", "upsample"}));
  app.add_option("--epochs", epochs, "epochs to train")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", batch_size, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--lr", lr, "Adam's learning rate")->check(CLI::PositiveNumber);
  app.add_option("--limit", limit, "train and test on the first N images of each split");
  app.add_option("--images", count, "test images shown in the PNG grid")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "threads (default: all cores)");
  app.add_option("--seed", seed, "seed for the weights and the shuffle");
  app.add_option("--out", out, "PNG grid of test images and their reconstructions");
  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) set_num_threads(threads);
    set_flush_denormal(true);
    manual_seed(seed);
    Tensor train = load_images(data_dir, "train-images-idx3-ubyte", limit).contiguous();
    Tensor test = load_images(data_dir, "t10k-images-idx3-ubyte", limit).contiguous();
    auto model = std::make_shared<ConvAutoencoder>(decoder);
    optim::Adam adam(model->parameters(), {.lr = lr});
    auto dataset = std::make_shared<data::TensorDataset>(train, zeros({train.size(0)}, kInt64));
    data::DataLoader loader(dataset, {.batch_size = batch_size, .shuffle = true, .seed = seed});
    std::printf("ConvAutoencoder (%s decoder, %lld parameters) on %lld training images\n",
                decoder.c_str(), (long long)nn::parameter_count(*model), (long long)train.size(0));
    for (int epoch = 0; epoch < epochs; ++epoch) {
      auto start = std::chrono::steady_clock::now();
      model->train();
      loader.start_epoch(epoch);
      double train_loss = 0;
      int64_t batches = 0;
      while (auto batch = loader.next()) {
        adam.zero_grad();
        Tensor loss = nn::functional::mse_loss((*model)(batch->data), batch->data);
        loss.backward();
        adam.step();
        train_loss += loss.item<double>();
        ++batches;
      }
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      model->eval();
      std::printf("epoch %d/%d: train loss %.5f, test reconstruction loss %.5f (%.0f img/s)\n",
                  epoch + 1, epochs,
                  train_loss / static_cast<double>(std::max<int64_t>(batches, 1)),
                  reconstruction_loss(*model, test), static_cast<double>(train.size(0)) / seconds);
      std::fflush(stdout);
    }
    write_grid(*model, test, count, out);
    std::printf("wrote %s: %lld test images (top) and their reconstructions (bottom)\n",
                out.c_str(), (long long)std::min(count, test.size(0)));
    return 0;
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

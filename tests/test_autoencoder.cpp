// examples/autoencoder: both decoders (ConvTranspose2d, Upsample) train on 256 images of a fake
// Fashion-MNIST, the test reconstruction loss falls, and the PNG grid holds the test images over
// the model's reconstructions of them.
#include <regex>

#include "programs.h"

using namespace ember;
using ember::testing::run_example;
using ember::testing::scratch;

namespace {

std::vector<double> test_losses(const std::string& output) {
  std::regex line(R"(test reconstruction loss ([0-9.]+))");
  std::vector<double> losses;
  for (std::sregex_iterator it(output.begin(), output.end(), line), end; it != end; ++it)
    losses.push_back(std::stod((*it)[1]));
  return losses;
}

double mse(const Tensor& a, const Tensor& b) { return mean((a - b) * (a - b)).item<double>(); }

}  // namespace

TEST_CASE("autoencoder: both decoders learn on 256 images and draw their reconstructions") {
  std::filesystem::path dir = scratch("autoencoder");
  ember::testing::write_fake_mnist(dir, 256, 64);
  for (std::string decoder : {"transpose", "upsample"}) {
    CAPTURE(decoder);
    std::string png = (dir / (decoder + ".png")).string(), out;
    REQUIRE(run_example("autoencoder",
                        "--data " + dir.string() +
                            " --limit 256 --epochs 6 --batch-size 16 --lr 3e-3 --threads 2 "
                            "--decoder " +
                            decoder + " --images 8 --out " + png,
                        &out) == 0);
    MESSAGE(out);
    auto losses = test_losses(out);
    REQUIRE(losses.size() == 6);
    CHECK(losses.back() < 0.7 * losses.front());

    // Row 0 holds the first 8 test images as the fake data wrote them (to a pixel's rounding),
    // row 1 their reconstructions: nearer to them than the test set's mean image is.
    Tensor grid = data::read_image(png, 1);
    REQUIRE(ember::testing::shape(grid) == Shape{1, 62, 242});
    Tensor test =
        unsqueeze(data::load_idx((dir / "t10k-images-idx3-ubyte.gz").string()), 1) / 255.0;
    double error_vs_mean = 0, error_vs_reconstruction = 0;
    for (int64_t i = 0; i < 8; ++i) {
      auto cell = [&](int64_t row) {
        return narrow(narrow(grid, 1, 2 + row * 30, 28), 2, 2 + i * 30, 28);
      };
      Tensor image = select(test, 0, i);
      CHECK(amax(abs(cell(0) - image), {}).item<double>() <= 1.0 / 255 + 1e-6);
      error_vs_reconstruction += mse(cell(1), image);
      error_vs_mean += mse(mean(test, {0}), image);
    }
    CHECK(error_vs_reconstruction < error_vs_mean);
    // ... and are the model's: their error is the printed test loss's, within what 8 images vary.
    CHECK(error_vs_reconstruction / 8 > 0.3 * losses.back());
    CHECK(error_vs_reconstruction / 8 < 3 * losses.back());
  }
  std::string out;
  CHECK(run_example("autoencoder", "--data " + (dir / "missing").string(), &out) == 1);
  CHECK(out.find("was not found in") != std::string::npos);
}

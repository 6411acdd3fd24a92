// libtorch's data API (data/datasets.h): MNIST from IDX files, map(Normalize<>) and map(Stack<>),
// make_data_loader with either sampler, and a range-for over the batches.
#include <filesystem>
#include <set>

#include "helpers.h"

using namespace ember;
using testing::values;

namespace {

// A 10-image "MNIST" of 4 x 4 pictures in a fresh folder: image k is k * 20 everywhere, label k;
// the images plain, the labels gzipped (MNIST reads either).
std::string tiny_mnist() {
  auto dir = std::filesystem::temp_directory_path() / "ember_test_tiny_mnist";
  std::filesystem::create_directories(dir);
  Tensor images = (arange(10) * 20).reshape({10, 1, 1}).expand({10, 4, 4}).contiguous();
  data::save_idx_u8((dir / "train-images-idx3-ubyte").string(), images);
  data::save_idx_u8((dir / "train-labels-idx1-ubyte.gz").string(), arange(10));
  return dir.string();
}

}  // namespace

TEST_CASE("libtorch's MNIST pipeline: map, Stack, make_data_loader, range-for") {
  std::string root = tiny_mnist();
  auto train = data::datasets::MNIST(root)
                   .map(data::transforms::Normalize<>(0.5, 0.25))
                   .map(data::transforms::Stack<>());
  CHECK(train.size().value() == 10);
  auto loader =
      data::make_data_loader<data::samplers::SequentialSampler>(std::move(train), /*batch=*/4);
  for (int epoch = 0; epoch < 2; ++epoch) {  // each range-for is one epoch
    std::vector<double> labels;
    int64_t batches = 0;
    for (data::Example<>& batch : *loader) {
      CHECK(shape_of(batch.data) == Shape{batches < 2 ? 4 : 2, 1, 4, 4});
      std::vector<double> t = values(batch.target);
      labels.insert(labels.end(), t.begin(), t.end());
      double pixel = values(batch.data)[0], k = t[0];
      CHECK(pixel == doctest::Approx((k * 20 / 255 - 0.5) / 0.25));
      ++batches;
    }
    CHECK(batches == 3);
    CHECK(labels == values(arange(10)));
  }
  CHECK_THROWS_WITH_AS(data::datasets::MNIST(root, data::datasets::MNIST::Mode::kTest),
                       doctest::Contains("t10k-images-idx3-ubyte.gz' exists"), Error);
}

TEST_CASE("make_data_loader shuffles by default, every epoch, fixed by manual_seed") {
  std::string root = tiny_mnist();
  auto order = [&](uint64_t seed) {
    manual_seed(seed);
    auto loader = data::make_data_loader(data::datasets::MNIST(root), 10);
    std::vector<std::vector<double>> epochs;
    for (int e = 0; e < 2; ++e)
      for (auto& batch : *loader) epochs.push_back(values(batch.target));
    return epochs;
  };
  auto a = order(7), b = order(7);
  CHECK(a == b);
  CHECK(a[0] != a[1]);  // a new order each epoch
  CHECK(a[0] != values(arange(10)));
  std::set<double> drawn(a[0].begin(), a[0].end());
  CHECK(drawn.size() == 10);  // a permutation
}

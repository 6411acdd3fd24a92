// data/transforms: every random transform against torchvision (tests/golden/transforms.safetensors,
// from tools/make_transform_goldens.py) for the same seeds, and augmentation through the
// DataLoader that does not depend on the thread count.
#include <map>

#include "helpers.h"

using namespace ember;
using ember::testing::values;

namespace {

struct Case {
  std::string image;
  data::Transform transform;
};

// The same cases as tools/make_transform_goldens.py.
std::map<std::string, Case> cases() {
  using namespace data;
  return {
      {"crop", {"rgb", RandomCrop(16, 3)}},
      {"flip", {"rgb", RandomHorizontalFlip()}},
      {"affine",
       {"rgb", RandomAffine({.degrees = 30, .translate = {{0.2, 0.1}}, .scale = {{0.8, 1.2}}})}},
      {"affine_rotate", {"grey", RandomAffine({.degrees = 15})}},
      {"jitter", {"rgb", ColorJitter({.brightness = 0.4, .contrast = 0.4, .saturation = 0.4})}},
      {"jitter_grey", {"grey", ColorJitter({.brightness = 0.3, .contrast = 0.5})}},
      {"erasing", {"grey", RandomErasing({.p = 0.7, .value = 0.5})}},
      {"compose",
       {"rgb", Compose({RandomCrop(16, 2), RandomHorizontalFlip(),
                        RandomAffine({.degrees = 10, .translate = {{0.1, 0.1}}}),
                        Normalize({0.5, 0.4, 0.3}, {0.25, 0.2, 0.3}), RandomErasing()})}},
  };
}

constexpr int kSeeds = 8;

}  // namespace

TEST_CASE("transforms give torchvision's images for the same seeds") {
  TensorMap golden = testing::golden_file("transforms.safetensors");
  size_t compared = 2;  // the two input images
  for (const auto& [name, c] : cases()) {
    Tensor image = golden.at(c.image + ".input");
    for (int seed = 0; seed < kSeeds; ++seed) {
      CAPTURE(name);
      CAPTURE(seed);
      Generator gen(seed);  // torch.manual_seed(seed)
      Tensor out = c.transform(image, gen);
      CHECK_CLOSE_ABS(out, golden.at(name + ".s" + std::to_string(seed)), 1e-6, 1e-6);
      ++compared;
    }
  }
  CHECK(compared == golden.size());  // every case in the file has a line here
}

TEST_CASE("augmentation through the DataLoader is the same at every thread count") {
  manual_seed(0);
  Tensor images = rand({40, 3, 16, 16});
  auto augment = data::Compose({data::RandomCrop(16, 2), data::RandomHorizontalFlip(),
                                data::RandomAffine({.degrees = 10, .translate = {{0.1, 0.1}}}),
                                data::ColorJitter({.brightness = 0.2, .contrast = 0.2}),
                                data::RandomErasing()});
  auto dataset = std::make_shared<data::TensorDataset>(images, arange(40), augment);
  auto epoch = [&](int64_t e) {
    data::DataLoader loader(dataset, {.batch_size = 16, .shuffle = true, .seed = 9});
    loader.start_epoch(e);
    std::vector<double> all;
    while (auto batch = loader.next()) {
      auto v = values(batch->data);
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  int before = get_num_threads();
  set_num_threads(1);
  auto one = epoch(1);
  set_num_threads(2);
  auto two = epoch(1);
  set_num_threads(before);
  CHECK(one == two);
  CHECK(epoch(2) != one);        // another epoch, other draws
  CHECK(one != values(images));  // the images were changed at all
}

TEST_CASE("transforms refuse bad arguments and inputs clearly") {
  Generator gen;
  CHECK_THROWS_WITH_AS(data::RandomAffine({.degrees = -1}), doctest::Contains("non-negative"),
                       Error);
  CHECK_THROWS_WITH_AS(data::RandomErasing({.p = 2}), doctest::Contains("p in [0, 1]"), Error);
  CHECK_THROWS_WITH_AS(data::ColorJitter({.contrast = -0.5}), doctest::Contains("non-negative"),
                       Error);
  CHECK_THROWS_WITH_AS(data::RandomAffine({.degrees = 5})(zeros({4, 4}), gen),
                       doctest::Contains("RandomAffine: expected an image (C, H, W)"), Error);
}

// The fashion-scenes task (examples/fashion_scenes.h): scenes equal those an independent PyTorch
// implementation draws (tools/make_scene_goldens.py), do not depend on the order they are drawn
// in, and have the labels the task defines.
#include <set>

#include "../examples/fashion_scenes.h"
#include "../examples/run_settings.h"
#include "programs.h"

using namespace ember;
using ember::testing::values;

TEST_CASE("fashion scenes equal PyTorch's drawing of them, in any order") {
  TensorMap g = load_safetensors(std::string(EMBER_GOLDEN_DIR) + "/scenes.safetensors");
  examples::FashionScenes scenes(g.at("items"), g.at("labels"), 6, 7);
  for (int64_t i : {3, 0, 5, 1, 4, 2}) {  // out of order: each scene from (seed, i) alone
    CAPTURE(i);
    examples::FashionScenes::Scene s = scenes.draw(i);
    CHECK_EQUAL_TENSOR(s.image, g.at("scene" + std::to_string(i) + ".image"));
    CHECK_EQUAL_TENSOR(s.labels, g.at("scene" + std::to_string(i) + ".labels"));
    std::vector<double> labels = values(s.labels);
    std::set<double> kinds(labels.begin(), labels.end());
    CHECK(kinds.count(examples::kIgnore));  // the reference's cell
    for (double k : kinds) CHECK((k == examples::kIgnore || (k >= 0 && k <= 2)));
  }
  Generator unused;
  data::Example<> e = scenes.get(2, unused);
  CHECK(shape_of(e.data) == Shape{1, 64, 64});
  CHECK(shape_of(e.target) == Shape{64, 64});
  CHECK_THROWS_WITH_AS(examples::FashionScenes(g.at("items"), zeros({40}, kInt64) + 3, 6, 7),
                       "FashionScenes: no item of class 0", Error);
}

TEST_CASE("fashion scenes: the other items match the reference's class half the time") {
  TensorMap g = load_safetensors(std::string(EMBER_GOLDEN_DIR) + "/scenes.safetensors");
  examples::FashionScenes scenes(g.at("items"), g.at("labels"), 400, 11);
  int same = 0, other = 0;
  for (int64_t i = 0; i < 400; ++i) {
    Tensor labels = scenes.draw(i).labels;
    // One item per cell: a cell's label is the one its item pixels carry.
    for (int64_t cell = 0; cell < 4; ++cell) {
      Tensor part = narrow(narrow(labels, 0, cell / 2 * 32, 32), 1, cell % 2 * 32, 32);
      double m = max(part).item<double>();
      same += m == 1;
      other += m == 2;
    }
  }
  CHECK(same + other == 1200);  // three items besides the reference in every scene
  CHECK(same > 540);            // 600 expected; 4 standard deviations is 70
  CHECK(same < 660);
}

// tools/make_scene_goldens.py: PyTorch's SceneNet (tools/scenes_torch.py) from
// torch.manual_seed(0), 20 SGD steps (momentum 0.9) on scenes of seed 9, its loss at each step.
TEST_CASE("SceneNet follows PyTorch's 20-step training trajectory from the same weights") {
  TensorMap g = load_safetensors(std::string(EMBER_GOLDEN_DIR) + "/scenes.safetensors");
  TensorMap weights;
  for (const auto& [k, v] : g)
    if (k.rfind("trajectory.model.", 0) == 0) weights.emplace(k.substr(17), v);
  examples::SceneNet net("efficient");
  net.load_state_dict(weights);
  examples::FashionScenes scenes(g.at("items"), g.at("labels"), 80, 9);
  optim::SGD sgd(net.parameters(), {.lr = 0.05, .momentum = 0.9});
  examples::Config c;
  c.model = "scenes";
  Tensor expected = g.at("trajectory.losses");
  Generator unused;
  double worst = 0;
  for (int64_t step = 0; step < 20; ++step) {
    std::vector<Tensor> x, y;
    for (int64_t j = 0; j < 4; ++j) {
      data::Example<> e = scenes.get(4 * step + j, unused);
      x.push_back(e.data);
      y.push_back(e.target);
    }
    sgd.zero_grad();
    Tensor loss =
        nn::functional::cross_entropy(net(stack(x, 0)), stack(y, 0), examples::loss_args(c));
    loss.backward();
    sgd.step();
    double want = select(expected, 0, step).item<double>(), got = loss.item<double>();
    CAPTURE(step);
    CHECK(std::abs(got - want) < 1e-4);
    worst = std::max(worst, std::abs(got - want));
  }
  MESSAGE("largest difference from PyTorch's loss over 20 steps: ", worst, " (first loss ",
          select(expected, 0, 0).item<double>(), ", last ", select(expected, 0, 19).item<double>(),
          ")");
}

TEST_CASE(
    "train_fashion_mnist --model scenes: learns per pixel, reports mean IoU, resumes exactly") {
  namespace fs = std::filesystem;
  fs::path dir = ember::testing::scratch("scenes");
  ember::testing::write_fake_mnist(dir, 256, 128);
  std::string common = "--model scenes --data " + dir.string() +
                       " --scenes 64 --batch-size 16 --threads 2 --schedule none ";
  std::string out;
  REQUIRE(ember::testing::run_training(common + "--epochs 2 --save " +
                                           (dir / "full.safetensors").string() + " --metrics " +
                                           (dir / "m.csv").string(),
                                       &out) == 0);
  CHECK(out.find("SceneNet (attention: efficient)") != std::string::npos);
  CHECK(out.find("64 training and 12 test images") != std::string::npos);
  CHECK(out.find("test mIoU") != std::string::npos);
  CHECK(ember::testing::read_bytes(dir / "m.csv").find(",test_miou\n") != std::string::npos);
  REQUIRE(ember::testing::run_training(common + "--epochs 2 --stop-after 1 --save " +
                                       (dir / "part.safetensors").string()) == 0);
  REQUIRE(ember::testing::run_training(common + "--epochs 2 --resume " +
                                       (dir / "part.safetensors").string() + " --save " +
                                       (dir / "resumed.safetensors").string()) == 0);
  TensorMap full = load_safetensors((dir / "full.safetensors").string()),
            resumed = load_safetensors((dir / "resumed.safetensors").string());
  REQUIRE(full.size() == resumed.size());
  for (const auto& [name, t] : full) {
    CAPTURE(name);
    CHECK(values(t) == values(resumed.at(name)));
  }
  // The dot-product model with the whole map trains through the same loop.
  CHECK(ember::testing::run_training(common + "--epochs 1 --attention dot-full", &out) == 0);
  CHECK(out.find("SceneNet (attention: dot-full)") != std::string::npos);
  fs::remove_all(dir);
}

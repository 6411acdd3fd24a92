// train_fashion_mnist end to end on a small synthetic dataset: falling loss, exact resume (at an
// epoch's end and inside one), independence of the thread count, FashionViT through the same
// loop, the attention maps of both, the missing-dataset message and exit codes.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "programs.h"

using namespace ember;
using ember::testing::read_bytes;
using ember::testing::scratch;
using ember::testing::shape;
using ember::testing::values;
using ember::testing::write_bytes;
namespace fs = std::filesystem;

namespace {

int run(const std::string& args, std::string* output = nullptr) {
  return ember::testing::run_training(args, output);
}

std::vector<std::vector<std::string>> read_csv(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

// Two checkpoints with the same tensors, bit for bit.
void check_same_checkpoint(const fs::path& a, const fs::path& b) {
  TensorMap first = load_safetensors(a.string()), second = load_safetensors(b.string());
  REQUIRE(first.size() == second.size());
  for (const auto& [name, t] : first) {
    CAPTURE(name);
    REQUIRE(second.count(name));
    CHECK(values(t) == values(second.at(name)));
  }
}

}  // namespace

TEST_CASE(
    "train_fashion_mnist: a small run learns, resumes exactly, ignores the thread count, fails "
    "clearly") {
  fs::path dir = scratch("train");
  ember::testing::write_fake_mnist(dir, 256, 64);
  std::string common =
      "--data " + dir.string() + " --limit 256 --threads 2 --batch-size 32 --lr 3e-3 ";
  // Three epochs without interruption.
  std::string out;
  REQUIRE(run(common + "--epochs 3 --save " + (dir / "full.safetensors").string() + " --metrics " +
                  (dir / "m.csv").string() + " --plot " + (dir / "p.svg").string(),
              &out) == 0);
  CHECK(out.find("final test accuracy") != std::string::npos);
  auto rows = read_csv(dir / "m.csv");
  REQUIRE(rows.size() == 4);
  double first = std::stod(rows[1][1]), last = std::stod(rows[3][1]);
  MESSAGE("synthetic data, train loss per epoch: ", rows[1][1], ", ", rows[2][1], ", ", rows[3][1]);
  CHECK(last < first * 0.7);
  CHECK(read_bytes(dir / "p.svg").find("<svg") == 0);
  // One epoch, then resumed to three: the same final checkpoint, bit for bit.
  REQUIRE(run(common + "--epochs 1 --save " + (dir / "part.safetensors").string()) == 0);
  REQUIRE(run(common + "--epochs 3 --resume " + (dir / "part.safetensors").string() + " --save " +
              (dir / "resumed.safetensors").string()) == 0);
  check_same_checkpoint(dir / "full.safetensors", dir / "resumed.safetensors");
  // Stopped inside epoch 2 (step 12 of 8 per epoch) and resumed there: the same, bit for bit (the
  // loader's position and the optimizer's state continue).
  REQUIRE(run(common + "--epochs 3 --stop-at-step 12 --save " + (dir / "mid.safetensors").string(),
              &out) == 0);
  CHECK(out.find("stopped after step 12 (--stop-at-step), at batch 4 of epoch 2") !=
        std::string::npos);
  REQUIRE(run(common + "--resume " + (dir / "mid.safetensors").string() + " --save " +
                  (dir / "mid.safetensors").string(),
              &out) == 0);
  CHECK(out.find("--resume: epoch 2 continues at batch 5 of 8") != std::string::npos);
  check_same_checkpoint(dir / "full.safetensors", dir / "mid.safetensors");
  // One thread instead of two: the same checkpoint, bit for bit (--threads changes only speed).
  std::string one_thread = common;
  one_thread.replace(one_thread.find("--threads 2"), 11, "--threads 1");
  REQUIRE(run(one_thread + "--epochs 3 --save " + (dir / "one.safetensors").string()) == 0);
  check_same_checkpoint(dir / "full.safetensors", dir / "one.safetensors");
  // --augment: per-sample transforms on the loader's threads, still independent of --threads.
  REQUIRE(run(common + "--epochs 1 --augment --save " + (dir / "aug2.safetensors").string()) == 0);
  REQUIRE(run(one_thread + "--epochs 1 --augment --save " + (dir / "aug1.safetensors").string()) ==
          0);
  check_same_checkpoint(dir / "aug2.safetensors", dir / "aug1.safetensors");
  CHECK(read_bytes(dir / "aug2.safetensors") != read_bytes(dir / "part.safetensors"));
  // The vision transformer through the same loop: it learns, and its checkpoints resume exactly
  // (OneCycleLR's position included) and refuse another model or schedule length.
  std::string vit =
      "--model vit --data " + dir.string() + " --limit 256 --threads 2 --batch-size 32 ";
  REQUIRE(run(vit + "--epochs 2 --save " + (dir / "vit.safetensors").string() + " --metrics " +
                  (dir / "vit.csv").string(),
              &out) == 0);
  CHECK(out.find("FashionViT (attention: efficient), 138890 parameters") != std::string::npos);
  auto vit_rows = read_csv(dir / "vit.csv");
  REQUIRE(vit_rows.size() == 3);
  CHECK(std::stod(vit_rows[2][1]) < std::stod(vit_rows[1][1]));
  REQUIRE(run(vit + "--epochs 2 --stop-after 1 --save " + (dir / "vit1.safetensors").string()) ==
          0);
  REQUIRE(run(vit + "--epochs 2 --resume " + (dir / "vit1.safetensors").string() + " --save " +
              (dir / "vit2.safetensors").string()) == 0);
  check_same_checkpoint(dir / "vit.safetensors", dir / "vit2.safetensors");
  // Mid-epoch, with OneCycleLR: its position is the checkpoint's step, not its epoch.
  REQUIRE(run(vit + "--epochs 2 --stop-at-step 11 --save " +
              (dir / "vit_mid.safetensors").string()) == 0);
  REQUIRE(run(vit + "--resume " + (dir / "vit_mid.safetensors").string() + " --save " +
              (dir / "vit_mid.safetensors").string()) == 0);
  check_same_checkpoint(dir / "vit.safetensors", dir / "vit_mid.safetensors");
  CHECK(run(vit + "--epochs 3 --resume " + (dir / "vit.safetensors").string(), &out) == 2);
  CHECK(out.find("was trained with --epochs 2, not 3") != std::string::npos);
  CHECK(run("--model fashionnet --data " + dir.string() + " --resume " +
                (dir / "vit.safetensors").string(),
            &out) == 2);
  CHECK(out.find("was trained with --model vit, not fashionnet") != std::string::npos);
  // attention_maps draws the global maps of both trained models: 3 images x (1 + 4 maps).
  for (auto [model, checkpoint, size] : {std::tuple{"fashionnet", "full.safetensors", "14x14"},
                                         std::tuple{"vit", "vit.safetensors", "7x7"}}) {
    CAPTURE(model);
    fs::path png = dir / (std::string(model) + "_maps.png");
    REQUIRE(ember::testing::run_example(
                "attention_maps",
                std::string("--model ") + model + " --checkpoint " + (dir / checkpoint).string() +
                    " --data " + dir.string() + " --images 3 --maps 4 --out " + png.string(),
                &out) == 0);
    CHECK(out.find(std::string(size) + " global attention maps of 4 key channels") !=
          std::string::npos);
    CHECK(shape(data::read_image(png.string(), 1)) == Shape{1, 3 * 60 + 4, 5 * 60 + 4});
  }
  REQUIRE(
      run("--eval-only --resume " + (dir / "full.safetensors").string() + " --data " + dir.string(),
          &out) == 0);
  CHECK(out.find("test accuracy") != std::string::npos);
  // No dataset: a message saying how to get one, exit code 2.
  CHECK(run("--data " + (dir / "nowhere").string(), &out) == 2);
  CHECK(out.find("sudo apt-get install dataset-fashion-mnist") != std::string::npos);
  // A corrupt file: the ember::Error message, exit code 1.
  std::string images = read_bytes(dir / "train-images-idx3-ubyte.gz");
  write_bytes(dir / "train-images-idx3-ubyte.gz", images.substr(0, images.size() / 2));
  CHECK(run(common + "--epochs 1", &out) == 1);
  CHECK(out.find("error: load_idx:") != std::string::npos);
  fs::remove_all(dir);
}

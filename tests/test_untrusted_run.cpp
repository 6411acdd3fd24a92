// train_fashion_mnist against bad input it did not make: flags out of range, outputs it cannot
// write (refused before training), checkpoints whose settings or state were damaged (a clear
// error, never a crash), the flags a resume honours or refuses, and a loss gone NaN.
#include <filesystem>
#include <functional>

#include "programs.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

int run(const std::string& args, std::string* output = nullptr) {
  return ember::testing::run_training(args, output);
}

bool has(const std::string& out, const std::string& text) {
  return out.find(text) != std::string::npos;
}

// A copy of checkpoint `from` at `to` with `edit` applied to its tensors and metadata.
template <typename Edit>
void rewrite_checkpoint(const fs::path& from, const fs::path& to, Edit edit) {
  Metadata meta;
  TensorMap tensors = load_safetensors(from.string(), &meta);
  edit(tensors, meta);
  save_safetensors(to.string(), tensors, meta);
}

struct Run {
  fs::path dir = ember::testing::scratch("untrusted_run");
  std::string common = "--data " + dir.string() + " --limit 64 --threads 2 --batch-size 16 ";
  Run() { ember::testing::write_fake_mnist(dir, 64, 16); }
  ~Run() { fs::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

}  // namespace

TEST_CASE("flags out of range are usage errors (exit 2) before anything runs") {
  Run r;
  std::string out;
  for (auto [flag, expected] :
       {std::pair{"--lr nan", "--lr: expected a finite number in (0, inf), got nan"},
        std::pair{"--lr inf", "got inf"}, std::pair{"--lr -1", "got -1"},
        std::pair{"--weight-decay nan", "--weight-decay: expected a finite number"},
        std::pair{"--threads 100000", "--threads: Value 100000 not in range 1 to 1024"},
        std::pair{"--epochs 0", "--epochs: Value 0 not in range"},
        std::pair{"--batch-size -3", "--batch-size: Value -3 not in range"},
        std::pair{"--limit -5", "--limit"},
        std::pair{"--collective-timeout 0", "--collective-timeout: expected a finite number"},
        std::pair{"--bucket-mb 0", "--bucket-mb: expected a finite number in (0, 1024]"},
        std::pair{"--save-every 0", "--save-every: Value 0 not in range"},
        std::pair{"--stop-at-step -1", "--stop-at-step"},
        std::pair{"--save-every 5", "--save-every needs --save CHECKPOINT"}}) {
    CAPTURE(flag);
    CHECK(run(r.common + flag, &out) == 2);
    CHECK_MESSAGE(has(out, expected), out);
  }
}

TEST_CASE("an output that cannot be written fails at the start, not after training") {
  Run r;
  std::string out;
  for (const char* flag : {"--save", "--metrics", "--plot", "--log-steps"}) {
    CAPTURE(flag);
    CHECK(run(r.common + "--epochs 1 " + flag + " " + r.path("no/such/folder/out"), &out) == 1);
    CHECK_MESSAGE(has(out, std::string(flag) + ": cannot write"), out);
    CHECK_MESSAGE(!has(out, "epoch 1"), out);  // no epoch ran
  }
  CHECK(!fs::exists(r.dir / "no"));
}

TEST_CASE(
    "--resume adopts the checkpoint's settings, honours those that can change, refuses "
    "the rest") {
  Run r;
  std::string out;
  REQUIRE(run(r.common + "--epochs 1 --lr 2e-3 --save " + r.path("a.safetensors"), &out) == 0);
  // Nothing given: the checkpoint's batch size and rate, one more epoch.
  REQUIRE(run("--data " + r.dir.string() + " --limit 64 --epochs 2 --resume " +
                  r.path("a.safetensors") + " --save " + r.path("b.safetensors"),
              &out) == 0);
  CHECK_MESSAGE(!has(out, "continuing with"), out);
  Metadata meta;
  load_safetensors(r.path("b.safetensors"), &meta);
  CHECK(meta.at("batch_size") == "16");
  CHECK(std::stod(meta.at("lr")) == 2e-3);
  CHECK(meta.at("epoch") == "2");
  // Another rate without a schedule: honoured, and said.
  REQUIRE(run(r.common + "--epochs 2 --lr 1e-3 --resume " + r.path("a.safetensors") + " --save " +
                  r.path("c.safetensors"),
              &out) == 0);
  CHECK_MESSAGE(has(out, "--resume: continuing with --lr 0.001 (the checkpoint's run had 0.002)"),
                out);
  load_safetensors(r.path("c.safetensors"), &meta);
  CHECK(std::stod(meta.at("lr")) == 1e-3);
  TensorMap c = load_safetensors(r.path("c.safetensors"));
  CHECK(c.at("optimizer.param_groups.0.lr").item<double>() == 1e-3);
  // Another optimizer: its state belongs to Adam.
  CHECK(run(r.common + "--epochs 2 --optimizer sgd --resume " + r.path("a.safetensors"), &out) ==
        2);
  CHECK_MESSAGE(has(out, "was trained with --optimizer adam, not sgd"), out);
  // OneCycleLR spans the steps it started with: another batch size or rate is refused.
  REQUIRE(run(r.common + "--epochs 2 --stop-after 1 --schedule onecycle --save " +
                  r.path("cycle.safetensors"),
              &out) == 0);
  CHECK(run("--data " + r.dir.string() + " --limit 64 --epochs 2 --batch-size 8 --resume " +
                r.path("cycle.safetensors"),
            &out) == 2);
  CHECK_MESSAGE(has(out, "was trained with --batch-size 16, not 8 (OneCycleLR's schedule"), out);
  CHECK(run(r.common + "--epochs 2 --lr 1 --resume " + r.path("cycle.safetensors"), &out) == 2);
  CHECK_MESSAGE(has(out, "was trained with --lr"), out);
}

TEST_CASE("a checkpoint taken mid-epoch resumes only where its next batch is the same") {
  Run r;
  std::string out, mid = r.path("mid.safetensors");
  REQUIRE(run(r.common + "--epochs 2 --stop-at-step 2 --save " + mid, &out) == 0);  // 4 per epoch
  CHECK(run("--data " + r.dir.string() + " --limit 64 --batch-size 32 --resume " + mid, &out) == 2);
  CHECK_MESSAGE(has(out,
                    "was taken mid-epoch with --batch-size 16, not 32 (its next batch exists "
                    "only in that size; leave --batch-size out)"),
                out);
  CHECK(run("--data " + r.dir.string() + " --limit 48 --threads 2 --resume " + mid, &out) == 2);
  CHECK_MESSAGE(has(out, "was taken at step 2 of an epoch of 4 steps; this run's epochs have 3"),
                out);
  CHECK(run(r.common + "--epochs 2 --stop-at-step 1 --resume " + mid, &out) == 0);
  CHECK_MESSAGE(has(out, "nothing to train: the checkpoint is at step 2, --stop-at-step 1"), out);
}

TEST_CASE("a damaged checkpoint is a clear error naming the file and what is wrong") {
  Run r;
  std::string out;
  fs::path good = r.dir / "good.safetensors", bad = r.dir / "bad.safetensors";
  REQUIRE(run(r.common + "--epochs 1 --save " + good.string(), &out) == 0);
  struct Case {
    const char* what;
    std::function<void(TensorMap&, Metadata&)> edit;
    const char* expected;
  };
  std::vector<Case> cases = {
      {"epoch not a number", [](TensorMap&, Metadata& m) { m["epoch"] = "abc"; },
       "has epoch 'abc', not a whole number from 0 to 1000000"},
      {"epoch out of range", [](TensorMap&, Metadata& m) { m["epoch"] = "99999999999"; },
       "has epoch '99999999999'"},
      {"seed negative", [](TensorMap&, Metadata& m) { m["seed"] = "-1"; }, "has seed '-1'"},
      {"lr NaN", [](TensorMap&, Metadata& m) { m["lr"] = "nan"; },
       "has lr 'nan', not a finite number"},
      {"unknown model", [](TensorMap&, Metadata& m) { m["model"] = "resnet"; },
       "has model 'resnet', not one of fashionnet, vit"},
      {"a key of neither part", [](TensorMap& t, Metadata&) { t.emplace("extra", zeros({1})); },
       "holds 'extra', neither model. nor optimizer. state"},
      {"an optimizer key of no parameter",
       [](TensorMap& t, Metadata&) { t.emplace("optimizer.state.x.y", zeros({1})); },
       "key 'state.x.y' is not 'param_groups.<group>.<option>' or 'state.<parameter>.<name>'"},
      {"Adam's exp_avg of the wrong shape",
       [](TensorMap& t, Metadata&) { t.at("optimizer.state.0.exp_avg") = zeros({1}); }, "exp_avg"},
      {"a weight of the wrong shape",
       [](TensorMap& t, Metadata&) { t.at("model.block1.0.weight") = zeros({1}); },
       "block1.0.weight"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.what);
    rewrite_checkpoint(good, bad, k.edit);
    CHECK(run(r.common + "--epochs 2 --resume " + bad.string(), &out) == 1);
    CHECK_MESSAGE(has(out, k.expected), out);
    CHECK_MESSAGE(!has(out, "epoch 2"), out);
  }
}

TEST_CASE("a loss gone NaN stops the run before the optimizer step, naming the step") {
  Run r;
  std::string out;
  // An absurd rate overflows the weights after the first step; the second loss is not finite.
  CHECK(run(r.common + "--epochs 1 --optimizer sgd --lr 1e38 --attention none --save " +
                r.path("nan.safetensors"),
            &out) == 1);
  CHECK_MESSAGE(has(out, "the training loss is"), out);
  CHECK_MESSAGE(has(out, "at epoch 1, step 2; stopped before the optimizer step"), out);
  CHECK(!fs::exists(r.dir / "nan.safetensors"));  // no checkpoint of the broken weights
}

TEST_CASE("--image-folder: train and test must have the same classes, and images") {
  Run r;
  std::string out;
  Tensor image = rand({1, 28, 28});
  auto write = [&](const std::string& part, const std::string& cls, int count) {
    fs::create_directories(r.dir / "folder" / part / cls);
    for (int i = 0; i < count; ++i)
      data::write_png((r.dir / "folder" / part / cls / (std::to_string(i) + ".png")).string(),
                      image);
  };
  write("train", "boot", 2);
  write("train", "shirt", 2);
  write("test", "boot", 1);
  write("test", "sandal", 1);
  std::string args = "--image-folder " + (r.dir / "folder").string() + " --epochs 1 ";
  CHECK(run(args, &out) == 1);
  CHECK_MESSAGE(has(out,
                    "train/ has classes [boot, shirt], test/ has [boot, sandal] (they differ "
                    "at class 1)"),
                out);
  write("test", "shirt", 1);
  fs::remove_all(r.dir / "folder" / "test" / "sandal");
  CHECK(run(args + "--batch-size 2", &out) == 0);  // the same classes: it trains
  for (const char* name : {"0.png", "1.png"}) {
    fs::remove(r.dir / "folder" / "train" / "boot" / name);
    fs::remove(r.dir / "folder" / "train" / "shirt" / name);
  }
  CHECK(run(args, &out) == 1);
  CHECK_MESSAGE(has(out, "ImageFolder: no PNG, JPEG, BMP or TGA images under"), out);
}

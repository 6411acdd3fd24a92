// Checkpoints of models: FashionNet with weights written by PyTorch gives PyTorch's outputs, a
// state_dict round trips, and corrupt or mismatched files are refused.
#include <filesystem>
#include <fstream>

#include "helpers.h"

using namespace ember;
using ember::testing::values;

namespace {

TensorMap golden(const std::string& file) { return testing::golden_file(file); }
using testing::with_prefix;

}  // namespace

namespace {

// W1's FashionNet without attention, with the parameter names PyTorch gives it.
struct FashionNet : nn::Module {
  nn::Sequential block1{nullptr}, block2{nullptr}, head{nullptr};
  std::shared_ptr<nn::Module> attn;
  FashionNet() : Module("FashionNet") {
    using namespace nn;
    block1 = register_module(
        "block1", Sequential(std::initializer_list<std::shared_ptr<Module>>{
                      Conv2d(Conv2dConfig{
                          .in_channels = 1, .out_channels = 32, .kernel_size = 3, .padding = 1}),
                      BatchNorm2d(32), ReLU(), MaxPool2d(2)}));
    attn = register_module("attn", Identity());
    block2 = register_module(
        "block2", Sequential(std::initializer_list<std::shared_ptr<Module>>{
                      Conv2d(Conv2dConfig{
                          .in_channels = 32, .out_channels = 64, .kernel_size = 3, .padding = 1}),
                      BatchNorm2d(64), ReLU(), MaxPool2d(2)}));
    head = register_module("head", Sequential(std::initializer_list<std::shared_ptr<Module>>{
                                       Flatten(), Linear(3136, 128), ReLU(), Linear(128, 10)}));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*block2)((*attn)((*block1)(x)))); }
};

}  // namespace

TEST_CASE("FashionNet with weights written by PyTorch gives PyTorch's outputs") {
  TensorMap g = golden("fashionnet.safetensors");
  auto model = std::make_shared<FashionNet>();
  model->load_state_dict(with_prefix(g, "model."));
  model->eval();
  {
    NoGradGuard no_grad;
    CHECK_CLOSE_ABS((*model)(g.at("x")), g.at("eval.out"), 1e-4, 1e-5);
  }
  model->train();
  Tensor x = clone(g.at("x")).requires_grad_();
  Tensor out = (*model)(x);
  CHECK_CLOSE_ABS(out, g.at("train.out"), 1e-4, 1e-5);
  Tensor loss = nn::functional::cross_entropy(out, g.at("labels"));
  CHECK(loss.item<double>() == doctest::Approx(g.at("train.loss").item<double>()).epsilon(1e-5));
  loss.backward();
  CHECK_CLOSE_ABS(x.grad(), g.at("train.grad.x"), 1e-3, 1e-6);
  auto conv1 = std::dynamic_pointer_cast<nn::Conv2dImpl>((*model->block1)[0]);
  CHECK_CLOSE_ABS(conv1->weight.grad(), g.at("train.grad.block1.0.weight"), 1e-3, 1e-5);
}

TEST_CASE("checkpoints: round trip, and corrupt or mismatched files are refused") {
  auto path = (std::filesystem::temp_directory_path() / "ember_test_model.safetensors").string();
  auto a = std::make_shared<FashionNet>();
  nn::save(*a, path);
  auto b = std::make_shared<FashionNet>();
  nn::load(*b, path);
  for (auto& [name, t] : a->state_dict()) {
    CAPTURE(name);
    CHECK(values(t) == values(b->state_dict().at(name)));
  }
  TensorMap sd = a->state_dict();
  TensorMap missing = sd;
  missing.erase("head.3.bias");
  CHECK_THROWS_WITH_AS(b->load_state_dict(missing),
                       "load_state_dict: missing key 'head.3.bias' ([10])", Error);
  TensorMap extra = sd;
  extra.emplace("head.9.weight", zeros({2}));
  CHECK_THROWS_WITH_AS(b->load_state_dict(extra),
                       doctest::Contains("unexpected key 'head.9.weight'"), Error);
  // Non-strict: what matches is loaded, an unexpected key is skipped, a missing key keeps the
  // model's own value.
  manual_seed(77);
  auto c = std::make_shared<FashionNet>();
  Tensor own_bias;
  c->load_state_dict(extra, /*strict=*/false);
  for (auto& [name, t] : sd) {
    CAPTURE(name);
    CHECK(values(c->state_dict().at(name)) == values(t));
  }
  CHECK(c->state_dict().count("head.9.weight") == 0);
  manual_seed(78);
  auto d = std::make_shared<FashionNet>();
  own_bias = clone(d->state_dict().at("head.3.bias"));
  d->load_state_dict(missing, /*strict=*/false);
  CHECK(values(d->state_dict().at("head.3.bias")) == values(own_bias));
  CHECK(values(d->state_dict().at("head.3.weight")) == values(sd.at("head.3.weight")));
  TensorMap wrong = sd;
  wrong["head.3.weight"] = zeros({10, 64});
  CHECK_THROWS_WITH_AS(
      b->load_state_dict(wrong),
      "load_state_dict: size mismatch for 'head.3.weight': the checkpoint has [10, 64], "
      "the model has [10, 128]",
      Error);
  // A truncated checkpoint is an error naming the file, and leaves the model untouched.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  auto before = values(b->state_dict().at("head.1.weight"));
  CHECK_THROWS_WITH_AS(nn::load(*b, path), doctest::Contains("ember_test_model.safetensors"),
                       Error);
  CHECK(values(b->state_dict().at("head.1.weight")) == before);
  std::filesystem::remove(path);
}

TEST_CASE("a state_dict that fails to load leaves the module as it was") {
  manual_seed(1);
  auto model = std::make_shared<FashionNet>();
  TensorMap before = model->state_dict();
  std::vector<std::vector<double>> kept;
  for (const auto& [name, t] : before) kept.push_back(values(t));
  // Every tensor but one is a good replacement; the bad one sorts last ("head.3.bias").
  TensorMap update;
  for (const auto& [name, t] : before) update[name] = full(shape_of(t), 0.5, t.dtype());
  auto expect_unchanged = [&](const TensorMap& dict, const std::string& message) {
    CAPTURE(message);
    CHECK_THROWS_WITH_AS(model->load_state_dict(dict), doctest::Contains(message.c_str()), Error);
    size_t i = 0;
    for (const auto& [name, t] : model->state_dict()) CHECK(values(t) == kept[i++]);
  };
  TensorMap wrong_shape = update;
  wrong_shape["head.3.bias"] = zeros({11});
  expect_unchanged(wrong_shape, "size mismatch for 'head.3.bias'");
  TensorMap wrong_kind = update;
  wrong_kind["head.3.bias"] = zeros({10}, kInt64);
  expect_unchanged(wrong_kind, "'head.3.bias' is int64 in the checkpoint but float32 in the model");
  TensorMap extra = update;
  extra["head.9.weight"] = zeros({1});
  expect_unchanged(extra, "unexpected key 'head.9.weight'");
  model->load_state_dict(update);  // the good one loads
  CHECK(values(model->state_dict().at("head.3.bias"))[0] == 0.5);
}

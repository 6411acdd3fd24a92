// The losses against PyTorch (tests/golden/nn.safetensors, from tools/make_nn_goldens.py):
// the functional ops with their options, and the loss modules that hold those options.
#include <functional>
#include <map>

#include "helpers.h"

using namespace ember;

TEST_CASE("losses match PyTorch: values and gradients") {
  TensorMap g = testing::golden_file("nn.safetensors");
  namespace F = nn::functional;
  Tensor target = g.at("loss.target"), spatial_t = g.at("loss.spatial_target"),
         prob = g.at("loss.prob"), pixel_t = g.at("loss.pixel_target"),
         weight = g.at("loss.class_weight");
  std::map<std::string, std::function<Tensor(const Tensor&)>> cases{
      {"ce_mean", [&](const Tensor& x) { return F::cross_entropy(x, target); }},
      {"ce_smooth_sum",
       [&](const Tensor& x) {
         return F::cross_entropy(x, target,
                                 {.label_smoothing = 0.1, .reduction = nn::Reduction::Sum});
       }},
      {"ce_none_spatial",
       [&](const Tensor& x) {
         return F::cross_entropy(x, spatial_t, {.reduction = nn::Reduction::None});
       }},
      {"ce_weighted_spatial_mean",
       [&](const Tensor& x) {
         return F::cross_entropy(x, pixel_t, {.weight = weight, .label_smoothing = 0.1});
       }},
      {"ce_weighted_spatial_sum",
       [&](const Tensor& x) {
         return F::cross_entropy(x, pixel_t, {.weight = weight, .reduction = nn::Reduction::Sum});
       }},
      {"ce_weighted_spatial_none",
       [&](const Tensor& x) {
         return F::cross_entropy(x, pixel_t, {.weight = weight, .reduction = nn::Reduction::None});
       }},
      {"softplus_beta2_threshold5", [&](const Tensor& x) { return F::softplus(x, 2, 5); }},
      {"softplus_default", [&](const Tensor& x) { return F::softplus(x); }},
      {"nll_mean", [&](const Tensor& x) { return F::nll_loss(log_softmax(x, 1), target); }},
      {"mse_mean", [&](const Tensor& x) { return F::mse_loss(x, prob); }},
      {"bce_logits_mean",
       [&](const Tensor& x) { return F::binary_cross_entropy_with_logits(x, prob); }},
      {"bce_logits_none",
       [&](const Tensor& x) {
         return F::binary_cross_entropy_with_logits(x, prob, nn::Reduction::None);
       }},
  };
  for (const auto& [name, fn] : cases) {
    CAPTURE(name);
    std::string key = "loss." + name + ".";
    Tensor x = clone(g.at(key + "x")).requires_grad_();
    Tensor out = fn(x);
    CHECK_CLOSE_ABS(out, g.at(key + "out"), 1e-12, 1e-14);
    out.backward(g.at(key + "gout"));
    CHECK_CLOSE_ABS(x.grad(), g.at(key + "grad"), 1e-12, 1e-14);
  }
  CHECK_THROWS_WITH_AS(F::cross_entropy(zeros({2, 3}), tensor({0, 3}, kInt64)),
                       "cross_entropy: target 3 is out of range for 3 classes", Error);
  CHECK_THROWS_WITH_AS(F::cross_entropy(zeros({2, 3}), zeros({2})),
                       doctest::Contains("int64 targets"), Error);
  CHECK_THROWS_WITH_AS(
      F::cross_entropy(zeros({2, 3}), tensor({0, 1}, kInt64), {.weight = ones({2})}),
      "cross_entropy: expected a weight of 3 float32 values (one per class), got float32 [2]",
      Error);
}

TEST_CASE("loss modules give PyTorch's losses and gradients, options included") {
  TensorMap g = testing::golden_file("nn.safetensors");
  Tensor weight = g.at("loss.class_weight"), pixel_t = g.at("loss.pixel_target"),
         row_t = g.at("loss.row_target"), prob = g.at("loss.prob"), target = g.at("loss.target");
  nn::CrossEntropyLoss ce_mean({.weight = weight, .label_smoothing = 0.1});
  nn::CrossEntropyLoss ce_sum({.weight = weight, .reduction = nn::Reduction::Sum});
  nn::NLLLoss nll_mean({.weight = weight}),
      nll_sum({.weight = weight, .reduction = nn::Reduction::Sum});
  nn::NLLLoss nll_plain;
  nn::MSELoss mse;
  nn::BCEWithLogitsLoss bce_none(nn::Reduction::None);
  struct Case {
    nn::Loss* loss;
    Tensor target;
    bool log_softmax_first;  // PyTorch's NLL cases were given log_softmax(x)
  };
  std::map<std::string, Case> cases{{"ce_weighted_spatial_mean", {ce_mean.get(), pixel_t, false}},
                                    {"ce_weighted_spatial_sum", {ce_sum.get(), pixel_t, false}},
                                    {"nll_weighted_mean", {nll_mean.get(), row_t, true}},
                                    {"nll_weighted_sum", {nll_sum.get(), row_t, true}},
                                    {"nll_mean", {nll_plain.get(), target, true}},
                                    {"mse_mean", {mse.get(), prob, false}},
                                    {"bce_logits_none", {bce_none.get(), prob, false}}};
  for (const auto& [name, c] : cases) {
    CAPTURE(name);
    std::string key = "loss." + name + ".";
    Tensor x = clone(g.at(key + "x")).requires_grad_();
    Tensor out = (*c.loss)(c.log_softmax_first ? log_softmax(x, 1) : x, c.target);
    CHECK_CLOSE_ABS(out, g.at(key + "out"), 1e-12, 1e-14);
    out.backward(g.at(key + "gout"));
    CHECK_CLOSE_ABS(x.grad(), g.at(key + "grad"), 1e-12, 1e-14);
  }
  // The class weight is the module's buffer, as PyTorch's; it moves with to(dtype).
  CHECK(ce_mean->state_dict().count("weight"));
  ce_mean->to(kFloat32);
  CHECK(ce_mean->options.weight.dtype() == kFloat32);
  CHECK_THROWS_WITH_AS(
      nn::NLLLoss({.weight = ones({2}, kFloat64)})(zeros({2, 3}, kFloat64), tensor({0, 1}, kInt64)),
      "nll_loss: expected a weight of 3 float64 values, got float64 [2]", Error);
}

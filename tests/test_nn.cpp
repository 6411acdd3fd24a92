// nn/: the Module API, every layer against PyTorch goldens (outputs, input and parameter
// gradients), BatchNorm across training steps and eval, and a small CNN that fits a batch
// (losses: test_losses.cpp; checkpoints: test_checkpoint.cpp).
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "helpers.h"

using namespace ember;
using ember::testing::shape;
using ember::testing::values;

namespace {

TensorMap golden(const std::string& file) { return testing::golden_file(file); }
using testing::with_prefix;

// PyTorch's ReflectionPad2d, ReplicationPad2d, ConstantPad2d, ... as functional::pad.
std::shared_ptr<nn::Module> padding(std::vector<int64_t> pads, nn::PadMode mode, double value = 0) {
  return nn::Functional([=](const Tensor& x) { return nn::functional::pad(x, pads, mode, value); });
}

std::map<std::string, std::function<std::shared_ptr<nn::Module>()>> layers() {
  using namespace nn;
  return {
      {"linear", [] { return Linear(5, 3); }},
      {"conv1d",
       [] {
         return Conv1d(Conv1dConfig{3, 4, 3, 2, 1});
       }},
      {"conv1d_groups",
       [] {
         return Conv1d(Conv1dConfig{4, 6, 2, 1, 0, 2, 2, false});
       }},
      {"max_pool1d",
       [] {
         return MaxPool1d(Pool1dConfig{3, 2, 1});
       }},
      {"avg_pool1d", [] { return AvgPool1d(Pool1dConfig{2}); }},
      {"conv",
       [] {
         return Conv2d(
             Conv2dConfig{.in_channels = 3, .out_channels = 4, .kernel_size = 3, .padding = 1});
       }},
      {"conv_strided",
       [] {
         return Conv2d(Conv2dConfig{.in_channels = 4,
                                    .out_channels = 6,
                                    .kernel_size = {3, 2},
                                    .stride = {2, 1},
                                    .padding = {1, 0},
                                    .dilation = {1, 2},
                                    .groups = 2});
       }},
      {"conv_nobias",
       [] {
         return Conv2d(
             Conv2dConfig{.in_channels = 2, .out_channels = 3, .kernel_size = 1, .bias = false});
       }},
      {"bn1d", [] { return BatchNorm1d(4); }},
      {"layernorm",
       [] {
         return LayerNorm(LayerNormConfig{.normalized_shape = {4, 5}});
       }},
      {"groupnorm", [] { return GroupNorm(GroupNormConfig{.num_groups = 2, .num_channels = 4}); }},
      {"maxpool",
       [] { return MaxPool2d(Pool2dConfig{.kernel_size = 3, .stride = 2, .padding = 1}); }},
      {"maxpool2", [] { return MaxPool2d(2); }},
      {"avgpool",
       [] { return AvgPool2d(Pool2dConfig{.kernel_size = 3, .stride = 2, .padding = 1}); }},
      {"adaptive",
       [] {
         return AdaptiveAvgPool2d(Pair{3, 2});
       }},
      {"embedding",
       [] {
         return Embedding(EmbeddingConfig{10, 4});
       }},
      {"relu", [] { return ReLU(); }},
      {"leaky_relu", [] { return LeakyReLU(0.2); }},
      {"gelu", [] { return GELU(); }},
      {"gelu_tanh", [] { return GELU("tanh"); }},
      {"silu", [] { return SiLU(); }},
      {"sigmoid", [] { return Sigmoid(); }},
      {"tanh", [] { return Tanh(); }},
      {"softmax", [] { return Softmax(1); }},
      {"flatten", [] { return Flatten(); }},
      {"hardswish", [] { return Hardswish(); }},
      {"mish", [] { return Mish(); }},
      {"prelu", [] { return PReLU(PReLUConfig{.num_parameters = 3}); }},
      {"prelu1", [] { return PReLU(); }},
      {"pixel_shuffle", [] { return PixelShuffle(2); }},
      {"conv_transpose",
       [] {
         return ConvTranspose2d(ConvTranspose2dConfig{.in_channels = 3,
                                                      .out_channels = 4,
                                                      .kernel_size = 3,
                                                      .stride = 2,
                                                      .padding = 1,
                                                      .output_padding = 1});
       }},
      {"conv_transpose_groups",
       [] {
         return ConvTranspose2d(ConvTranspose2dConfig{.in_channels = 4,
                                                      .out_channels = 6,
                                                      .kernel_size = {3, 2},
                                                      .stride = {2, 1},
                                                      .padding = {0, 1},
                                                      .output_padding = {1, 0},
                                                      .groups = 2,
                                                      .dilation = {1, 2}});
       }},
      {"conv_transpose_nobias",
       [] {
         return ConvTranspose2d(ConvTranspose2dConfig{
             .in_channels = 2, .out_channels = 3, .kernel_size = 2, .stride = 2, .bias = false});
       }},
      {"adaptive_max",
       [] {
         return AdaptiveMaxPool2d(Pair{3, 2});
       }},
      {"adaptive_max_even", [] { return AdaptiveMaxPool2d(2); }},
      {"upsample_nearest", [] { return Upsample(InterpolateArgs{.scale_factor = 2.0}); }},
      {"upsample_nearest_size",
       [] {
         return Upsample(InterpolateArgs{.size = Pair{5, 7}});
       }},
      {"upsample_nearest_frac",
       [] {
         return Upsample(InterpolateArgs{.scale_factor = ScalePair{1.7, 0.6}});
       }},
      {"upsample_bilinear",
       [] {
         return Upsample(InterpolateArgs{.size = Pair{5, 7}, .mode = Interpolation::Bilinear});
       }},
      {"upsample_bilinear_down",
       [] {
         return Upsample(
             InterpolateArgs{.scale_factor = ScalePair{0.6, 1.5}, .mode = Interpolation::Bilinear});
       }},
      {"upsample_bilinear_corners",
       [] {
         return Upsample(InterpolateArgs{
             .scale_factor = 1.5, .mode = Interpolation::Bilinear, .align_corners = true});
       }},
      {"pad_reflect",
       [] {
         return padding({1, 2, 2, 0}, PadMode::Reflect);
       }},
      {"pad_reflect1d",
       [] {
         return padding({2, 2}, PadMode::Reflect);
       }},
      {"pad_replicate",
       [] {
         return padding({2, 0, 1, 3}, PadMode::Replicate);
       }},
      {"pad_constant",
       [] {
         return padding({1, -1, 2, 0}, PadMode::Constant, 0.5);
       }},
  };
}

}  // namespace

TEST_CASE("Module: named parameters, buffers, children, train/eval, state_dict") {
  auto net = nn::Sequential(std::initializer_list<std::shared_ptr<nn::Module>>{
      nn::Conv2d(nn::Conv2dConfig{.in_channels = 1, .out_channels = 2, .kernel_size = 3}),
      nn::BatchNorm2d(2), nn::ReLU()});
  std::vector<std::string> names;
  for (auto& [name, p] : net->named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"});
  std::vector<std::string> buffers;
  for (auto& [name, b] : net->named_buffers()) buffers.push_back(name);
  CHECK(buffers ==
        std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked"});
  CHECK(net->children().size() == 3);
  CHECK(net->modules().size() == 4);
  CHECK(net->named_modules()[2].first == "1");
  CHECK(net->parameters(/*recurse=*/false).empty());
  CHECK(nn::parameter_count(*net) == 2 * 9 + 2 + 2 + 2);
  CHECK(net->is_training());
  net->eval();
  CHECK(!(*net)[1]->is_training());
  net->train();
  CHECK((*net)[1]->is_training());
  TensorMap sd = net->state_dict();
  CHECK(sd.size() == 7);
  CHECK(sd.at("0.weight").storage() == net->parameters()[0].storage());  // shares storage

  std::ostringstream repr;
  repr << *net;
  CHECK(repr.str() ==
        "Sequential(\n"
        "  (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))\n"
        "  (1): BatchNorm2d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  (2): ReLU()\n"
        ")\n(24 parameters)");

  // zero_grad clears gradients; to(dtype) converts in place, so layer handles follow.
  Tensor y = sum((*net)(randn({2, 1, 5, 5})));
  y.backward();
  CHECK(net->parameters()[0].grad().defined());
  net->zero_grad();
  CHECK(!net->parameters()[0].grad().defined());
  auto conv = std::dynamic_pointer_cast<nn::Conv2dImpl>((*net)[0]);
  net->to(kFloat64);
  CHECK(conv->weight.dtype() == kFloat64);
  CHECK((*net)(randn({1, 1, 5, 5}, kFloat64)).dtype() == kFloat64);
  CHECK_THROWS_WITH_AS(net->register_parameter("bad.name", zeros({1})),
                       doctest::Contains("contain no '.'"), Error);
  CHECK_THROWS_WITH_AS(nn::ModuleList()->forward(zeros({1})),
                       doctest::Contains("ModuleList: this module has no forward(Tensor)"), Error);
}

TEST_CASE("layers match PyTorch: outputs, input and parameter gradients") {
  TensorMap g = golden("nn.safetensors");
  for (const auto& [name, make] : layers()) {
    for (std::string tag : {"f64", "f32"}) {
      CAPTURE(name);
      CAPTURE(tag);
      std::string key = name + "." + tag + ".";
      double rtol = tag == "f64" ? 1e-10 : 1e-5, atol = tag == "f64" ? 1e-12 : 1e-5;
      auto m = make();
      if (tag == "f64") m->to(kFloat64);
      m->load_state_dict(with_prefix(g, key + "param."));
      Tensor x = g.at(key + "x");
      if (x.is_floating_point()) x.requires_grad_();
      Tensor out = (*m)(x);
      CHECK_CLOSE_ABS(out, g.at(key + "out"), rtol, atol);
      out.backward(g.at(key + "gout"));
      if (x.is_floating_point()) CHECK_CLOSE_ABS(x.grad(), g.at(key + "grad.x"), rtol, atol);
      for (auto& [pname, p] : m->named_parameters()) {
        CAPTURE(pname);
        CHECK_CLOSE_ABS(p.grad(), g.at(key + "grad." + pname), rtol, atol);
      }
    }
  }
}

TEST_CASE("BatchNorm2d matches PyTorch over 3 training steps, then in eval") {
  TensorMap g = golden("nn.safetensors");
  for (std::string tag : {"f64", "f32"}) {
    CAPTURE(tag);
    std::string key = "bn2d." + tag + ".";
    double rtol = tag == "f64" ? 1e-10 : 1e-5, atol = tag == "f64" ? 1e-12 : 1e-5;
    nn::BatchNorm2d bn({.num_features = 3, .momentum = 0.2});
    if (tag == "f64") bn->to(kFloat64);
    bn->load_state_dict(with_prefix(g, key + "param."));
    for (int step = 0; step < 3; ++step) {
      std::string s = key + "train" + std::to_string(step) + ".";
      Tensor x = g.at(s + "x").requires_grad_();
      Tensor out = bn(x);
      CHECK_CLOSE_ABS(out, g.at(s + "out"), rtol, atol);
      out.backward(g.at(s + "gout"));
      CHECK_CLOSE_ABS(x.grad(), g.at(s + "grad.x"), rtol, atol);
      CHECK_CLOSE_ABS(bn->running_mean, g.at(s + "running_mean"), rtol, atol);
      CHECK_CLOSE_ABS(bn->running_var, g.at(s + "running_var"), rtol, atol);
    }
    CHECK(bn->num_batches_tracked.item<int64_t>() == 3);
    bn->eval();
    CHECK_CLOSE_ABS(bn(g.at(key + "eval.x")), g.at(key + "eval.out"), rtol, atol);
  }
}

// Sequential runs the pair as one op (F::batch_norm_relu): PyTorch's values, and the profile
// shows the fused op instead of a relu.
TEST_CASE("BatchNorm2d then ReLU in a Sequential: PyTorch's values and gradients, as one op") {
  TensorMap g = golden("nn.safetensors");
  for (std::string tag : {"f64", "f32"}) {
    CAPTURE(tag);
    std::string key = "bn2d_relu." + tag + ".";
    double rtol = tag == "f64" ? 1e-10 : 1e-5, atol = tag == "f64" ? 1e-12 : 1e-5;
    nn::BatchNorm2d bn({.num_features = 3, .momentum = 0.2});
    nn::Sequential seq{bn, nn::ReLU()};
    if (tag == "f64") seq->to(kFloat64);
    bn->load_state_dict(with_prefix(g, key + "param."));
    for (int step = 0; step < 2; ++step) {
      std::string s = key + "train" + std::to_string(step) + ".";
      Tensor x = g.at(s + "x").requires_grad_();
      seq->zero_grad();
      profiler::Profile profile;
      Tensor out = seq(x);
      out.backward(g.at(s + "gout"));
      profile.stop();
      std::set<std::string> seen;
      for (const auto& e : profile.events()) seen.insert(e.name);
      CHECK(seen.count("batch_norm_relu"));
      CHECK_FALSE(seen.count("relu"));
      CHECK_CLOSE_ABS(out, g.at(s + "out"), rtol, atol);
      CHECK_CLOSE_ABS(x.grad(), g.at(s + "grad.x"), rtol, atol);
      CHECK_CLOSE_ABS(bn->weight.grad(), g.at(s + "grad.weight"), rtol, atol);
      CHECK_CLOSE_ABS(bn->bias.grad(), g.at(s + "grad.bias"), rtol, atol);
      CHECK_CLOSE_ABS(bn->running_mean, g.at(s + "running_mean"), rtol, atol);
      CHECK_CLOSE_ABS(bn->running_var, g.at(s + "running_var"), rtol, atol);
      // The same bits as the two ops one after the other.
      Tensor x2 = g.at(s + "x").detach().requires_grad_();
      nn::BatchNorm2d alone({.num_features = 3, .momentum = 0.2});
      if (tag == "f64") alone->to(kFloat64);
      alone->load_state_dict(bn->state_dict());
      alone->running_mean.copy_(
          g.at(step ? key + "train0.running_mean" : key + "param.running_mean"));
      alone->running_var.copy_(g.at(step ? key + "train0.running_var" : key + "param.running_var"));
      Tensor separate = relu(alone(x2));
      separate.backward(g.at(s + "gout"));
      CHECK(values(separate) == values(out));
      CHECK(values(x2.grad()) == values(x.grad()));
    }
    seq->eval();
    CHECK_CLOSE_ABS(seq(g.at(key + "eval.x")), g.at(key + "eval.out"), rtol, atol);
  }
}

TEST_CASE("dropout: training only, seeded, and unbiased") {
  Tensor x = ones({100000});
  manual_seed(1);
  Tensor a = nn::functional::dropout(x, 0.3, true);
  manual_seed(1);
  Tensor b = nn::functional::dropout(x, 0.3, true);
  CHECK(values(a) == values(b));
  // The kept fraction is binomial: σ = sqrt(0.7 * 0.3 / 100000) = 0.00145; allow 5σ. The mean
  // is scaled by 1/(1 - p), so its σ is 0.00145 / 0.7.
  double kept = sum(to(gt(a, 0.0), kFloat64)).item<double>() / 100000;
  double sigma = std::sqrt(0.7 * 0.3 / 100000);
  CHECK(std::abs(kept - 0.7) <= 5 * sigma);
  CHECK(std::abs(mean(a).item<double>() - 1.0) <= 5 * sigma / 0.7);
  nn::Dropout layer(0.3);
  layer->eval();
  CHECK(layer(x).is_same(x));
  CHECK_THROWS_WITH_AS(nn::Dropout(1.5), "Dropout: probability must be in [0, 1], got 1.5", Error);
}

TEST_CASE("layer errors name the layer and the shapes") {
  nn::Conv2d conv({.in_channels = 1, .out_channels = 32, .kernel_size = 3});
  CHECK_THROWS_WITH_AS(conv(zeros({8, 3, 28, 28})),
                       "conv2d: input has 3 channels but weight expects 1 (input [8, 3, 28, 28], "
                       "weight [32, 1, 3, 3], groups 1)",
                       Error);
  CHECK_THROWS_WITH_AS(conv(zeros({1, 1, 2, 2})), doctest::Contains("smaller than the kernel"),
                       Error);
  nn::Linear fc(4, 2);
  CHECK_THROWS_WITH_AS(fc(zeros({3, 5})),
                       doctest::Contains("linear: input [3, 5] does not match weight [2, 4]"),
                       Error);
  nn::BatchNorm2d bn(3);
  CHECK_THROWS_WITH_AS(bn(zeros({2, 4, 5, 5})),
                       doctest::Contains("BatchNorm2d: expected input (N, 3, H, W)"), Error);
  CHECK_THROWS_WITH_AS(bn(zeros({1, 3, 1, 1})), doctest::Contains("more than 1 value per channel"),
                       Error);
}

TEST_CASE("a small CNN fits a fixed batch of 64 random images") {
  manual_seed(0);
  Tensor images = randn({64, 1, 12, 12});
  Tensor labels = randint(0, 10, {64});
  auto net = nn::Sequential(std::initializer_list<std::shared_ptr<nn::Module>>{
      nn::Conv2d(
          nn::Conv2dConfig{.in_channels = 1, .out_channels = 16, .kernel_size = 3, .padding = 1}),
      nn::BatchNorm2d(16), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(16 * 36, 10)});
  optim::Adam adam(net->parameters(), {.lr = 1e-2});
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    Tensor loss = nn::functional::cross_entropy((*net)(images), labels);
    loss.backward();
    adam.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  net->eval();
  NoGradGuard no_grad;
  double accuracy = mean(to(eq(argmax((*net)(images), 1), labels), kFloat64)).item<double>();
  MESSAGE("loss ", first, " -> ", last, ", training accuracy ", accuracy);
  CHECK(last < first / 10);
  CHECK(accuracy == 1.0);
}

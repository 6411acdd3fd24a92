// The gradient-check table for nn::functional: gradcheck and gradgradcheck in float64 for every
// functional op (conv2d over stride, padding, dilation and groups), and a test that every op
// declared in nn/functional.h, nn/attention.h or nn/recurrent.h has a line (the attention
// functionals are checked further, with masks and both normalizations, in test_attention.cpp).
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "helpers.h"

using namespace ember;
namespace F = ember::nn::functional;
using Inputs = std::vector<Tensor>;

namespace {

Tensor in(const Shape& s) { return randn(s, kFloat64).requires_grad_(); }
Tensor away(const Shape& s) {
  Tensor r = randn(s, kFloat64);
  return (sign(r) * (abs(r) + 0.2)).detach().requires_grad_();
}

using Line = ember::testing::GradcheckLine;

std::vector<Line> table() {
  manual_seed(77);
  Tensor target = tensor({2, 0, 3, -100}, kInt64);
  Tensor spatial = tensor({{1, 0}, {2, 2}}, kInt64);
  Tensor prob = rand({3, 4}, kFloat64);
  Tensor idx = tensor({{1, 4}, {0, 1}}, kInt64);
  std::vector<Line> lines{
      {"linear",
       [](const Inputs& x) { return F::linear(x[0], x[1], x[2]); },
       {in({3, 4}), in({2, 4}), in({2})}},
      {"unfold",
       [](const Inputs& x) {
         return F::unfold(x[0], {2, 3}, 1, {1, 0}, {1, 2});
       },
       {in({1, 2, 4, 5})}},
      {"fold",
       [](const Inputs& x) {
         return F::fold(x[0], {4, 5}, {2, 3}, 1, {1, 0}, {1, 2});
       },
       {in({1, 12, 10})}},
      {"max_pool2d", [](const Inputs& x) { return F::max_pool2d(x[0], 2); }, {in({2, 2, 4, 4})}},
      {"max_pool1d",
       [](const Inputs& x) { return F::max_pool1d(x[0], 3, {.stride = 2, .padding = 1}); },
       {in({2, 2, 7})}},
      {"avg_pool1d", [](const Inputs& x) { return F::avg_pool1d(x[0], 2); }, {in({2, 5})}},
      {"conv1d",
       [](const Inputs& x) {
         return F::conv1d(x[0], x[1], x[2],
                          {.stride = 2, .padding = 1, .dilation = 2, .groups = 2});
       },
       {in({2, 4, 9}), in({6, 2, 3}), in({6})}},
      {"max_pool2d",
       [](const Inputs& x) { return F::max_pool2d(x[0], 3, {.stride = 2, .padding = 1}); },
       {in({1, 2, 5, 5})}},
      {"avg_pool2d",
       [](const Inputs& x) { return F::avg_pool2d(x[0], 3, {.stride = 2, .padding = 1}); },
       {in({1, 2, 5, 5})}},
      {"adaptive_avg_pool2d",
       [](const Inputs& x) {
         return F::adaptive_avg_pool2d(x[0], {2, 3});
       },
       {in({1, 2, 5, 4})}},
      {"batch_norm",
       [](const Inputs& x) { return F::batch_norm(x[0], {}, {}, x[1], x[2], /*training=*/true); },
       {in({3, 2, 2, 2}), in({2}), in({2})}},
      {"batch_norm",
       [](const Inputs& x) {
         Tensor rm = tensor({0.1, -0.2}, kFloat64), rv = tensor({1.5, 0.7}, kFloat64);
         return F::batch_norm(x[0], rm, rv, x[1], x[2], /*training=*/false);
       },
       {in({2, 2, 3}), in({2}), in({2})}},
      {"batch_norm_relu",
       [](const Inputs& x) {
         return F::batch_norm_relu(x[0], {}, {}, x[1], x[2], /*training=*/true);
       },
       {in({3, 2, 2, 2}), in({2}), in({2})}},
      {"batch_norm_relu",
       [](const Inputs& x) {
         Tensor rm = tensor({0.1, -0.2}, kFloat64), rv = tensor({1.5, 0.7}, kFloat64);
         return F::batch_norm_relu(x[0], rm, rv, x[1], x[2], /*training=*/false);
       },
       {in({2, 2, 3}), in({2}), in({2})}},
      // planes of 25: the kernels' vector loops (two vectors of 4 doubles) and their tails
      {"batch_norm",
       [](const Inputs& x) { return F::batch_norm(x[0], {}, {}, x[1], x[2], /*training=*/true); },
       {in({2, 2, 5, 5}), in({2}), in({2})}},
      {"batch_norm_relu",
       [](const Inputs& x) {
         return F::batch_norm_relu(x[0], {}, {}, x[1], x[2], /*training=*/true);
       },
       {in({2, 2, 5, 5}), in({2}), in({2})}},
      {"layer_norm",
       [](const Inputs& x) { return F::layer_norm(x[0], {3}, x[1], x[2]); },
       {in({2, 3}), in({3}), in({3})}},
      {"layer_norm",  // over two dims, weight without bias, and no affine at all
       [](const Inputs& x) {
         return F::layer_norm(x[0], {2, 3}, x[1]) + F::layer_norm(x[0], {3}) * 0.5;
       },
       {in({2, 2, 3}), in({2, 3})}},
      {"group_norm",
       [](const Inputs& x) { return F::group_norm(x[0], 2, x[1], x[2]); },
       {in({2, 4, 3}), in({4}), in({4})}},
      {"cross_entropy",
       [target](const Inputs& x) { return F::cross_entropy(x[0], target); },
       {in({4, 5})}},
      {"cross_entropy",
       [target](const Inputs& x) {
         return F::cross_entropy(x[0], target,
                                 {.label_smoothing = 0.2, .reduction = nn::Reduction::Sum});
       },
       {in({4, 5})}},
      {"cross_entropy",
       [spatial](const Inputs& x) {
         return F::cross_entropy(x[0], spatial, {.reduction = nn::Reduction::None});
       },
       {in({2, 3, 2})}},
      {"cross_entropy",  // class weights, an ignored pixel, label smoothing
       [spatial](const Inputs& x) {
         Tensor t = clone(spatial);
         t.data_ptr<int64_t>()[0] = -100;
         return F::cross_entropy(
             x[0], t, {.weight = tensor({0.5, 2.0, 1.5}, kFloat64), .label_smoothing = 0.1});
       },
       {in({2, 3, 2})}},
      {"nll_loss",
       [target](const Inputs& x) {
         Tensor w = tensor({0.5, 1.0, 2.0, 0.25, 1.5}, kFloat64);
         return F::nll_loss(x[0], target, {.weight = w});  // target ignores its last row
       },
       {in({4, 5})}},
      {"mse_loss", [prob](const Inputs& x) { return F::mse_loss(x[0], prob); }, {in({3, 4})}},
      {"binary_cross_entropy_with_logits",
       [](const Inputs& x) { return F::binary_cross_entropy_with_logits(x[0], x[1]); },
       {in({3, 4}), (rand({3, 4}, kFloat64)).requires_grad_()}},
      {"dropout",
       [](const Inputs& x) {
         manual_seed(5);  // the same mask on every evaluation
         return F::dropout(x[0], 0.4, true);
       },
       {in({3, 4})}},
      {"embedding", [idx](const Inputs& x) { return F::embedding(idx, x[0]); }, {in({5, 3})}},
      {"hardswish", [](const Inputs& x) { return F::hardswish(x[0] * 3.0); }, {in({6})}},
      {"mish", [](const Inputs& x) { return F::mish(x[0] * 3.0); }, {in({6})}},
      {"softplus",  // beta 2 and threshold 4: beta x crosses the threshold for some inputs
       [](const Inputs& x) { return F::softplus(x[0] * 3.0) + F::softplus(x[0] * 3.0, 2.0, 4.0); },
       {away({8})}},
      {"prelu",
       [](const Inputs& x) { return F::prelu(x[0], x[1]) + F::prelu(x[0], x[2]); },
       {in({2, 3, 2}), in({3}), in({1})}},
      {"pixel_shuffle",
       [](const Inputs& x) { return F::pixel_shuffle(x[0], 2); },
       {in({1, 8, 2, 3})}},
      {"adaptive_max_pool2d",  // uneven bins (overlapping), then an even split (max_pool2d)
       [](const Inputs& x) {
         return sum(F::adaptive_max_pool2d(x[0], {2, 3})) + F::adaptive_max_pool2d(x[0], {1, 2});
       },
       {in({1, 2, 5, 4})}},
      {"interpolate",
       [](const Inputs& x) {
         return F::interpolate(x[0], {.scale_factor = nn::ScalePair{1.7, 2.0}});
       },
       {in({1, 2, 3, 2})}},
      {"interpolate",
       [](const Inputs& x) {
         return F::interpolate(x[0], {.size = nn::Pair{5, 2}, .mode = nn::Interpolation::Bilinear});
       },
       {in({1, 2, 3, 4})}},
      {"interpolate",
       [](const Inputs& x) {
         return F::interpolate(
             x[0],
             {.scale_factor = 1.5, .mode = nn::Interpolation::Bilinear, .align_corners = true});
       },
       {in({2, 1, 3, 2})}},
      {"pad",
       [](const Inputs& x) {
         return sum(F::pad(x[0], {1, 2, 2, 1}, nn::PadMode::Reflect)) +
                sum(F::pad(x[0], {2, 0, 0, 3}, nn::PadMode::Replicate) * 0.5) +
                F::pad(x[0], {1, -1, 0, 0, 1, 1}, nn::PadMode::Constant, 0.5);
       },
       {in({2, 3, 3})}},
      {"dropout2d",
       [](const Inputs& x) {
         manual_seed(5);  // the same channel mask on every evaluation
         return F::dropout2d(x[0], 0.4, true);
       },
       {in({2, 3, 2, 2})}},
      {"gelu", [](const Inputs& x) { return F::gelu(x[0]) + F::gelu(x[0], true); }, {in({5})}},
      {"silu", [](const Inputs& x) { return F::silu(x[0]); }, {in({5})}},
      {"leaky_relu", [](const Inputs& x) { return F::leaky_relu(x[0], 0.1); }, {away({5})}},
      {"efficient_attention",
       [](const Inputs& x) { return F::efficient_attention(x[0], x[1], x[2]); },
       {in({2, 2, 3, 4}), in({2, 2, 3, 5}), in({2, 2, 2, 5})}},
      {"dot_product_attention",
       [](const Inputs& x) { return F::dot_product_attention(x[0], x[1], x[2]); },
       {in({2, 2, 3, 4}), in({2, 2, 3, 5}), in({2, 2, 2, 5})}},
      {"blocked_dot_product_attention",  // blocks of 3 queries: one full, one partial
       [](const Inputs& x) {
         return F::blocked_dot_product_attention(x[0], x[1], x[2], nn::Normalization::Softmax, {},
                                                 3 * 2 * 2 * 5);
       },
       {in({2, 2, 3, 4}), in({2, 2, 3, 5}), in({2, 2, 2, 5})}},
  };
  // conv2d over combinations of stride, padding, dilation and groups, every one at second order
  // too (gradgradcheck also compares the kernel gradients with the create_graph formulas).
  for (int64_t stride : {1, 2})
    for (int64_t padding : {0, 1})
      for (int64_t dilation : {1, 2})
        for (int64_t groups : {1, 2}) {
          nn::ConvArgs args{
              .stride = stride, .padding = padding, .dilation = dilation, .groups = groups};
          lines.push_back({"conv2d",
                           [args](const Inputs& x) { return F::conv2d(x[0], x[1], x[2], args); },
                           {in({2, 4, 6, 5}), in({4, 4 / groups, 3, 2}), in({4})},
                           /*second_order=*/true});
        }
  lines.push_back({"conv2d",
                   [](const Inputs& x) { return F::conv2d(x[0], x[1]); },
                   {in({1, 2, 3, 3}), in({3, 2, 1, 1})}});
  // 3x3, stride 1, 8 channels in and out: the Winograd kernels (core/kernels/winograd.cpp),
  // at every padding they serve; gradgradcheck compares their gradients with the create_graph
  // formulas.
  for (int64_t padding : {0, 1, 2}) {
    nn::ConvArgs args{.padding = padding};
    lines.push_back({"conv2d",
                     [args](const Inputs& x) { return F::conv2d(x[0], x[1], x[2], args); },
                     {in({2, 8, 4, 3}), in({8, 8, 3, 3}), in({8})}});
  }
  // conv_transpose2d over stride, padding, output_padding, dilation and groups, at second order.
  for (int64_t stride : {1, 2})
    for (int64_t padding : {0, 1})
      for (int64_t dilation : {1, 2})
        for (int64_t groups : {1, 2}) {
          nn::ConvTransposeArgs args{.stride = stride,
                                     .padding = padding,
                                     .output_padding = std::max(stride, dilation) - 1,
                                     .groups = groups,
                                     .dilation = dilation};
          lines.push_back(
              {"conv_transpose2d",
               [args](const Inputs& x) { return F::conv_transpose2d(x[0], x[1], x[2], args); },
               {in({2, 4, 3, 2}), in({4, 6 / groups, 3, 2}), in({6})},
               /*second_order=*/true});
        }
  // 1x1 kernels: stride 1 reads the input as its own columns; stride 2 does not.
  for (int64_t stride : {1, 2}) {
    nn::ConvArgs args{.stride = stride, .groups = 2};
    lines.push_back({"conv2d",
                     [args](const Inputs& x) { return F::conv2d(x[0], x[1], x[2], args); },
                     {in({3, 4, 3, 2}), in({6, 2, 1, 1}), in({6})}});
  }
  // The recurrent cells (nn/recurrent.h), both of LSTM's states at once.
  lines.push_back({"lstm_cell",
                   [](const Inputs& x) {
                     auto [h, c] = F::lstm_cell(x[0], {x[1], x[2]}, x[3], x[4], x[5], x[6]);
                     return cat({h, c}, 1);
                   },
                   {in({2, 3}), in({2, 2}), in({2, 2}), in({8, 3}), in({8, 2}), in({8}), in({8})}});
  lines.push_back({"gru_cell",
                   [](const Inputs& x) { return F::gru_cell(x[0], x[1], x[2], x[3], x[4], x[5]); },
                   {in({2, 3}), in({2, 2}), in({6, 3}), in({6, 2}), in({6}), in({6})}});
  return lines;
}

std::set<std::string> declared_functional_ops() {
  std::regex decl_re(R"(^(?:Tensor|std::tuple<[\w, ]+>) (\w+)\()");
  std::set<std::string> names;
  for (const char* file : {"functional.h", "attention.h", "recurrent.h"}) {
    std::ifstream header(std::filesystem::path(EMBER_SOURCE_DIR) / "nn" / file);
    for (std::string line; std::getline(header, line);)
      if (std::smatch m; std::regex_search(line, m, decl_re)) names.insert(m[1]);
  }
  return names;
}

}  // namespace

TEST_CASE("every nn::functional op passes gradcheck and gradgradcheck in float64") {
  ember::testing::check_gradients(table());
}

TEST_CASE("every op declared in nn/functional.h has a gradient-check line") {
  auto declared = declared_functional_ops();
  REQUIRE(declared.size() > 15);
  std::set<std::string> checked;
  for (const Line& line : table()) checked.insert(line.op);
  for (const std::string& op : declared) {
    CAPTURE(op);
    CHECK_MESSAGE(checked.count(op), "op '", op, "' in nn/functional.h has no gradcheck line");
  }
}

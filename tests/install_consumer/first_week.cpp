// An outside project's first-week libtorch code, with one line added (namespace torch = ember):
// sorting, scans, tiling, triangles, einsum, indexing, bool masks and integer dtypes, from_blob,
// sampling, compound assignment and devices as libtorch spells them. Each result is
// compared with the numbers PyTorch printed for the same expression (torch 1.13, float32; float64
// for the gradient), written beside it.
#include <ember/ember.h>

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

namespace torch = ember;

namespace {

int failures = 0;

void expect(const std::string& what, const torch::Tensor& got, const std::vector<double>& want) {
  torch::Tensor flat = got.to(torch::kFloat64).contiguous().reshape({-1});
  bool same = flat.numel() == static_cast<int64_t>(want.size());
  for (int64_t i = 0; same && i < flat.numel(); ++i)
    same = std::abs(flat.data_ptr<double>()[i] - want[i]) <= 1e-5 * (1 + std::abs(want[i]));
  if (!same) {
    std::cout << "first_week: " << what << " differs from PyTorch's: " << got << "\n";
    ++failures;
  }
}

}  // namespace

int main() {
  auto x = torch::tensor({{3.0, 1.0, 2.0, -1.0}, {0.5, -2.0, 4.0, 1.5}});

  auto [values, indices] = torch::sort(x, /*dim=*/1, /*descending=*/true);
  expect("sort values", values, {3, 2, 1, -1, 4, 1.5, 0.5, -2});
  expect("sort indices", indices, {0, 2, 1, 3, 2, 3, 0, 1});
  auto [top, where] = x.topk(2, /*dim=*/0);
  expect("topk values", top, {3, 1, 4, 1.5, 0.5, -2, 2, -1});
  expect("topk indices", where, {0, 0, 1, 1, 1, 1, 0, 0});
  expect("argsort", x.argsort(), {3, 1, 2, 0, 1, 0, 3, 2});

  expect("cumsum", torch::cumsum(x, 1), {3, 4, 6, 5, 0.5, -1.5, 2.5, 4});
  expect("cumprod", x.cumprod(0), {3, 1, 2, -1, 1.5, -2, 8, -1.5});
  expect("prod", x.prod(1), {-6, -6});
  expect("logsumexp", torch::logsumexp(x, 1), {3.4197168, 4.1086402});

  expect("repeat", x.repeat({1, 2}).sum(0), {3.5, -1, 6, 0.5, 3.5, -1, 6, 0.5});
  expect("flip and roll", x.flip({1}).roll(1, 1), {3, -1, 2, 1, 0.5, 1.5, 4, -2});
  expect("roll flattened", torch::roll(x, -3), {-1, 0.5, -2, 4, 1.5, 3, 1, 2});
  auto ones = torch::ones({3, 3});
  expect("tril + triu", torch::tril(ones, -1) * 2 + torch::triu(ones), {1, 1, 1, 2, 1, 1, 2, 2, 1});
  auto parts = x.split({1, 3}, 1);
  expect("split with sizes", parts[1], {1, 2, -1, -2, 4, 1.5});
  auto rows = x.unbind(0);
  expect("unbind", rows[0] - rows[1], {2.5, 3, -2, -2.5});
  expect("round", torch::round(x * 1.5), {4, 2, 3, -2, 1, -3, 6, 2});
  expect("floor, ceil", torch::floor(x / 2) + x.ceil(), {4, 1, 3, -2, 1, -3, 6, 2});
  expect("lerp", torch::lerp(x, torch::zeros_like(x), 0.25),
         {2.25, 0.75, 1.5, -0.75, 0.375, -1.5, 3, 1.125});

  using namespace torch::indexing;  // x[:, 1::2], x[None, ..., -1], x[[1, 0, 1], [2, 3, 0]]
  expect("slices", x.index({Slice(), Slice(1, None, 2)}), {1, -1, -2, 1.5});
  expect("None and ...", x.index({None, "...", -1}), {-1, 1.5});
  expect("tensor indices", x.index({torch::tensor({1, 0, 1}), torch::tensor({2, 3, 0})}),
         {4, -1, 0.5});
  expect("x[1][2]", x[1][2], {4});
  auto y = x.clone();
  y.index_put_({Slice(), 0}, 0.0);
  expect("index_put_", y, {0, 1, 2, -1, 0, -2, 4, 1.5});
  expect("masked_select", torch::masked_select(x, x > 0.0), {3, 1, 2, 0.5, 4, 1.5});
  expect("nonzero", (x < 0.0).nonzero(), {0, 3, 1, 1});
  expect("scatter", x.scatter(1, torch::tensor({{0}, {3}}), 9.0), {9, 1, 2, -1, 0.5, -2, 4, 9});
  expect("one_hot", torch::one_hot(torch::tensor({2, 0}), 3), {0, 0, 1, 1, 0, 0});
  expect("where", x.where(x > 0.0, 0.0), {3, 1, 2, 0, 0.5, 0, 4, 1.5});
  expect("einsum", torch::einsum("ij,kj->ik", {x, x}), {15, 6, 6, 22.5});
  expect("einsum, implicit", torch::einsum("ij", {x}).sum(0), {3.5, -1, 6, 0.5});
  expect("trace", torch::einsum("ii", {x.narrow(1, 0, 2)}), {1});
  expect("diagonal", x.diagonal(1), {1, 4});
  auto a = x.accessor<float, 2>();
  expect("accessor", torch::tensor({a[1][2], a[0][3]}), {4, -1});

  expect("amax, amin", torch::cat({x.amax(1), x.amin(0)}), {3, 4, 0.5, -2, 2, -1});
  expect("sum(1), mean(1)", torch::cat({x.sum(1), x.mean(1)}), {5, 4, 1.25, 1});
  auto y2 = x.clone();
  y2 += 1;
  y2 *= 2;
  expect("+= and *=", y2, {8, 4, 6, 0, 3, -2, 10, 5});
  auto y3 = x.clone();
  y3 -= 1;
  y3 /= 2;
  expect("-= and /=", y3, {1, 0, 0.5, -1, -0.25, -1.5, 1.5, 0.25});
  auto s = torch::zeros({2, 3});
  s.scatter_(1, torch::tensor({{2}, {0}}), torch::ones({2, 1}));
  expect("scatter_", s, {0, 0, 1, 1, 0, 0});
  torch::Device device(torch::cuda::is_available() ? torch::kCUDA : torch::kCPU);
  torch::nn::Linear layer(4, 1);
  layer->to(device);
  auto on_device = x.to(device);
  if (!(on_device.device() == device) || !(layer->weight.device() == torch::Device(torch::kCPU)))
    ++failures;
  expect("x.to(device)", on_device, {3, 1, 2, -1, 0.5, -2, 4, 1.5});
  auto counts = torch::tensor({1, 2});
  counts.add_(torch::tensor({3, 4}), /*alpha=*/2);
  expect("add_ with an integer alpha", counts, {7, 10});
  if (counts.dtype() != torch::kLong) ++failures;

  // bool masks and the integer dtypes, promoted as PyTorch promotes them
  auto m = x > 0;
  if (m.dtype() != torch::kBool || m.sum().dtype() != torch::kLong) ++failures;
  expect("x[mask]", x.index({m}), {3, 1, 2, 0.5, 4, 1.5});
  auto z = x.clone();
  z.index_put_({x < 0}, 0);
  expect("x[x < 0] = 0", z, {3, 1, 2, 0, 0.5, 0, 4, 1.5});
  expect("all, any", torch::stack({m.all().to(torch::kLong), m.any(1).to(torch::kLong).sum()}),
         {0, 2});
  expect("~ and &", (~m).to(torch::kInt) * 2 + (m & (x < 3)), {0, 1, 1, 2, 1, 2, 0, 1});
  expect("int32 / 2", torch::tensor({1, 2, 3}, torch::kInt32) / 2, {0.5, 1, 1.5});
  expect("uint8 wraps", torch::tensor({250, 10}, torch::kUInt8) + 10, {4, 20});
  float blob[] = {1, 2, 3, 4};
  torch::from_blob(blob, {2, 2}).mul_(2);
  expect("from_blob", torch::tensor({blob[0], blob[3]}), {2, 8});
  torch::manual_seed(0);
  expect("bernoulli", torch::bernoulli(torch::full({6}, 0.5)), {1, 0, 1, 1, 1, 0});
  expect("multinomial", torch::multinomial(torch::tensor({1.0, 2.0, 3.0, 4.0}), 2), {3, 1});
  expect("multinomial, replacement",
         torch::tensor({1.0, 2.0, 3.0, 4.0}).multinomial(5, /*replacement=*/true), {2, 2, 1, 2, 1});
  auto x3 = x.unsqueeze(0).repeat({2, 1, 1});
  expect("einsum with ...", torch::einsum("...ij,...kj->...ik", {x3, x}),
         {15, 6, 6, 22.5, 15, 6, 6, 22.5});

  // gradients through them, as PyTorch's autograd gives them
  auto w = torch::tensor({{3.0, 1.0, 2.0}, {0.5, -2.0, 4.0}},
                         torch::TensorOptions().dtype(torch::kFloat64).requires_grad(true));
  auto loss = std::get<0>(w.sort(1)).mul(torch::tensor({1.0, 2.0, 3.0}, torch::kFloat64)).sum() +
              w.cumprod(1).sum() + torch::logsumexp(w, 0).sum();
  loss.backward();
  expect("gradient", w.grad(),
         {7.9241418, 10.9525741, 5.1192029, -6.9241418, 3.5474259, 2.8807971});
  std::cout << "first_week: " << (failures ? "FAILED" : "every value matches PyTorch's") << "\n";
  return failures ? 1 : 0;
}

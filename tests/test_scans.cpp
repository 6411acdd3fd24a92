// Selection, scans and the copies that move elements (autograd/scan.h, rearrange.h, and floor,
// ceil, round, lerp, einsum): their lines of the gradient-check table, and the rules a gradient
// check cannot see, each against a loop written here (sort's stability and NaN order, cumprod's
// gradient at zeros, round's halves, roll's wrap-around) or against PyTorch's printed values.
#include "helpers.h"

using namespace ember;
using ember::testing::values;
using Inputs = std::vector<Tensor>;
using Line = ember::testing::GradcheckLine;

namespace {

Tensor in(const Shape& s) { return randn(s, kFloat64).requires_grad_(); }

// randn with exact zeros where `mask` is 0: cumprod's and prod's special case.
Tensor with_zeros(const Shape& s, const Tensor& mask) {
  return (randn(s, kFloat64) * to(mask, kFloat64)).detach().requires_grad_();
}

}  // namespace

std::vector<Line> ember::testing::scan_lines() {
  manual_seed(77);
  Tensor zero_at = tensor({{1, 0, 1, 1}, {1, 1, 1, 1}, {1, 1, 0, 0}}, kInt64);
  return {
      {"sort",
       [](const Inputs& x) {
         auto [values, indices] = sort(x[0], 1, /*descending=*/true);
         return values * 2.0 + transpose(std::get<0>(sort(transpose(x[0], 0, 1))), 0, 1);
       },
       {in({3, 4})}},
      {"topk",
       [](const Inputs& x) {
         return std::get<0>(topk(x[0], 2, 0)) + std::get<0>(topk(x[0], 1, -1, false)).sum();
       },
       {in({4, 3})}},
      {"cumsum", [](const Inputs& x) { return cumsum(x[0], 1) * cumsum(x[0], 0); }, {in({3, 4})}},
      {"cumprod", [](const Inputs& x) { return cumprod(x[0], -1); }, {in({3, 4})}},
      // zeros: the exact first-order formula; second derivatives refuse such an input
      {"cumprod",
       [](const Inputs& x) { return cumprod(x[0], 1); },
       {with_zeros({3, 4}, zero_at)},
       /*second_order=*/false},
      {"prod(Tensor, std::optional<DType>)",
       [](const Inputs& x) { return prod(x[0]); },
       {in({2, 3})}},
      {"prod(Tensor, std::optional<DType>)",
       [](const Inputs& x) { return prod(x[0]); },
       {with_zeros({3, 4}, zero_at)},
       false},
      {"prod(Tensor, int64_t, bool, std::optional<DType>)",
       [](const Inputs& x) { return prod(x[0], 0, true) + prod(x[0], 1).sum(); },
       {in({3, 4})}},
      {"logsumexp(Tensor, Shape, bool)",
       [](const Inputs& x) {
         return logsumexp(x[0], {0, 2}) + logsumexp(x[0], {}, true).sum();
       },
       {in({2, 3, 2})}},
      {"logsumexp(Tensor, I, bool)",
       [](const Inputs& x) { return x[0].logsumexp(1, true); },
       {in({3, 4})}},
      {"repeat",
       [](const Inputs& x) {
         return repeat(x[0], {2, 1, 3});
       },
       {in({2, 2})}},
      {"flip",
       [](const Inputs& x) {
         return flip(x[0], {0, -1}) * x[0];
       },
       {in({3, 4})}},
      {"roll(Tensor, Shape, Shape)",
       [](const Inputs& x) {
         return roll(x[0], {1, -5}, {0, 1}) + roll(x[0], 2);
       },
       {in({3, 4})}},
      {"roll(Tensor, int64_t, std::optional<int64_t>)",
       [](const Inputs& x) { return roll(x[0], 1, 1) * roll(x[0], -1); },
       {in({3, 4})}},
      {"tril", [](const Inputs& x) { return tril(x[0]) + tril(x[0], -1) * 2.0; }, {in({2, 3, 4})}},
      {"triu", [](const Inputs& x) { return triu(x[0], 1) + triu(x[0]) * 3.0; }, {in({4, 3})}},
      {"unbind",
       [](const Inputs& x) {
         auto rows = unbind(x[0], 1);
         return rows[0] * rows[2];
       },
       {in({2, 3})}},
      {"split(Tensor, Shape, int64_t)",
       [](const Inputs& x) {
         auto p = split(x[0], Shape{1, 3}, 1);
         return p[0] * p[1].sum(1, true);
       },
       {in({2, 4})}},
      {"floor", [](const Inputs& x) { return floor(x[0] * 3.0) * x[0]; }, {in({5})}},
      {"ceil", [](const Inputs& x) { return ceil(x[0] * 3.0) * x[0]; }, {in({5})}},
      {"round", [](const Inputs& x) { return round(x[0] * 3.0) * x[0]; }, {in({5})}},
      {"diagonal",
       [](const Inputs& x) { return diagonal(x[0]) + diagonal(x[0], 1, 2, 0).sum(); },
       {in({3, 4, 3})}},
      {"einsum",
       [](const Inputs& x) {
         return einsum("ij,jk->ik", {x[0], x[1]}) + einsum("ij,kj", {x[0], x[2]}) +
                einsum("i,j->ij", {x[0].sum(1), x[1].sum(1)}).sum() + einsum("ii", {x[3]});
       },
       {in({2, 3}), in({3, 4}), in({4, 3}), in({3, 3})}},
      {"einsum",  // batched, as attention: softmax(q k^T) v, and a sum over an unshared letter
       [](const Inputs& x) {
         Tensor scores = einsum("bhqd,bhkd->bhqk", {x[0], x[1]}).softmax(-1);
         return einsum("bhqk,bhkd->bqhd", {scores, x[1]}) + einsum("bhqd,e->bqhd", {x[0], x[2]});
       },
       {in({1, 2, 3, 2}), in({1, 2, 4, 2}), in({2})}},
      {"einsum",  // "...", broadcast: a batch of 2 against one matrix
       [](const Inputs& x) {
         return einsum("...ij,...jk->...ik", {x[0], x[1]});
       },
       {in({2, 1, 2, 3}), in({3, 3, 2})}},
      {"lerp(Tensor, Tensor, double)",
       [](const Inputs& x) { return lerp(x[0], x[1], 0.3); },
       {in({2, 3}), in({3})}},
      {"lerp(Tensor, Tensor, Tensor)",
       [](const Inputs& x) { return lerp(x[0], x[1], x[2]); },
       {in({2, 3}), in({2, 3}), in({3})}},
  };
}

TEST_CASE("sort is stable, puts NaN last, and its indices gather its values") {
  Tensor x = tensor({{3.0, 1.0, NAN, 1.0, 2.0}, {0.5, -1.0, 0.5, 0.5, -2.0}});
  auto [up, up_at] = x.sort(1);
  CHECK(values(up_at) == std::vector<double>{1, 3, 4, 0, 2, 4, 1, 0, 2, 3});
  CHECK(std::isnan(values(up)[4]));
  auto [down, down_at] = x.sort(-1, /*descending=*/true);
  CHECK(values(down_at) == std::vector<double>{2, 0, 4, 1, 3, 0, 2, 3, 1, 4});
  CHECK(values(argsort(x, 1, true)) == values(down_at));
  CHECK(values(gather(x, 1, down_at)).back() == values(down).back());
  // int64 too, and along dim 0
  Tensor i = tensor({{4, 1}, {2, 9}, {3, 0}}, kInt64);
  auto [sorted, at] = sort(i, 0);
  CHECK(values(sorted) == std::vector<double>{2, 0, 3, 1, 4, 9});
  CHECK(values(at) == std::vector<double>{1, 2, 2, 0, 0, 1});
  CHECK(!at.requires_grad());
  CHECK(at.dtype() == kInt64);
}

TEST_CASE("topk picks the k largest or smallest, sorted, and checks k") {
  Tensor x = tensor({5.0, -1.0, 7.0, 3.0, 0.0});
  auto [top, at] = x.topk(3);
  CHECK(values(top) == std::vector<double>{7, 5, 3});
  CHECK(values(at) == std::vector<double>{2, 0, 3});
  auto [low, low_at] = topk(x, 2, 0, /*largest=*/false);
  CHECK(values(low) == std::vector<double>{-1, 0});
  CHECK(values(low_at) == std::vector<double>{1, 4});
  CHECK(std::get<0>(topk(x, 0)).numel() == 0);
  Tensor w = randn({3, 4}, kFloat64).requires_grad_();  // indices never require grad
  CHECK(!std::get<1>(topk(w, 2)).requires_grad());
  CHECK(!std::get<1>(sort(w, 0)).requires_grad());
  CHECK(!argsort(w, 1).requires_grad());
  CHECK(std::get<0>(sort(w, 0)).requires_grad());
  CHECK_THROWS_WITH_AS(topk(x, 6), doctest::Contains("topk: k (6) is out of range"), Error);
}

TEST_CASE("cumsum and cumprod match a running loop; cumprod's gradient is exact at zeros") {
  Tensor x = tensor({{2.0, 0.0, 3.0, -1.0}, {0.5, 4.0, 0.0, 0.0}}, kFloat64).requires_grad_();
  CHECK(values(cumsum(x, 1)) == std::vector<double>{2, 2, 5, 4, 0.5, 4.5, 4.5, 4.5});
  CHECK(values(cumprod(x, 1)) == std::vector<double>{2, 0, 0, 0, 0.5, 2, 0, 0});
  Tensor g = tensor({{1.0, 2.0, 3.0, 4.0}, {-1.0, 1.0, 2.0, 5.0}}, kFloat64);
  cumprod(x, 1).backward(g);
  // dx_i = Σ_{j≥i} g_j Π_{k≤j, k≠i} x_k, by loops
  std::vector<double> xv = values(x), gv = values(g), want;
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 4; ++i) {
      double total = 0;
      for (int j = i; j < 4; ++j) {
        double p = gv[r * 4 + j];
        for (int k = 0; k <= j; ++k)
          if (k != i) p *= xv[r * 4 + k];
        total += p;
      }
      want.push_back(total);
    }
  CHECK(values(x.grad()) == want);
  CHECK(cumsum(tensor({1, 2, 3}), 0).dtype() == kInt64);
  CHECK(values(cumsum(tensor({1, 2, 3}), 0, kFloat64)) == std::vector<double>{1, 3, 6});
  // second derivatives through zeros: refused by name
  CHECK_THROWS_WITH_AS(autograd::grad({cumprod(x, 1).sum()}, {x}, {}, false, /*create_graph=*/true),
                       doctest::Contains("cumprod: second derivatives need an input without zeros"),
                       Error);
}

TEST_CASE("prod and logsumexp: empty products, zeros, infinities") {
  Tensor x = tensor({{2.0, 0.0, 3.0}, {1.5, 2.0, -1.0}});
  CHECK(prod(x).item<float>() == 0.0f);
  CHECK(values(prod(x, 1)) == std::vector<double>{0, -3});
  CHECK(values(x.prod(0, true)) == std::vector<double>{3, 0, -3});
  CHECK(values(prod(zeros({2, 0}), 1)) == std::vector<double>{1, 1});
  CHECK(prod(tensor({2, 3, 4})).item<int64_t>() == 24);
  Tensor l = tensor({{0.0, std::log(3.0)}, {-INFINITY, -INFINITY}}, kFloat64);
  std::vector<double> lse = values(logsumexp(l, 1));
  CHECK(lse[0] == doctest::Approx(std::log(4.0)).epsilon(1e-15));
  CHECK(lse[1] == -INFINITY);
  CHECK(values(logsumexp(tensor({1000.0, 1000.0}, kFloat64), 0))[0] ==
        doctest::Approx(1000 + std::log(2.0)).epsilon(1e-15));
  CHECK(shape_of(logsumexp(randn({2, 3, 4}), {0, 2}, true)) == Shape{1, 3, 1});
}

TEST_CASE("repeat, flip, roll, tril and triu move elements as the loops say") {
  Tensor x = tensor({{1, 2, 3}, {4, 5, 6}}, kInt64);
  CHECK(values(x.repeat({1, 2})) == std::vector<double>{1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6});
  CHECK(shape_of(repeat(x, {2, 1, 1})) == Shape{2, 2, 3});
  CHECK(values(repeat(x, {2, 1})) == std::vector<double>{1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6});
  CHECK(values(flip(x, {1})) == std::vector<double>{3, 2, 1, 6, 5, 4});
  CHECK(values(x.flip({0, 1})) == std::vector<double>{6, 5, 4, 3, 2, 1});
  CHECK(values(roll(x, 1, 1)) == std::vector<double>{3, 1, 2, 6, 4, 5});
  CHECK(values(roll(x, -4, 1)) == std::vector<double>{2, 3, 1, 5, 6, 4});
  CHECK(values(x.roll(2)) == std::vector<double>{5, 6, 1, 2, 3, 4});
  CHECK(values(roll(x, {1, 1}, {0, 1})) == std::vector<double>{6, 4, 5, 3, 1, 2});
  Tensor m = reshape(arange(12), {3, 4}) + 1;
  CHECK(values(tril(m)) == std::vector<double>{1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0});
  CHECK(values(m.triu(1)) == std::vector<double>{0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12});
  CHECK(values(tril(m, -1)) == std::vector<double>{0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0});
  auto parts = split(m, Shape{1, 3}, 1);
  CHECK(values(parts[1]) == std::vector<double>{2, 3, 4, 6, 7, 8, 10, 11, 12});
  CHECK(values(m.unbind(0)[2]) == std::vector<double>{9, 10, 11, 12});
  CHECK_THROWS_WITH_AS(split(m, Shape{1, 2}, 1),
                       doctest::Contains("split sizes [1, 2] add up to 3, not the size 4"), Error);
  CHECK_THROWS_WITH_AS(repeat(m, {2}), doctest::Contains("repeat: 1 repeats [2]"), Error);
  CHECK_THROWS_WITH_AS(flip(m, {0, -2}), doctest::Contains("flip: dim -2 appears twice"), Error);
  CHECK_THROWS_WITH_AS(roll(m, {1, 2}, {0}), doctest::Contains("roll: 2 shifts"), Error);
  CHECK_THROWS_WITH_AS(tril(arange(3)), doctest::Contains("tril: expected a tensor of at least 2"),
                       Error);
}

TEST_CASE("round takes halves to even, as torch.round; floor and ceil as std's") {
  Tensor x = tensor({-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.7, -2.2});
  CHECK(values(round(x)) == std::vector<double>{-2, -2, -0, 0, 2, 2, 3, -2});
  CHECK(values(floor(x)) == std::vector<double>{-3, -2, -1, 0, 1, 2, 2, -3});
  CHECK(values(x.ceil()) == std::vector<double>{-2, -1, -0, 1, 2, 3, 3, -2});
  CHECK(values(floor(tensor({3, -4}))) == std::vector<double>{3, -4});
  CHECK(values(lerp(tensor({0.0, 10.0}), tensor({1.0, 20.0}), 0.25)) ==
        std::vector<double>{0.25, 12.5});
}

TEST_CASE("einsum is the products and sums its letters say, and names what is wrong") {
  manual_seed(5);
  Tensor a = randn({2, 3}, kFloat64), b = randn({3, 4}, kFloat64), m = randn({3, 3}, kFloat64);
  CHECK(ember::testing::mismatch(einsum("ij,jk->ik", {a, b}), matmul(a, b), 1e-14).empty());
  CHECK(ember::testing::mismatch(einsum("ij,jk", {a, b}), matmul(a, b), 1e-14).empty());
  CHECK(ember::testing::mismatch(einsum("ij->ji", {a}), a.t(), 0).empty());
  CHECK(einsum("ii", {m}).item<double>() ==
        doctest::Approx(values(diagonal(m))[0] + values(diagonal(m))[1] + values(diagonal(m))[2]));
  std::vector<double> outer = values(einsum("i,j->ij", {tensor({1.0, 2.0}), tensor({3.0, 4.0})}));
  CHECK(outer == std::vector<double>{3, 4, 6, 8});
  CHECK(values(einsum("ij->", {a}))[0] == doctest::Approx(a.sum().item<double>()));
  CHECK(values(diagonal(reshape(arange(12), {3, 4}), 1)) == std::vector<double>{1, 6, 11});
  CHECK(values(diagonal(reshape(arange(12), {3, 4}), -1)) == std::vector<double>{4, 9});
  CHECK_THROWS_WITH_AS(einsum("ij,jk->ik", {a, a}),
                       doctest::Contains("letter 'j' has size 3 in one operand and 2"), Error);
  CHECK_THROWS_WITH_AS(einsum("ijk,jk->ik", {a, b}), doctest::Contains("operand 0 has 2 dims"),
                       Error);
  CHECK_THROWS_WITH_AS(einsum("ij->iz", {a}), doctest::Contains("output letter 'z' is in no"),
                       Error);
  CHECK_THROWS_WITH_AS(einsum("ij,jk->ik", {a}), "einsum: 'ij,jk->ik' names 2 operands, 1 given",
                       Error);
}

TEST_CASE("einsum's \"...\" covers the unnamed dims, broadcast from the right as matmul's") {
  manual_seed(6);
  Tensor a = randn({5, 1, 2, 3}, kFloat64), b = randn({4, 3, 6}, kFloat64);
  CHECK(ember::testing::mismatch(einsum("...ij,...jk", {a, b}), matmul(a, b), 1e-13).empty());
  CHECK(
      ember::testing::mismatch(einsum("...ij,...jk->...ik", {a, b}), matmul(a, b), 1e-13).empty());
  CHECK(ember::testing::mismatch(einsum("...ij->ij", {a}), a.sum({0, 1}), 1e-13).empty());
  CHECK(ember::testing::mismatch(einsum("i...->...", {b}), b.sum(0), 1e-13).empty());
  CHECK(
      ember::testing::mismatch(einsum("b...,b...->b", {b, b}), (b * b).sum({1, 2}), 1e-13).empty());
  CHECK(ember::testing::mismatch(einsum("...ij->...ji", {b}), b.transpose(1, 2), 0).empty());
  CHECK_THROWS_WITH_AS(einsum("...ij,...jk", {randn({2, 2, 3}), randn({3, 3, 6})}),
                       doctest::Contains("\"...\" do not broadcast: sizes 2 and 3"), Error);
  CHECK_THROWS_WITH_AS(einsum("i.j", {b}), doctest::Contains("a '.' outside one \"...\""), Error);
}

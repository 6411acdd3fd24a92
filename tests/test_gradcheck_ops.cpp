// The gradient-check table: a line (or several) for every differentiable op ember declares,
// checked in float64 against central differences (gradcheck) and, for second derivatives,
// gradgradcheck. Inputs stay away from kinks (relu and abs at 0, ties in max, clamp bounds).
// Non-contiguous inputs are made inside fn (transposes, slices), broadcasting by the shapes.
// test_gradcheck_coverage.cpp reads the op headers and fails for any op no table names.
#include "helpers.h"

using namespace ember;
using autograd::gradcheck;
using autograd::gradgradcheck;
using Inputs = std::vector<Tensor>;

namespace {

Tensor in(const Shape& s) { return randn(s, kFloat64).requires_grad_(); }
// Positive, away from 0 (log, sqrt, pow bases, divisors).
Tensor pos(const Shape& s) { return (rand(s, kFloat64) + 0.5).detach().requires_grad_(); }
// Away from 0 in both directions (relu, abs, sign kinks).
Tensor away(const Shape& s) {
  Tensor r = randn(s, kFloat64);
  return (sign(r) * (abs(r) + 0.2)).detach().requires_grad_();
}

using Line = ember::testing::GradcheckLine;

}  // namespace

std::vector<Line> ember::testing::op_lines() {
  manual_seed(2024);
  Tensor mask = tensor({{1, 0, 1, 1}, {0, 0, 1, 0}, {1, 1, 0, 1}}) != 0.0;
  Tensor idx = tensor({2, 0, 2, 1}, kInt64);
  Tensor gidx = tensor({{0, 2}, {1, 1}, {3, 0}}, kInt64);
  std::vector<Line> lines{
      {"add(Tensor, Tensor)",
       [](const Inputs& x) { return add(x[0], x[1]); },
       {in({3, 4}), in({4})}},
      {"add(Tensor, Tensor)",
       [](const Inputs& x) { return transpose(x[0], 0, 1) + x[1]; },
       {in({4, 3}), in({2, 1, 1})}},
      {"add(Tensor, Scalar)", [](const Inputs& x) { return add(x[0], 1.5); }, {in({2, 3})}},
      {"sub(Tensor, Tensor)",
       [](const Inputs& x) { return sub(x[0], x[1]); },
       {in({2, 1, 3}), in({4, 1})}},
      {"sub(Tensor, Scalar)", [](const Inputs& x) { return sub(x[0], 2.0); }, {in({3})}},
      {"sub(Tensor, Scalar)", [](const Inputs& x) { return 2.0 - x[0]; }, {in({3})}},
      {"mul(Tensor, Tensor)",
       [](const Inputs& x) { return mul(x[0], x[1]); },
       {in({3, 4}), in({3, 1})}},
      {"mul(Tensor, Scalar)", [](const Inputs& x) { return mul(x[0] * x[0], -2.0); }, {in({5})}},
      {"div(Tensor, Tensor)",
       [](const Inputs& x) { return div(x[0], x[1]); },
       {in({3, 4}), away({4})}},
      {"div(Tensor, Scalar)", [](const Inputs& x) { return div(x[0], 3.0); }, {in({2, 2})}},
      {"neg", [](const Inputs& x) { return neg(x[0]); }, {in({2, 3})}},
      {"abs", [](const Inputs& x) { return abs(x[0]); }, {away({3, 3})}},
      {"sign", [](const Inputs& x) { return sign(x[0]) * x[0]; }, {away({4})}},
      {"exp", [](const Inputs& x) { return exp(slice(x[0], 1, 0, 4, 2)); }, {in({2, 4})}},
      {"log", [](const Inputs& x) { return log(x[0]); }, {pos({3, 2})}},
      {"sqrt", [](const Inputs& x) { return sqrt(x[0]); }, {pos({4})}},
      {"rsqrt", [](const Inputs& x) { return rsqrt(x[0]); }, {pos({4})}},
      {"pow(Tensor, double)", [](const Inputs& x) { return pow(x[0], 3.0); }, {in({2, 3})}},
      {"pow(Tensor, double)", [](const Inputs& x) { return pow(x[0], -1.5); }, {pos({3})}},
      {"pow(Tensor, Tensor)",
       [](const Inputs& x) { return pow(x[0], x[1]); },
       {pos({2, 3}), in({3})}},
      {"tanh", [](const Inputs& x) { return tanh(x[0]); }, {in({3, 3})}},
      {"sigmoid", [](const Inputs& x) { return sigmoid(x[0]); }, {in({3, 3})}},
      {"relu", [](const Inputs& x) { return relu(x[0]); }, {away({4, 3})}},
      {"erf", [](const Inputs& x) { return erf(x[0]); }, {in({5})}},
      {"sin", [](const Inputs& x) { return sin(x[0] * 2.0); }, {in({5})}},
      {"cos", [](const Inputs& x) { return cos(x[0] * 2.0); }, {in({5})}},
      {"maximum", [](const Inputs& x) { return maximum(x[0], x[1]); }, {in({3, 4}), in({4})}},
      {"minimum", [](const Inputs& x) { return minimum(x[0], x[1]); }, {in({3, 4}), in({3, 1})}},
      {"clamp",
       [](const Inputs& x) {
         return clamp(x[0] * 0.0 + tensor({-2.0, -0.4, 0.1, 0.6, 2.0}, kFloat64) + x[0] * 0.01,
                      -0.5, 0.5);
       },
       {in({5})}},
      {"clamp",
       [](const Inputs& x) {
         return clamp(x[0], std::nullopt, 0.0) + clamp(x[0], 0.0, std::nullopt);
       },
       {away({6})}},
      {"where(Tensor, Tensor, Tensor)",
       [mask](const Inputs& x) { return where(mask, x[0], x[1]); },
       {in({3, 4}), in({4})}},
      {"where(Tensor, Tensor, Scalar)",
       [mask](const Inputs& x) { return where(mask, x[0], 0.5); },
       {in({3, 4})}},
      {"masked_fill",
       [mask](const Inputs& x) { return masked_fill(x[0], select(mask, 0, 1), -2.0); },
       {in({3, 4})}},

      {"sum(Tensor)", [](const Inputs& x) { return sum(x[0]); }, {in({3, 4})}},
      {"sum(Tensor, Shape, bool)",
       [](const Inputs& x) {
         return sum(transpose(x[0], 0, 2), {0, 2});
       },
       {in({2, 3, 4})}},
      {"sum(Tensor, I, bool)", [](const Inputs& x) { return sum(x[0], 1, true); }, {in({2, 3})}},
      {"mean(Tensor, I, bool)", [](const Inputs& x) { return x[0].mean(-1); }, {in({2, 3})}},
      {"mean(Tensor)", [](const Inputs& x) { return mean(x[0]); }, {in({3, 4})}},
      {"mean(Tensor, Shape, bool)",
       [](const Inputs& x) {
         return mean(x[0], {0, -1}, true);
       },
       {in({2, 3, 4})}},
      {"var(Tensor)", [](const Inputs& x) { return var(x[0]); }, {in({3, 5})}},
      {"var(Tensor, Shape, int64_t, bool)",
       [](const Inputs& x) { return var(x[0], {1}); },
       {in({3, 5})}},
      {"var(Tensor, Shape, int64_t, bool)",
       [](const Inputs& x) {
         return var(x[0], {0, 2}, 0, true);
       },
       {in({2, 3, 4})}},
      {"max(Tensor)", [](const Inputs& x) { return max(x[0]); }, {in({3, 4})}},
      {"std(Tensor)", [](const Inputs& x) { return ember::std(x[0]); }, {in({3, 5})}},
      {"std(Tensor, Shape, int64_t, bool)",
       [](const Inputs& x) {
         return ember::std(x[0], {0, 2}, 0, true);
       },
       {in({2, 3, 4})}},
      {"norm(Tensor, double)",
       [](const Inputs& x) { return norm(x[0]) + norm(x[0], 3.0) + norm(x[0], INFINITY); },
       {away({3, 4})}},
      {"norm(Tensor, double, Shape, bool)",
       [](const Inputs& x) { return norm(x[0], 2.0, {1}, true) * norm(x[0], 1.5, {0}, true); },
       {away({3, 4})}},
      {"max(Tensor, int64_t, bool)",
       [](const Inputs& x) { return max(x[0], 1).first; },
       {in({3, 4})}},
      {"max(Tensor, int64_t, bool)",
       [](const Inputs& x) { return max(transpose(x[0], 0, 1), 0, true).first; },
       {in({3, 4})}},
      {"min(Tensor)", [](const Inputs& x) { return min(x[0]); }, {in({3, 4})}},
      {"min(Tensor, int64_t, bool)",
       [](const Inputs& x) { return min(x[0], 0).first; },
       {in({3, 4})}},
      {"amax(Tensor, Shape, bool)",
       [](const Inputs& x) {
         return amax(x[0], {0, 2});
       },
       {in({2, 3, 4})}},
      {"amin(Tensor, Shape, bool)",
       [](const Inputs& x) { return amin(x[0], {1}, true); },
       {in({2, 3, 4})}},
      {"amax(Tensor, I, bool)", [](const Inputs& x) { return amax(x[0], -1); }, {in({2, 3})}},
      {"amin(Tensor, I, bool)", [](const Inputs& x) { return x[0].amin(0, true); }, {in({2, 3})}},
      {"softmax", [](const Inputs& x) { return softmax(x[0], 1); }, {in({2, 5, 3})}},
      {"softmax", [](const Inputs& x) { return softmax(transpose(x[0], 0, 1), -1); }, {in({4, 3})}},
      {"log_softmax", [](const Inputs& x) { return log_softmax(x[0], -1); }, {in({3, 5})}},
      {"log_softmax", [](const Inputs& x) { return log_softmax(x[0], 0); }, {in({4, 2})}},

      {"view",
       [](const Inputs& x) {
         return view(x[0], {4, -1}) * 2.0;
       },
       {in({2, 6})}},
      {"reshape",
       [](const Inputs& x) { return reshape(transpose(x[0], 0, 1), {-1}); },
       {in({3, 4})}},
      {"permute",
       [](const Inputs& x) {
         return permute(x[0], {2, 0, 1});
       },
       {in({2, 3, 4})}},
      {"transpose", [](const Inputs& x) { return transpose(x[0], 0, 2); }, {in({2, 3, 4})}},
      {"t", [](const Inputs& x) { return t(x[0]); }, {in({2, 5})}},
      {"narrow", [](const Inputs& x) { return narrow(x[0], 1, 1, 2); }, {in({3, 4})}},
      {"slice", [](const Inputs& x) { return slice(x[0], 0, 1, 6, 2); }, {in({7, 2})}},
      {"select", [](const Inputs& x) { return select(x[0], 1, -1); }, {in({3, 4})}},
      {"expand",
       [](const Inputs& x) {
         return expand(x[0], {2, 3, 4});
       },
       {in({3, 1})}},
      {"expand_as",
       [](const Inputs& x) {
         return expand_as(x[0], zeros({2, 3, 4}, kFloat64));
       },
       {in({3, 1})}},
      {"squeeze(Tensor)", [](const Inputs& x) { return squeeze(x[0]); }, {in({1, 3, 1, 2})}},
      {"squeeze(Tensor, int64_t)",
       [](const Inputs& x) { return squeeze(x[0], 2); },
       {in({3, 2, 1})}},
      {"unsqueeze", [](const Inputs& x) { return unsqueeze(x[0], 1); }, {in({3, 2})}},
      {"flatten", [](const Inputs& x) { return flatten(x[0], 1); }, {in({2, 3, 2})}},
      {"unflatten",
       [](const Inputs& x) {
         return unflatten(x[0], 1, {2, -1});
       },
       {in({3, 6})}},
      {"slice_scatter",
       [](const Inputs& x) { return slice_scatter(x[0], x[1], 1, 0, 4, 2); },
       {in({3, 4}), in({3, 2})}},
      {"clone", [](const Inputs& x) { return clone(x[0]) * x[0]; }, {in({3})}},
      // to float32 and back: to's backward converts the gradient to the input's dtype. float32
      // rounds x ± eps, so the step is large (exact for a linear function).
      {"to",
       [](const Inputs& x) { return to(to(x[0], kFloat32), kFloat64) * 2.0; },
       {in({3})},
       /*second_order=*/true,
       {.eps = 1e-2}},
      {"cat",
       [](const Inputs& x) {
         return cat({x[0], x[1], x[0]}, 1);
       },
       {in({2, 3}), in({2, 1})}},
      {"stack",
       [](const Inputs& x) {
         return stack({x[0], x[1]}, 2);
       },
       {in({2, 3}), in({2, 3})}},
      {"split(Tensor, int64_t, int64_t)",
       [](const Inputs& x) {
         auto p = split(x[0], 2, 1);
         return p[0] * 2.0 + p[1] * p[1];
       },
       {in({3, 4})}},
      {"chunk", [](const Inputs& x) { return chunk(x[0], 3, 0)[2]; }, {in({6, 2})}},

      {"index_select", [idx](const Inputs& x) { return index_select(x[0], 1, idx); }, {in({2, 3})}},
      {"index_add",
       [idx](const Inputs& x) { return index_add(x[0], 0, idx, x[1]); },
       {in({3, 2}), in({4, 2})}},
      {"gather", [gidx](const Inputs& x) { return gather(x[0], 1, gidx); }, {in({3, 4})}},
      {"scatter_add",
       [gidx](const Inputs& x) { return scatter_add(x[0], 1, gidx, x[1]); },
       {in({3, 4}), in({3, 2})}},
      {"scatter_add",  // src larger than index: its corner is read
       [gidx](const Inputs& x) { return scatter_add(x[0], 1, gidx, x[1]); },
       {in({3, 4}), in({4, 3})}},

      {"matmul", [](const Inputs& x) { return matmul(x[0], x[1]); }, {in({3, 4}), in({4, 2})}},
      {"matmul",
       [](const Inputs& x) { return matmul(transpose(x[0], 0, 1), x[1]); },
       {in({4, 3}), in({4, 2})}},
      {"matmul", [](const Inputs& x) { return matmul(x[0], x[1]); }, {in({2, 3, 4}), in({4, 2})}},
      {"matmul",
       [](const Inputs& x) { return matmul(x[0], x[1]); },
       {in({2, 1, 3, 4}), in({3, 4, 2})}},
      {"matmul", [](const Inputs& x) { return matmul(x[0], x[1]); }, {in({4}), in({4})}},
      {"matmul", [](const Inputs& x) { return matmul(x[0], x[1]); }, {in({4}), in({2, 4, 3})}},
      {"matmul", [](const Inputs& x) { return matmul(x[0], x[1]); }, {in({2, 3, 4}), in({4})}},
      {"bmm", [](const Inputs& x) { return bmm(x[0], x[1]); }, {in({2, 3, 4}), in({2, 4, 2})}},
      {"mm",
       [](const Inputs& x) { return mm(transpose(x[0], 0, 1), x[1]); },
       {in({4, 3}), in({4, 2})}},
  };
  return lines;
}

TEST_CASE("every differentiable op passes gradcheck and gradgradcheck in float64") {
  ember::testing::check_gradients(ember::testing::op_lines());
}

TEST_CASE("the scan, rearrange and indexing ops pass gradcheck and gradgradcheck in float64") {
  for (auto part : {ember::testing::scan_lines, ember::testing::indexing_lines})
    ember::testing::check_gradients(part());
}

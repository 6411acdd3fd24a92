// The gradient-check table: a line (or several) for every differentiable op ember declares,
// checked in float64 against central differences (gradcheck) and, for second derivatives,
// gradgradcheck. Inputs stay away from kinks (relu and abs at 0, ties in max, clamp bounds).
// Non-contiguous inputs are made inside fn (transposes, slices), broadcasting by the shapes.
// A test below reads the op headers and fails for any op this table does not name.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

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

// Not differentiable: their results never require grad (checked below).
const std::set<std::string> kNotDifferentiable{"eq", "ne", "lt",     "le",
                                               "gt", "ge", "argmax", "argmin"};

std::vector<Line> table() {
  manual_seed(2024);
  Tensor mask = tensor({{1, 0, 1, 1}, {0, 0, 1, 0}, {1, 1, 0, 1}}, kInt64);
  Tensor idx = tensor({2, 0, 2, 1}, kInt64);
  Tensor gidx = tensor({{0, 2}, {1, 1}, {3, 0}}, kInt64);
  return {
      {"add", [](const Inputs& x) { return x[0] + x[1]; }, {in({3, 4}), in({4})}},
      {"add",
       [](const Inputs& x) { return transpose(x[0], 0, 1) + x[1]; },
       {in({4, 3}), in({2, 1, 1})}},
      {"add", [](const Inputs& x) { return x[0] + 1.5; }, {in({2, 3})}},
      {"sub", [](const Inputs& x) { return x[0] - x[1]; }, {in({2, 1, 3}), in({4, 1})}},
      {"sub", [](const Inputs& x) { return 2.0 - x[0]; }, {in({3})}},
      {"mul", [](const Inputs& x) { return x[0] * x[1]; }, {in({3, 4}), in({3, 1})}},
      {"mul", [](const Inputs& x) { return x[0] * x[0] * -2.0; }, {in({5})}},
      {"div", [](const Inputs& x) { return x[0] / x[1]; }, {in({3, 4}), away({4})}},
      {"div", [](const Inputs& x) { return x[0] / 3.0; }, {in({2, 2})}},
      {"neg", [](const Inputs& x) { return neg(x[0]); }, {in({2, 3})}},
      {"abs", [](const Inputs& x) { return abs(x[0]); }, {away({3, 3})}},
      {"sign", [](const Inputs& x) { return sign(x[0]) * x[0]; }, {away({4})}},
      {"exp", [](const Inputs& x) { return exp(slice(x[0], 1, 0, 4, 2)); }, {in({2, 4})}},
      {"log", [](const Inputs& x) { return log(x[0]); }, {pos({3, 2})}},
      {"sqrt", [](const Inputs& x) { return sqrt(x[0]); }, {pos({4})}},
      {"rsqrt", [](const Inputs& x) { return rsqrt(x[0]); }, {pos({4})}},
      {"pow", [](const Inputs& x) { return pow(x[0], 3.0); }, {in({2, 3})}},
      {"pow", [](const Inputs& x) { return pow(x[0], -1.5); }, {pos({3})}},
      {"pow", [](const Inputs& x) { return pow(x[0], x[1]); }, {pos({2, 3}), in({3})}},
      {"tanh", [](const Inputs& x) { return tanh(x[0]); }, {in({3, 3})}},
      {"sigmoid", [](const Inputs& x) { return sigmoid(x[0]); }, {in({3, 3})}},
      {"relu", [](const Inputs& x) { return relu(x[0]); }, {away({4, 3})}},
      {"erf", [](const Inputs& x) { return erf(x[0]); }, {in({5})}},
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
      {"where", [mask](const Inputs& x) { return where(mask, x[0], x[1]); }, {in({3, 4}), in({4})}},
      {"where", [mask](const Inputs& x) { return where(mask, x[0], 0.5); }, {in({3, 4})}},

      {"sum", [](const Inputs& x) { return sum(x[0]); }, {in({3, 4})}},
      {"sum",
       [](const Inputs& x) {
         return sum(transpose(x[0], 0, 2), {0, 2});
       },
       {in({2, 3, 4})}},
      {"sum", [](const Inputs& x) { return sum(x[0], {1}, true); }, {in({2, 3, 4})}},
      {"mean", [](const Inputs& x) { return mean(x[0]); }, {in({3, 4})}},
      {"mean",
       [](const Inputs& x) {
         return mean(x[0], {0, -1}, true);
       },
       {in({2, 3, 4})}},
      {"var", [](const Inputs& x) { return var(x[0], {1}); }, {in({3, 5})}},
      {"var",
       [](const Inputs& x) {
         return var(x[0], {0, 2}, 0, true);
       },
       {in({2, 3, 4})}},
      {"max", [](const Inputs& x) { return max(x[0]); }, {in({3, 4})}},
      {"max", [](const Inputs& x) { return max(x[0], 1).first; }, {in({3, 4})}},
      {"max",
       [](const Inputs& x) { return max(transpose(x[0], 0, 1), 0, true).first; },
       {in({3, 4})}},
      {"min", [](const Inputs& x) { return min(x[0]); }, {in({3, 4})}},
      {"min", [](const Inputs& x) { return min(x[0], 0).first; }, {in({3, 4})}},
      {"amax",
       [](const Inputs& x) {
         return amax(x[0], {0, 2});
       },
       {in({2, 3, 4})}},
      {"amin", [](const Inputs& x) { return amin(x[0], {1}, true); }, {in({2, 3, 4})}},
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
      {"squeeze", [](const Inputs& x) { return squeeze(x[0]); }, {in({1, 3, 1, 2})}},
      {"squeeze", [](const Inputs& x) { return squeeze(x[0], 2); }, {in({3, 2, 1})}},
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
      {"to", [](const Inputs& x) { return to(x[0], kFloat64) * 2.0; }, {in({3})}},
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
      {"split",
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
  };
}

// Names of the ops declared in the family headers that autograd/ops.h includes.
std::set<std::string> declared_ops() {
  std::filesystem::path dir = std::filesystem::path(EMBER_SOURCE_DIR) / "autograd";
  std::ifstream ops(dir / "ops.h");
  std::regex include_re(R"re(#include "(\w+)\.h")re");
  std::regex decl_re(R"(^(?:Tensor|std::pair<Tensor, Tensor>|std::vector<Tensor>) (\w+)\()");
  std::set<std::string> names;
  std::string line;
  while (std::getline(ops, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, include_re)) continue;
    std::ifstream header(dir / (m[1].str() + ".h"));
    for (std::string decl; std::getline(header, decl);)
      if (std::smatch d; std::regex_search(decl, d, decl_re)) names.insert(d[1]);
  }
  return names;
}

}  // namespace

TEST_CASE("every differentiable op passes gradcheck and gradgradcheck in float64") {
  ember::testing::check_gradients(table());
}

TEST_CASE("every op declared in autograd/ has a gradient-check line") {
  std::set<std::string> declared = declared_ops();
  REQUIRE(declared.size() > 50);
  std::set<std::string> checked;
  for (const Line& line : table()) checked.insert(line.op);
  for (const std::string& op : declared) {
    CAPTURE(op);
    CHECK_MESSAGE((checked.count(op) || kNotDifferentiable.count(op)), "op '", op,
                  "' is declared in autograd/ but has no line in the gradcheck table");
  }
}

TEST_CASE("non-differentiable ops never record") {
  Tensor x = in({3, 4}), y = in({3, 4});
  for (const Tensor& r : {eq(x, y), ne(x, y), lt(x, y), le(x, y), gt(x, y), ge(x, 0.0),
                          argmax(x, 1), argmin(x, 0), max(x, 1).second}) {
    CHECK(!r.requires_grad());
    CHECK(r.dtype() == kInt64);
  }
}

TEST_CASE("to between float32 and float64 passes gradients back in the input's dtype") {
  Tensor x = randn({3}, kFloat32).requires_grad_();
  Tensor y = sum(to(x, kFloat64) * tensor({1.0, 2.0, 3.0}, kFloat64));
  y.backward();
  CHECK(x.grad().dtype() == kFloat32);
  CHECK(ember::testing::values(x.grad()) == std::vector<double>{1, 2, 3});
}

// The teaching test: an op whose backward formula is deliberately wrong (d/dx x^2 written as x
// instead of 2x). gradcheck must catch it and say which input and element disagree.
TEST_CASE("gradcheck catches a wrong backward formula and says where") {
  auto wrong_square = [](const Inputs& x) {
    Tensor y = x[0] * x[0];
    return autograd::record("wrong_square", y.detach(), {x[0]},
                            [v = autograd::save(x[0])](const Tensor& g, const autograd::Needs&) {
                              return autograd::grads{g * v.unpack()};  // should be 2 g x
                            });
  };
  Tensor a = tensor({{0.5, -1.0}, {2.0, 0.25}}, kFloat64).requires_grad_();
  auto result = gradcheck(wrong_square, {a});
  CHECK(!result.passed);
  MESSAGE(result.message);
  CHECK(result.message.find("gradcheck failed for input 0 (shape [2, 2]) at element [") == 0);
  CHECK(result.message.find("analytical") != std::string::npos);
  CHECK(result.message.find("numerical") != std::string::npos);
  CHECK(result.message.find("tolerance") != std::string::npos);

  CHECK_THROWS_WITH_AS(
      gradcheck(wrong_square, {randn({2}).requires_grad_()}),
      doctest::Contains("gradcheck: input 0 is float32; finite differences need float64"), Error);
}

TEST_CASE("gradcheck fails, and says why, when both gradients are NaN") {
  // sqrt at -1: the backward gives NaN, and so do the finite differences.
  Tensor x = tensor({4.0, -1.0}, kFloat64).requires_grad_();
  auto result = gradcheck([](const Inputs& in) { return sqrt(in[0]); }, {x});
  CHECK(!result.passed);
  CHECK_MESSAGE(result.message.find("at element [1]") != std::string::npos, result.message);
  CHECK_MESSAGE(result.message.find("NaN gradient") != std::string::npos, result.message);
}

// An op with two backward formulas, a kernel normally and ember ops under create_graph (as
// conv2d and batch_norm have), whose create_graph formula is wrong: gradgradcheck must see it,
// though the create_graph formula is consistent with its own derivative.
TEST_CASE("gradgradcheck compares the create_graph first derivative with the plain one") {
  auto two_paths = [](bool wrong) {
    return [wrong](const Inputs& x) {
      Tensor y = x[0] * x[0];  // d/dx = 2x
      return autograd::record("two_paths", y.detach(), {x[0]},
                              [v = autograd::save(x[0]), wrong](const Tensor& g,
                                                                const autograd::Needs&) {
                                Tensor xv = v.unpack();
                                if (!GradMode::is_enabled()) return autograd::grads{g * xv * 2.0};
                                return autograd::grads{g * xv * (wrong ? 4.0 : 2.0)};
                              });
    };
  };
  Tensor a = tensor({0.5, -1.5, 2.0}, kFloat64).requires_grad_();
  CHECK(gradgradcheck(two_paths(false), {a}).passed);
  auto result = gradgradcheck(two_paths(true), {a});
  CHECK(!result.passed);
  CHECK_MESSAGE(result.message.find("computed with create_graph differs") != std::string::npos,
                result.message);
}

// gradcheck and gradgradcheck themselves: they find a wrong backward formula and say where, fail
// (saying why) when both gradients are NaN, and compare a create_graph formula with the plain one.
#include "helpers.h"

using namespace ember;
using autograd::gradcheck;
using autograd::gradgradcheck;
using Inputs = std::vector<Tensor>;

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
      return autograd::record(
          "two_paths", y.detach(), {x[0]},
          [v = autograd::save(x[0]), wrong](const Tensor& g, const autograd::Needs&) {
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

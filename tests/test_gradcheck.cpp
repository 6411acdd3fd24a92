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
  // d(x^2)/dx at a[0, 0] = 0.5 is 1; the wrong formula says 0.5. The first wrong entry is there.
  CHECK(result.message ==
        "gradcheck failed: Jacobian mismatch for output 0 (shape [2, 2]) with respect to input 0 "
        "(shape [2, 2]), first at output element [0, 0], input element [0, 0]: analytical 0.5, "
        "numerical 1, |difference| 0.5 > tolerance 0.00101 (atol 1e-05 + rtol 0.001 * "
        "|numerical|); 4 of 16 entries of this block differ");
  // Fast mode finds it with one backward, then builds the Jacobian to say the same.
  CHECK(gradcheck(wrong_square, {a}, {.fast_mode = true}).message == result.message);

  CHECK_THROWS_WITH_AS(
      gradcheck(wrong_square, {randn({2}).requires_grad_()}),
      doctest::Contains("gradcheck: input 0 is float32; finite differences need float64"), Error);
}

TEST_CASE("gradcheck fails, and says why, when both gradients are NaN") {
  // sqrt at -1: the backward gives NaN, and so do the finite differences.
  Tensor x = tensor({4.0, -1.0}, kFloat64).requires_grad_();
  auto result = gradcheck([](const Inputs& in) { return sqrt(in[0]); }, {x});
  CHECK(!result.passed);
  CHECK_MESSAGE(result.message.find("input element [1]") != std::string::npos, result.message);
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

// Any callable: separate tensor parameters, several outputs; the report names the output.
TEST_CASE("gradcheck takes any callable of tensors and says which output is wrong") {
  Tensor a = tensor({0.5, -1.0, 2.0}, kFloat64).requires_grad_();
  Tensor b = tensor({1.5, 0.25, -0.5}, kFloat64).requires_grad_();
  CHECK(gradcheck([](const Tensor& x, const Tensor& y) { return x * y; }, {a, b}));
  auto two = [](const Tensor& x, const Tensor& y) { return Inputs{x + y, x * y}; };
  CHECK(gradcheck(two, {a, b}));
  CHECK(gradgradcheck(two, {a, b}));
  // The second output's gradient for y is wrong (written as g, should be g x).
  auto wrong_second = [](const Tensor& x, const Tensor& y) {
    Tensor p = autograd::record(
        "wrong_product", (x * y).detach(), {x, y},
        [xs = autograd::save(x), ys = autograd::save(y)](const Tensor& g, const autograd::Needs&) {
          return autograd::grads{g * ys.unpack(), g};
        });
    return Inputs{x + y, p};
  };
  auto r = gradcheck(wrong_second, {a, b});
  CHECK(!r.passed);
  CHECK_MESSAGE(r.message.find("for output 1 (shape [3]) with respect to input 1 (shape [3]), "
                               "first at output element [0], input element [0]: analytical 1, "
                               "numerical 0.5") != std::string::npos,
                r.message);
  // An output that is a view of the input: each perturbation must see fresh values.
  CHECK(gradcheck([](const Tensor& x) { return x.view({3, 1}).t(); }, {a}));
  CHECK_THROWS_WITH_AS(gradcheck([](const Tensor& x) { return x; }, {a, b}),
                       "gradcheck: fn does not take 2 tensors", Error);
}

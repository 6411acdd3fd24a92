// An outside project's custom op, written as libtorch's "Custom autograd function" tutorial
// writes it, with one line added (namespace torch = ember): LinearFunction and MulConstant as
// the tutorial has them, and an op with two outputs, one not differentiable; each gradchecked.
#include <ember/ember.h>

#include <iostream>

namespace torch = ember;
using namespace torch::autograd;

class LinearFunction : public Function<LinearFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor input, torch::Tensor weight,
                               torch::Tensor bias = torch::Tensor()) {
    ctx->save_for_backward({input, weight, bias});
    auto output = input.mm(weight.t());
    if (bias.defined()) {
      output += bias.unsqueeze(0).expand_as(output);
    }
    return output;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    auto input = saved[0];
    auto weight = saved[1];
    auto bias = saved[2];

    auto grad_output = grad_outputs[0];
    auto grad_input = grad_output.mm(weight);
    auto grad_weight = grad_output.t().mm(input);
    auto grad_bias = torch::Tensor();
    if (bias.defined()) {
      grad_bias = grad_output.sum(0);
    }

    return {grad_input, grad_weight, grad_bias};
  }
};

class MulConstant : public Function<MulConstant> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor tensor, double constant) {
    ctx->saved_data["constant"] = constant;
    return tensor * constant;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    return {grad_outputs[0] * ctx->saved_data["constant"].toDouble(), torch::Tensor()};
  }
};

// Two outputs: the magnitudes |x| and the signs, which get no gradient.
class AbsAndSign : public Function<AbsAndSign> {
 public:
  static tensor_list forward(AutogradContext* ctx, torch::Tensor x) {
    auto sign = x.sign();
    ctx->save_for_backward({sign});
    ctx->mark_non_differentiable({sign});
    return {x.abs(), sign};
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    return {grad_outputs[0] * ctx->get_saved_variables()[0]};
  }
};

int main() {
  int failures = 0;
  auto expect = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
    failures += ok ? 0 : 1;
  };
  // The tutorial's own use, in float32.
  auto x = torch::randn({2, 3}).requires_grad_();
  auto weight = torch::randn({4, 3}).requires_grad_();
  auto y = LinearFunction::apply(x, weight);
  y.sum().backward();
  expect(x.grad().defined() && weight.grad().defined(),
         "LinearFunction backward reached x and weight");
  auto z = MulConstant::apply(x, 5.5);
  x.grad().zero_();
  z.sum().backward();
  expect(torch::max(torch::abs(x.grad() - 5.5)).item<double>() == 0, "MulConstant gradient 5.5");

  // gradcheck, in float64.
  auto opts = torch::kFloat64;
  auto xd = torch::randn({2, 3}, opts).requires_grad_();
  auto wd = torch::randn({4, 3}, opts).requires_grad_();
  auto bd = torch::randn({4}, opts).requires_grad_();
  auto linear = [](const torch::Tensor& a, const torch::Tensor& w, const torch::Tensor& b) {
    return LinearFunction::apply(a, w, b);
  };
  expect(static_cast<bool>(gradcheck(linear, {xd, wd, bd})), "LinearFunction passes gradcheck");
  auto both = [](const torch::Tensor& a) { return AbsAndSign::apply(a); };
  auto check = gradcheck(both, {torch::tensor({-1.5, 0.5, 2.0}, opts).requires_grad_()});
  expect(check.passed, "AbsAndSign passes gradcheck " + check.message);
  auto outputs = AbsAndSign::apply(xd);
  expect(outputs[0].requires_grad() && !outputs[1].requires_grad(),
         "AbsAndSign's sign output needs no gradient");
  return failures == 0 ? 0 : 1;
}

// Tour chapter 7: your own op. SiLU, y = x sigmoid(x), written as an autograd::Function with a
// hand-written backward: first wrong (the product rule forgotten), then right; gradcheck's report
// on the wrong one; double backward; an op with two outputs, one of them not differentiable;
// and what happens when a tensor the backward saved is written in place.
#include <ember/ember.h>

#include <iostream>

using namespace ember;
using autograd::AutogradContext;
using autograd::variable_list;

// tour:begin wrong
// dy/dx = s + x s (1 - s) with s = sigmoid(x); this one forgets the second term.
struct WrongSiLU : autograd::Function<WrongSiLU> {
  static Tensor forward(AutogradContext* ctx, Tensor x) {
    ctx->save_for_backward({x});
    return x * x.sigmoid();
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    Tensor s = ctx->get_saved_variables()[0].sigmoid();
    return {grad_outputs[0] * s};
  }
};
// tour:end wrong

// tour:begin right
struct SiLU : autograd::Function<SiLU> {
  static Tensor forward(AutogradContext* ctx, Tensor x) {
    ctx->save_for_backward({x});
    return x * x.sigmoid();
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    Tensor x = ctx->get_saved_variables()[0];
    Tensor s = x.sigmoid();
    return {grad_outputs[0] * (s + x * s * (1.0 - s))};
  }
};
// tour:end right

// tour:begin two_outputs
// The largest entry of each row and where it is; the indices get no gradient.
struct RowMax : autograd::Function<RowMax> {
  static variable_list forward(AutogradContext* ctx, Tensor x) {
    auto [values, indices] = x.max(1);
    ctx->save_for_backward({indices});
    ctx->saved_data["columns"] = x.size(1);
    ctx->mark_non_differentiable({indices});
    return {values, indices};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    Tensor indices = ctx->get_saved_variables()[0];
    int64_t columns = ctx->saved_data["columns"].toInt();
    Tensor g = zeros({indices.size(0), columns}, grad_outputs[0].dtype());
    return {g.scatter_add(1, indices.unsqueeze(1), grad_outputs[0].unsqueeze(1))};
  }
};
// tour:end two_outputs

int main() {
  // tour:begin check
  Tensor x = tensor({-2.0, -0.5, 0.0, 1.0, 3.0}, kFloat64).requires_grad_();
  auto wrong = autograd::gradcheck([](const Tensor& t) { return WrongSiLU::apply(t); }, {x});
  std::cout << wrong.message << "\n";
  auto right = autograd::gradcheck([](const Tensor& t) { return SiLU::apply(t); }, {x});
  auto twice = autograd::gradgradcheck([](const Tensor& t) { return SiLU::apply(t); }, {x});
  std::cout << "SiLU passes gradcheck: " << (right ? "yes" : "no")
            << ", gradgradcheck: " << (twice ? "yes" : "no") << "\n";
  // tour:end check

  // tour:begin use_two_outputs
  Tensor m = tensor({{1.0, 5.0, 2.0}, {7.0, -1.0, 3.0}}, kFloat64).requires_grad_();
  auto out = RowMax::apply(m);
  std::cout << "indices " << out[1]
            << ", requiring grad: " << (out[1].requires_grad() ? "yes" : "no") << "\n";
  (out[0] * tensor({10.0, 20.0}, kFloat64)).sum().backward();
  std::cout << "gradient " << m.grad() << "\n";
  auto values_only = [](const Tensor& t) { return RowMax::apply(t)[0]; };
  std::cout << "RowMax passes gradcheck: " << (autograd::gradcheck(values_only, {m}) ? "yes" : "no")
            << "\n";
  // tour:end use_two_outputs

  // tour:begin in_place
  Tensor input = x * 1.0;  // not a leaf, so it may be written in place outside grad mode
  Tensor y = SiLU::apply(input);
  {
    NoGradGuard no_grad;
    input.mul_(2.0);  // the value backward saved is gone
  }
  try {
    y.sum().backward();
  } catch (const Error& e) {
    std::cout << e.what() << "\n";
  }
  // tour:end in_place
}

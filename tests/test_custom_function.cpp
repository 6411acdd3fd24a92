// autograd::Function<T>: a user's op with a hand-written backward, as libtorch spells it. The
// gradients are checked by gradcheck (finite differences, an independent reference), never
// against the same formulas; each rule of AutogradContext has a case.
#include "helpers.h"

using namespace ember;
using autograd::AutogradContext;
using autograd::Function;
using autograd::gradcheck;
using autograd::gradgradcheck;
using autograd::variable_list;
using Inputs = std::vector<Tensor>;

namespace {

// libtorch's tutorial op: y = x w^T + b, with an optional bias.
struct LinearFunction : Function<LinearFunction> {
  static Tensor forward(AutogradContext* ctx, Tensor input, Tensor weight, Tensor bias = Tensor()) {
    ctx->save_for_backward({input, weight, bias});
    Tensor output = input.mm(weight.t());
    if (bias.defined()) output += bias.unsqueeze(0).expand_as(output);
    return output;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    Tensor input = saved[0], weight = saved[1], bias = saved[2];
    Tensor grad_output = grad_outputs[0];
    Tensor grad_bias;
    if (bias.defined()) grad_bias = grad_output.sum(0);
    return {grad_output.mm(weight), grad_output.t().mm(input), grad_bias};
  }
};

// A non-tensor argument, kept in saved_data.
struct MulConstant : Function<MulConstant> {
  static Tensor forward(AutogradContext* ctx, Tensor tensor, double constant) {
    ctx->saved_data["constant"] = constant;
    return tensor * constant;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    return {grad_outputs[0] * ctx->saved_data["constant"].toDouble(), Tensor()};
  }
};

// Two outputs, one of them not differentiable: the row maxima and where they are.
struct RowMax : Function<RowMax> {
  static variable_list forward(AutogradContext* ctx, Tensor x) {
    auto [values, indices] = x.max(1);
    ctx->save_for_backward({indices});
    ctx->saved_data["sizes"] = shape_of(x);
    ctx->mark_non_differentiable({indices});
    return {values, indices};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    Tensor indices = ctx->get_saved_variables()[0];
    Tensor g = zeros(ctx->saved_data["sizes"].toIntVector(), grads[0].dtype());
    return {g.scatter_add(1, indices.unsqueeze(1), grads[0].unsqueeze(1))};
  }
};

// Two differentiable outputs of two inputs, one of them saved: (a b, exp(a)). Backward is
// written in ember ops, so it has a derivative of its own, through the saved output too.
struct ProductAndExp : Function<ProductAndExp> {
  static variable_list forward(AutogradContext* ctx, Tensor a, Tensor b) {
    Tensor e = a.exp();
    ctx->save_for_backward({a, b, e});
    return {a * b, e};
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    auto s = ctx->get_saved_variables();
    return {g[0] * s[1] + g[1] * s[2], g[0] * s[0]};
  }
};

// exp with its output saved: double backward must re-attach the saved output to this node.
struct Exp : Function<Exp> {
  static Tensor forward(AutogradContext* ctx, Tensor x) {
    Tensor y = x.exp();
    ctx->save_for_backward({y});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    return {g[0] * ctx->get_saved_variables()[0]};
  }
};

Tensor f64(Shape shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, kFloat64, &gen).requires_grad_();
}

}  // namespace

TEST_CASE("Function: libtorch's LinearFunction, with and without its bias") {
  Tensor x = f64({2, 3}, 1), w = f64({4, 3}, 2), b = f64({4}, 3);
  auto with_bias = [](const Inputs& in) { return LinearFunction::apply(in[0], in[1], in[2]); };
  auto without = [](const Inputs& in) { return LinearFunction::apply(in[0], in[1]); };
  CHECK_MESSAGE(gradcheck(with_bias, {x, w, b}), gradcheck(with_bias, {x, w, b}).message);
  CHECK_MESSAGE(gradcheck(without, {x, w}), gradcheck(without, {x, w}).message);
  // The tutorial's own use: float32, and the graph names the op.
  Tensor xf = randn({2, 3}).requires_grad_(), wf = randn({4, 3}).requires_grad_();
  Tensor y = LinearFunction::apply(xf, wf);
  CHECK(std::string(y.grad_fn()->name).find("LinearFunction") != std::string::npos);
  y.sum().backward();
  CHECK(xf.grad().defined());
  CHECK(shape_of(wf.grad()) == Shape{4, 3});
}

TEST_CASE("Function: a non-tensor argument, saved_data, and needs no gradient") {
  Tensor x = f64({3}, 4);
  auto fn = [](const Inputs& in) { return MulConstant::apply(in[0], 5.5); };
  CHECK(gradcheck(fn, {x}));
  Tensor y = MulConstant::apply(x, 2.0);
  y.sum().backward();
  CHECK_CLOSE(x.grad(), full({3}, 2.0, kFloat64), 1e-12);
  CHECK_THROWS_WITH_AS(autograd::IValue(2.0).toInt(),
                       "IValue: asked for an int, but it holds double", Error);
  // No input requires grad: apply records nothing.
  CHECK(MulConstant::apply(x.detach(), 2.0).grad_fn() == nullptr);
}

TEST_CASE("Function: an output marked non-differentiable gets no gradient") {
  Tensor x = tensor({{1.0, 5.0, 2.0}, {7.0, -1.0, 3.0}}, kFloat64).requires_grad_();
  CHECK(gradcheck([](const Inputs& in) { return RowMax::apply(in[0])[0]; }, {x}));
  auto out = RowMax::apply(x);
  CHECK(out[0].requires_grad());
  CHECK(!out[1].requires_grad());
  CHECK(out[1].dtype() == kInt64);
  CHECK_THROWS_WITH_AS(out[1].backward(ones_like(out[1])),
                       doctest::Contains("was produced by '(anonymous namespace)::RowMax'"), Error);
}

TEST_CASE("Function: several differentiable outputs, used alone or together") {
  Tensor a = f64({2, 3}, 5), b = f64({2, 3}, 6);
  for (int use : {0, 1, 2}) {
    auto fn = [use](const Inputs& in) {
      auto out = ProductAndExp::apply(in[0], in[1]);
      if (use < 2) return out[static_cast<size_t>(use)];
      return out[0] * 2.0 + out[1].sin();
    };
    auto r = gradcheck(fn, {a, b});
    CHECK_MESSAGE(r.passed, "use ", use, ": ", r.message);
    auto rr = gradgradcheck(fn, {a, b});
    CHECK_MESSAGE(rr.passed, "use ", use, ": ", rr.message);
  }
  // gradcheck of both outputs at once.
  auto both = [](const Inputs& in) { return ProductAndExp::apply(in[0], in[1]); };
  CHECK(gradcheck(both, {a, b}));
}

TEST_CASE("Function: an output that got no gradient is zeros, or undefined if asked") {
  struct Probe : Function<Probe> {
    static variable_list forward(AutogradContext* ctx, Tensor x, bool materialize) {
      ctx->set_materialize_grads(materialize);
      return {x * 2.0, x * 3.0};
    }
    static variable_list backward(AutogradContext*, variable_list g) {
      CHECK(g.size() == 2);
      Tensor total = g[0].defined() ? g[0] * 2.0 : Tensor();
      if (g[1].defined()) total = total.defined() ? total + g[1] * 3.0 : g[1] * 3.0;
      return {total, Tensor()};
    }
  };
  for (bool materialize : {true, false}) {
    Tensor x = f64({4}, 7);
    auto out = Probe::apply(x, materialize);
    out[1].sum().backward();  // out[0] gets no gradient
    CHECK_CLOSE(x.grad(), full({4}, 3.0, kFloat64), 1e-12);
  }
}

TEST_CASE("Function: double backward through a saved output") {
  Tensor x = f64({5}, 8);
  auto fn = [](const Inputs& in) { return Exp::apply(in[0]); };
  CHECK(gradcheck(fn, {x}));
  auto r = gradgradcheck(fn, {x});
  CHECK_MESSAGE(r.passed, r.message);
}

TEST_CASE("Function: a saved tensor written in place before backward is an error") {
  Tensor x = f64({3}, 9), w = f64({2, 3}, 10);
  Tensor input = x * 1.0;  // a non-leaf the caller then modifies
  Tensor y = LinearFunction::apply(input.view({1, 3}), w);
  {
    NoGradGuard no_grad;
    input.mul_(2.0);
  }
  CHECK_THROWS_WITH_AS(y.sum().backward(),
                       doctest::Contains("LinearFunction': a tensor it saved for backward was "
                                         "modified by an in-place operation"),
                       Error);
}

TEST_CASE("Function: mark_dirty gives the written input the op as its history") {
  struct MulTwoInPlace : Function<MulTwoInPlace> {
    static Tensor forward(AutogradContext* ctx, Tensor x) {
      x.mul_(2.0);
      ctx->mark_dirty({x});
      return x;
    }
    static variable_list backward(AutogradContext*, variable_list g) { return {g[0] * 2.0}; }
  };
  Tensor leaf = f64({3}, 11);
  Tensor x = leaf * 1.0;
  Tensor y = MulTwoInPlace::apply(x);
  CHECK(y.is_same(x));  // the same handle, now with the op as grad_fn
  CHECK(std::string(x.grad_fn()->name).find("MulTwoInPlace") != std::string::npos);
  (x * 3.0).sum().backward();
  CHECK_CLOSE(leaf.grad(), full({3}, 6.0, kFloat64), 1e-12);
  CHECK_THROWS_WITH_AS(MulTwoInPlace::apply(f64({3}, 12)),
                       doctest::Contains("is a leaf that requires grad, so forward cannot write it "
                                         "in place"),
                       Error);
}

TEST_CASE("Function: needs_input_grad, and backward's count of gradients is checked") {
  struct Check : Function<Check> {
    static Tensor forward(AutogradContext*, Tensor a, Tensor b) { return a * b; }
    static variable_list backward(AutogradContext* ctx, variable_list g) {
      CHECK(ctx->needs_input_grad(0));
      CHECK(!ctx->needs_input_grad(1));
      return {g[0]};  // one gradient for two arguments
    }
  };
  Tensor a = f64({2}, 13), b = tensor({1.0, 2.0}, kFloat64);
  CHECK_THROWS_WITH_AS(Check::apply(a, b).sum().backward(),
                       doctest::Contains("::backward returned 1 gradients, but forward takes 2"),
                       Error);
  struct NonTensorGrad : Function<NonTensorGrad> {
    static Tensor forward(AutogradContext*, Tensor a, double) { return a * 1.0; }
    static variable_list backward(AutogradContext*, variable_list g) { return {g[0], g[0]}; }
  };
  CHECK_THROWS_WITH_AS(
      NonTensorGrad::apply(a, 1.0).sum().backward(),
      doctest::Contains("returned a gradient for argument 1, which is not a tensor"), Error);
}

// The engine's semantics: accumulation, retain_graph, no-grad, detach, hooks, retain_grad,
// autograd::grad with create_graph, in-place checks, anomaly mode, deep graphs and memory.
#include "helpers.h"

using namespace ember;
using ember::testing::values;

TEST_CASE("gradients accumulate through shared subexpressions and across backward calls") {
  Tensor x = tensor({1.0, 2.0, 3.0}, kFloat64).requires_grad_();
  Tensor y = sum(x * x + x);  // dy/dx = 2x + 1
  y.backward({}, /*retain_graph=*/true);
  CHECK(values(x.grad()) == std::vector<double>{3, 5, 7});
  y.backward();
  CHECK(values(x.grad()) == std::vector<double>{6, 10, 14});
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("backward through the graph a second time"),
                       Error);
  x.set_grad(Tensor());
  CHECK(!x.grad().defined());
}

TEST_CASE("leaves, grad_fn, no-grad and detach") {
  Tensor x = randn({3}, kFloat64).requires_grad_();
  CHECK(x.is_leaf());
  Tensor y = exp(x);
  CHECK(!y.is_leaf());
  CHECK(std::string(y.grad_fn()->name) == "exp");
  {
    NoGradGuard guard;
    Tensor z = exp(x);
    CHECK(!z.requires_grad());
    {
      EnableGradGuard enable;
      CHECK(exp(x).requires_grad());
    }
  }
  Tensor d = x.detach();
  CHECK(!d.requires_grad());
  CHECK(d.storage() == x.storage());
  Tensor mixed = sum(x * d);  // d is a constant: dmixed/dx = d
  mixed.backward();
  CHECK(values(x.grad()) == values(d));
  CHECK_THROWS_WITH_AS(arange(3).requires_grad_(),
                       "requires_grad_: only floating tensors can require gradients, got int64",
                       Error);
}

TEST_CASE("two leaves never share one gradient buffer") {
  Tensor a = ones({3}, kFloat64).requires_grad_(), b = ones({3}, kFloat64).requires_grad_();
  sum(a + b).backward();  // add's backward hands the same tensor to both inputs
  CHECK(a.grad().storage() != b.grad().storage());
}

TEST_CASE("hooks inspect and replace gradients; retain_grad keeps a non-leaf's") {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor h = x * 3.0;
  h.retain_grad();
  std::vector<double> seen;
  h.register_hook([&](const Tensor& g) {
    seen = values(g);
    return g * 2.0;  // replace: the gradient flowing on is doubled
  });
  x.register_hook([&](const Tensor& g) { return g + 1.0; });
  sum(h * h).backward();  // d/dh = 2h = (6, 12)
  CHECK(seen == std::vector<double>{6, 12});
  CHECK(values(h.grad()) == std::vector<double>{12, 24});  // retain_grad sees the hooked value
  CHECK(values(x.grad()) == std::vector<double>{37, 73});  // 3 * 2 * (6, 12) + 1
}

TEST_CASE("autograd::grad gives higher-order derivatives") {
  Tensor x = tensor({-1.0, 0.3, 2.0}, kFloat64).requires_grad_();
  Tensor y = sum(tanh(x));
  auto [dx] = std::array<Tensor, 1>{autograd::grad({y}, {x}, {}, false, /*create_graph=*/true)[0]};
  CHECK(!x.grad().defined());  // grad() leaves .grad() alone
  auto d2 = autograd::grad({sum(dx)}, {x})[0];
  for (size_t i = 0; i < 3; ++i) {
    double v = values(x)[i], t = std::tanh(v);
    CHECK(values(dx)[i] == doctest::Approx(1 - t * t).epsilon(1e-14));
    CHECK(values(d2)[i] == doctest::Approx(-2 * t * (1 - t * t)).epsilon(1e-14));
  }
  // Hessian-vector product of f(w) = sum(w^3): H = diag(6w), so Hv = 6 w v.
  Tensor w = tensor({1.0, -2.0}, kFloat64).requires_grad_();
  Tensor v = tensor({0.5, 4.0}, kFloat64);
  Tensor g = autograd::grad({sum(pow(w, 3.0))}, {w}, {}, false, true)[0];
  Tensor hv = autograd::grad({sum(g * v)}, {w})[0];
  CHECK(values(hv) == std::vector<double>{3, -48});
  // A gradient penalty: d/dw of |df/dw|^2 for f = sum(w^2) is 8w.
  Tensor gw = autograd::grad({sum(w * w)}, {w}, {}, false, true)[0];
  sum(gw * gw).backward();
  CHECK(values(w.grad()) == std::vector<double>{8, -16});
  // An unused input is an error unless allowed.
  Tensor unused = zeros({1}, kFloat64).requires_grad_();
  CHECK_THROWS_WITH_AS(autograd::grad({sum(x * 1.0)}, {unused}),
                       doctest::Contains("was not used to compute the outputs"), Error);
  CHECK(!autograd::grad({sum(x * 1.0)}, {unused}, {}, false, false, true)[0].defined());
}

TEST_CASE("in-place writes autograd cannot follow are refused") {
  Tensor w = ones({2}, kFloat64).requires_grad_();
  CHECK_THROWS_WITH_AS(w.fill_(0),
                       doctest::Contains("fill_: the tensor of shape [2] requires grad"), Error);
  {
    NoGradGuard guard;  // how optimizers update parameters
    w.fill_(2);
  }
  Tensor c = tensor({1.0, 2.0}, kFloat64);
  Tensor y = sum(w * c);  // mul saves c for the gradient of w
  c.fill_(5);
  CHECK_THROWS_WITH_AS(
      y.backward(),
      doctest::Contains(
          "backward of 'mul': a tensor it saved for backward was modified by an in-place"),
      Error);
}

TEST_CASE("backward through a non-differentiable op names the op") {
  Tensor x = randn({3, 4}, kFloat64).requires_grad_();
  Tensor i = argmax(x, 1);
  CHECK(!i.requires_grad());
  CHECK_THROWS_WITH_AS(sum(to(i, kFloat64)).backward(), doctest::Contains("does not require grad"),
                       Error);
  CHECK_THROWS_WITH_AS(i.backward(ones({3}, kInt64)),
                       doctest::Contains("was produced by 'argmax', which is not differentiable"),
                       Error);
  CHECK_THROWS_WITH_AS(gt(x, 0.0).backward(ones({3, 4}, kInt64)),
                       doctest::Contains("produced by 'gt'"), Error);
}

TEST_CASE("the engine checks every gradient's shape and names the op") {
  Tensor x = randn({3}, kFloat64).requires_grad_();
  Tensor y = autograd::record("broken_op", x * 1.0, {x}, [](const Tensor&, const autograd::Needs&) {
    return autograd::grads{zeros({4}, kFloat64)};
  });
  CHECK_THROWS_WITH_AS(
      sum(y).backward(),
      "backward of 'broken_op' returned a gradient of shape [4] for input 0 of shape [3]", Error);
  Tensor z = autograd::record("short_op", x * 1.0, {x}, [](const Tensor&, const autograd::Needs&) {
    return autograd::grads{};
  });
  CHECK_THROWS_WITH_AS(sum(z).backward(),
                       "backward of 'short_op' returned 0 gradients for 1 inputs", Error);
}

TEST_CASE("anomaly mode names the op whose backward made a NaN or Inf") {
  Tensor x = tensor({0.0, 1.0}, kFloat64).requires_grad_();
  Tensor y = sum(log(x));  // d/dx log(x) = 1/x is inf at 0
  {
    autograd::DetectAnomalyGuard anomaly;
    CHECK_THROWS_WITH_AS(y.backward({}, true), doctest::Contains("the backward of 'log'"), Error);
  }
  y.backward();  // without anomaly mode the inf simply flows
  CHECK(std::isinf(values(x.grad())[0]));
  // A NaN: sqrt's backward at -1 (its forward is NaN too, and so on through exp).
  Tensor z = tensor({4.0, -1.0}, kFloat64).requires_grad_();
  Tensor w = sum(exp(sqrt(z)));
  autograd::DetectAnomalyGuard anomaly;
  CHECK_THROWS_WITH_AS(w.backward(), doctest::Contains("the backward of 'exp'"), Error);
}

TEST_CASE("a chain of a million ops backpropagates and is freed without recursion") {
  int64_t before = memory_stats().current;
  {
    Tensor x = tensor({1.0}, kFloat64).requires_grad_();
    Tensor y = x;
    for (int i = 0; i < 1'000'000; ++i) y = y + 1e-6;
    y.backward(ones({1}, kFloat64));
    CHECK(values(x.grad())[0] == 1.0);
    CHECK(values(y)[0] == doctest::Approx(2.0).epsilon(1e-9));
  }
  CHECK(memory_stats().current == before);
  {
    Tensor x = tensor({1.0}, kFloat64).requires_grad_();
    Tensor y = x;
    for (int i = 0; i < 1'000'000; ++i) y = y * 1.0;  // never backpropagated: freed by the handle
  }
  CHECK(memory_stats().current == before);
}

TEST_CASE("10,000 forward/backward steps leave no memory behind") {
  Tensor w = randn({8, 4}, kFloat64).requires_grad_();
  Tensor x = randn({16, 8}, kFloat64);
  sum(tanh(matmul(x, w))).backward();  // the first step creates w.grad()
  int64_t start = memory_stats().current;
  for (int step = 0; step < 10'000; ++step) {
    Tensor h = tanh(matmul(x, w));
    Tensor loss = mean(softmax(h, 1) * h);
    loss.backward();
    w.set_grad(Tensor());
  }
  sum(tanh(matmul(x, w))).backward();
  CHECK(memory_stats().current == start);
}

TEST_CASE("to_dot draws ops, shapes and named leaves") {
  Tensor x = randn({2, 3}).requires_grad_();
  Tensor w = randn({3, 4}).requires_grad_();
  Tensor y = sum(relu(matmul(x, w)) * 2.0);
  std::string dot = autograd::to_dot(y, {{"x", x}, {"w", w}});
  CHECK(dot.find("digraph") == 0);
  CHECK(dot.find("matmul\\n[2, 4]") != std::string::npos);
  CHECK(dot.find("relu") != std::string::npos);
  CHECK(dot.find("x [2, 3]\\nrequires_grad") != std::string::npos);
  CHECK(dot.find("w [3, 4]") != std::string::npos);
  CHECK(autograd::to_dot(zeros({2})).find("does not require grad") != std::string::npos);
}

TEST_CASE("to_svg draws the same graph in rows, output on top, every arrow pointing up") {
  // x feeds matmul and, four rows higher, a sum: that arrow passes through three waypoints.
  Tensor x = randn({2, 3}).requires_grad_();
  Tensor w = randn({3, 4}).requires_grad_();
  Tensor c = randn({2, 4});  // needs no gradient: a grey box
  Tensor y = sum(relu(matmul(x, w)) * c) + sum(x);
  std::string svg = autograd::to_svg(y, {{"x", x}, {"w", w}});
  auto count = [&](const std::string& what) {
    size_t k = 0;
    for (size_t at = 0; (at = svg.find(what, at)) != std::string::npos; ++at) ++k;
    return k;
  };
  // Boxes: output, add, two sums, mul, relu, matmul, x, w, the constant; and the background.
  CHECK(count("<rect ") == 10 + 1);
  // Arrows: x, w -> matmul -> relu -> mul <- c; mul -> sum -> add <- sum <- x; add -> output.
  CHECK(count("<polyline ") == 10);
  for (const char* text : {">x<", ">w<", ">matmul<", ">relu<", ">mul<", ">sum<", ">output<",
                           ">[2, 4]<", ">[2, 3]<", ">[3, 4]<"})
    CHECK_MESSAGE(svg.find(text) != std::string::npos, std::string(text));
  // Every arrow runs upwards (SVG's y grows downwards): from the top of its box, never down.
  size_t longest = 0;
  for (size_t at = 0; (at = svg.find("points='", at)) != std::string::npos; ++at) {
    std::istringstream points(svg.substr(at + 8, svg.find('\'', at + 8) - at - 8));
    std::vector<double> ys;
    for (std::string xy; points >> xy;) ys.push_back(std::stod(xy.substr(xy.find(',') + 1)));
    REQUIRE(ys.size() >= 2);
    longest = std::max(longest, ys.size());
    for (size_t i = 1; i < ys.size(); ++i) CHECK(ys[i] <= ys[i - 1]);
    CHECK(ys.back() < ys.front());
  }
  CHECK(longest == 2 + 2 * 3);  // x to the sum: in and out of each of three waypoints
  CHECK(svg == autograd::to_svg(y, {{"x", x}, {"w", w}}));  // same graph, same bytes
  CHECK(autograd::to_svg(zeros({2})).find("does not require grad") != std::string::npos);
}

TEST_CASE("backward argument checks") {
  Tensor x = randn({3}).requires_grad_();
  CHECK_THROWS_WITH_AS(exp(x).backward(), doctest::Contains("only for one-element outputs"), Error);
  CHECK_THROWS_WITH_AS(zeros({1}).backward(),
                       doctest::Contains("does not require grad and has no grad_fn"), Error);
  CHECK_THROWS_WITH_AS(exp(x).backward(ones({2})),
                       doctest::Contains("gradient of shape [2] does not match"), Error);
}

TEST_CASE("post-accumulate-grad hooks run once per backward, after .grad() holds the sum") {
  Tensor w = tensor({1.0, 2.0}).requires_grad_();
  std::vector<double> seen;
  w.register_post_accumulate_grad_hook(
      [&](const Tensor& leaf) { seen.push_back(sum(leaf.grad()).item<double>()); });
  (w * 3.0 + w * w).sum().backward();  // two uses of w, one accumulation: 3 + 2w = (5, 7)
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == 12.0);
  (w * 1.0).sum().backward();  // accumulates onto the previous gradient
  CHECK(seen.back() == 14.0);
  CHECK_THROWS_WITH_AS((w * 2.0).register_post_accumulate_grad_hook([](const Tensor&) {}),
                       doctest::Contains("only a leaf that requires grad"), Error);
}

TEST_CASE("to between float32 and float64 passes gradients back in the input's dtype") {
  Tensor x = randn({3}, kFloat32).requires_grad_();
  Tensor y = sum(to(x, kFloat64) * tensor({1.0, 2.0, 3.0}, kFloat64));
  y.backward();
  CHECK(x.grad().dtype() == kFloat32);
  CHECK(ember::testing::values(x.grad()) == std::vector<double>{1, 2, 3});
}

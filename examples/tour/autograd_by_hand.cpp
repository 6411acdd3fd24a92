// The guided tour, chapter 2 (docs/tour/02-autograd-by-hand.md): a two-layer network's gradient
// written out by hand, then recorded by ember's graph (drawn as SVG, and as Graphviz DOT) and
// computed by its engine, in the order the engine prints; a wrong backward formula caught by
// gradcheck; a Hessian-vector product (backward of a backward) against finite differences.
// Run: ./build/examples/tour/autograd_by_hand   (writes two_layer.svg and two_layer.dot)
#include <ember/ember.h>

#include <iostream>
#include <map>
#include <string>

using namespace ember;

namespace {

double largest_difference(const Tensor& a, const Tensor& b) {
  return amax(abs(a - b), {}).item<double>();
}

// sin with a deliberately wrong derivative (-cos instead of cos), recorded as ember's ops are.
Tensor wrong_sin(const Tensor& x) {
  // tour:begin wrong_sin
  Tensor y = sin(x.detach());  // the forward, without recording
  return autograd::record("wrong_sin", y, {x}, [x = autograd::save(x)](const Tensor& g,
                                                                      const autograd::Needs&) {
    return autograd::grads{g * neg(cos(x.unpack()))};  // wrong: d sin = cos
  });
  // tour:end wrong_sin
}

}  // namespace

int main() {
  manual_seed(0);
  // tour:begin network
  Tensor x = randn({4, 3}, kFloat64), target = randn({4, 2}, kFloat64);
  Tensor w1 = randn({5, 3}, kFloat64).requires_grad_(), b1 = zeros({5}, kFloat64).requires_grad_();
  Tensor w2 = randn({2, 5}, kFloat64).requires_grad_(), b2 = zeros({2}, kFloat64).requires_grad_();
  Tensor h = tanh(matmul(x, w1.t()) + b1);          // (4, 5)
  Tensor y = matmul(h, w2.t()) + b2;                // (4, 2)
  Tensor loss = sum((y - target) * (y - target)) * 0.5;
  // tour:end network

  // tour:begin by_hand
  Tensor dy, dw2, db2, dh, dz, dw1, db1;
  {
    NoGradGuard no_grad;  // plain arithmetic: nothing recorded
    dy = y - target;                     // dL/dy
    dw2 = matmul(dy.t(), h);             // dL/dW2 = dyᵀ h
    db2 = sum(dy, {0});                  // dL/db2 = Σ over the batch
    dh = matmul(dy, w2);                 // dL/dh = dy W2
    dz = dh * (1.0 - h * h);             // through tanh: tanh' = 1 - tanh²
    dw1 = matmul(dz.t(), x);             // dL/dW1 = dzᵀ x
    db1 = sum(dz, {0});
  }
  // tour:end by_hand

  // tour:begin picture
  std::map<std::string, Tensor> leaves = {{"W1", w1}, {"b1", b1}, {"W2", w2}, {"b2", b2}};
  write_file_atomically("two_layer.svg", autograd::to_svg(loss, leaves));
  write_file_atomically("two_layer.dot", autograd::to_dot(loss, leaves));  // for Graphviz
  std::cout << "wrote two_layer.svg and two_layer.dot\n";
  // tour:end picture

  // tour:begin engine
  profiler::Profile profile;  // the engine marks every backward formula it runs
  loss.backward();
  profile.stop();
  int step = 0;
  for (const profiler::Event& e : profile.events())
    if (e.depth == 0) std::cout << ++step << ". " << e.name << "\n";
  // tour:end engine

  // tour:begin agree
  double worst = 0;
  for (auto [by_hand, leaf] : {std::pair{dw1, w1}, {db1, b1}, {dw2, w2}, {db2, b2}})
    worst = std::max(worst, largest_difference(by_hand, leaf.grad()));
  std::cout << "by hand and by the engine agree to 1e-12: " << (worst < 1e-12 ? "yes" : "no")
            << "\n";
  // tour:end agree

  // tour:begin gradcheck
  Tensor angles = tensor({0.5, 1.0, 2.0}, kFloat64).requires_grad_();
  auto wrong = autograd::gradcheck([](const auto& in) { return wrong_sin(in[0]); }, {angles});
  std::cout << wrong.message << "\n";
  auto right = autograd::gradcheck([](const auto& in) { return sin(in[0]); }, {angles});
  std::cout << "ember's sin passes: " << (right.passed ? "yes" : "no") << "\n";
  // tour:end gradcheck

  // tour:begin hvp
  Tensor a = randn({6, 3}, kFloat64), v = randn({3}, kFloat64);
  auto f = [&](const Tensor& w) { return sum(tanh(matmul(a, w)) * tanh(matmul(a, w))); };
  auto gradient = [&](const Tensor& w, bool create_graph) {
    return autograd::grad({f(w)}, {w}, {}, false, create_graph)[0];
  };
  Tensor w = randn({3}, kFloat64).requires_grad_();
  Tensor g = gradient(w, /*create_graph=*/true);        // ∇f(w), itself differentiable
  Tensor hv = autograd::grad({sum(g * v)}, {w})[0];      // ∇(∇f · v) = H v
  double eps = 1e-5;
  Tensor plus = (w.detach() + v * eps).requires_grad_();
  Tensor minus = (w.detach() - v * eps).requires_grad_();
  Tensor numerical = (gradient(plus, false) - gradient(minus, false)) / (2 * eps);
  std::cout << "Hv against central differences agrees to 1e-7: "
            << (largest_difference(hv, numerical) < 1e-7 ? "yes" : "no") << "\n";
  // tour:end hvp
}

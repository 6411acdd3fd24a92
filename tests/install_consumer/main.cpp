// An outside project's main (tests/main.cpp is the test runner's): uses the installed headers and
// library: a small backward pass whose result it checks, written with free functions and with
// libtorch's method spellings.
#include <ember/ember.h>

#include <cmath>
#include <iostream>

int main() {
  ember::Tensor x = ember::tensor({1.0, 2.0, 3.0}, ember::kFloat64).requires_grad_();
  ember::Tensor y = ember::sum(x * x);
  y.backward();
  double g = ember::sum(x.grad()).item<double>();  // d/dx sum(x^2) = 2x, summed: 12
  x.grad().zero_();
  ember::Tensor b = x.view({1, 3}).transpose(0, 1);  // (3, 1)
  b.mul(b).sum().backward();
  double h = x.grad().sum().item<double>();  // the same gradient again
  std::cout << "consumer: sum of gradients " << g << " and " << h << "\n";
  return std::abs(g - 12.0) < 1e-12 && std::abs(h - 12.0) < 1e-12 ? 0 : 1;
}

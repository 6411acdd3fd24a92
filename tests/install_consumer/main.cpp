// Uses the installed headers and library: a small backward pass whose result it checks.
#include <ember/ember.h>

#include <cmath>
#include <iostream>

int main() {
  ember::Tensor x = ember::tensor({1.0, 2.0, 3.0}, ember::kFloat64).requires_grad_();
  ember::Tensor y = ember::sum(x * x);
  y.backward();
  double g = ember::sum(x.grad()).item<double>();  // d/dx sum(x^2) = 2x, summed: 12
  std::cout << "consumer: sum of gradients " << g << "\n";
  return std::abs(g - 12.0) < 1e-12 ? 0 : 1;
}

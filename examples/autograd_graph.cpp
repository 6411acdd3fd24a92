// Writes the autograd graph of a small expression as SVG (drawn by ember's autograd::to_svg)
// and as Graphviz DOT (for Graphviz's own layouts), for lectures and debugging.
// Run: ./build/examples/autograd_graph --out graph   (writes graph.dot and graph.svg)
#include <ember/ember.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <string>

int main(int argc, char** argv) {
  CLI::App app{"Export the autograd graph of y = sum(tanh(x @ w + b) * x2) as DOT/SVG"};
  std::string out = "autograd_graph";
  app.add_option("--out", out, "output path without extension");
  CLI11_PARSE(app, argc, argv);

  using namespace ember;
  manual_seed(0);
  Tensor x = randn({4, 3}).requires_grad_();
  Tensor w = randn({3, 2}).requires_grad_();
  Tensor b = zeros({2}).requires_grad_();
  Tensor h = tanh(matmul(x, w) + b);
  Tensor y = sum(h * slice(x, 1, 0, 2));
  y.backward();

  std::map<std::string, Tensor> leaves = {{"x", x}, {"w", w}, {"b", b}};
  write_file_atomically(out + ".svg", autograd::to_svg(y, leaves), "autograd_graph");
  write_file_atomically(out + ".dot", autograd::to_dot(y, leaves), "autograd_graph");
  std::cout << "wrote " << out << ".svg and " << out << ".dot\n";
  std::cout << "dy/dw =\n" << w.grad() << "\n";
  return 0;
}

// Writes the autograd graph of a small expression as Graphviz DOT (and as SVG when the `dot`
// tool from Debian's graphviz package is installed), for lectures and debugging.
// Run: ./build/examples/autograd_graph --out graph   (writes graph.dot and graph.svg)
#include <ember/ember.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>

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

  std::string dot = autograd::to_dot(y, {{"x", x}, {"w", w}, {"b", b}});
  std::ofstream(out + ".dot") << dot;
  std::cout << "wrote " << out << ".dot (" << dot.size() << " bytes)\n";
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    std::string cmd = "dot -Tsvg '" + out + ".dot' -o '" + out + ".svg'";
    if (std::system(cmd.c_str()) == 0) std::cout << "wrote " << out << ".svg\n";
  } else {
    std::cout << "install graphviz (apt-get install graphviz) to render it: dot -Tsvg " << out
              << ".dot -o " << out << ".svg\n";
  }
  std::cout << "dy/dw =\n" << w.grad() << "\n";
  return 0;
}

// Graph export: the graph that produced a tensor, as Graphviz DOT, for lectures and debugging.
//   std::ofstream("graph.dot") << ember::autograd::to_dot(loss, {{"x", x}, {"w", w}});
//   $ dot -Tsvg graph.dot -o graph.svg
#pragma once

#include <map>
#include <string>

#include "../core/tensor.h"

namespace ember::autograd {

/// DOT text of the graph behind `root`: one box per op (its name and output shape), one ellipse
/// per leaf that requires grad (named from `names` when given), grey boxes for inputs that need
/// no gradient, and edges in the direction the forward pass ran.
std::string to_dot(const Tensor& root, const std::map<std::string, Tensor>& names = {});

}  // namespace ember::autograd

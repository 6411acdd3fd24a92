// Graph export: the graph that produced a tensor, for lectures and debugging, as Graphviz DOT
// or drawn by ember itself as SVG (no Graphviz needed).
//   std::ofstream("graph.dot") << ember::autograd::to_dot(loss, {{"x", x}, {"w", w}});
//   $ dot -Tsvg graph.dot -o graph.svg
//   std::ofstream("graph.svg") << ember::autograd::to_svg(loss, {{"x", x}, {"w", w}});
#pragma once

#include <map>
#include <string>

#include "../core/tensor.h"

namespace ember::autograd {

/// DOT text of the graph behind `root`: one box per op (its name and output shape), one ellipse
/// per leaf that requires grad (named from `names` when given), grey boxes for inputs that need
/// no gradient, and edges in the direction the forward pass ran.
std::string to_dot(const Tensor& root, const std::map<std::string, Tensor>& names = {});

/// The same picture as SVG, laid out in rows with the output on top and arrows pointing the way
/// the forward pass ran. Deterministic: the same graph gives the same bytes.
std::string to_svg(const Tensor& root, const std::map<std::string, Tensor>& names = {});

}  // namespace ember::autograd

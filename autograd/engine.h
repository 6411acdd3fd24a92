// The backward engine's entry points beyond Tensor::backward. Read next: engine.cpp.
#pragma once

#include <vector>

#include "../core/tensor.h"

namespace ember::autograd {

/// Gradients of `outputs` with respect to `inputs`, without touching any .grad().
/// grad_outputs: one per output (undefined = ones for a one-element output).
/// allow_unused: an input the outputs do not depend on gets an undefined tensor instead of an
/// error. With create_graph the results are themselves differentiable (higher-order gradients).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool create_graph = false, bool allow_unused = false);

/// Runs the engine from `roots`. Used by Tensor::backward and grad(); `inputs` empty means
/// "accumulate into every leaf", else the gradients for `inputs` are returned instead.
std::vector<Tensor> run_backward(const std::vector<Tensor>& roots,
                                 const std::vector<Tensor>& grad_roots, bool keep_graph,
                                 bool create_graph, const std::vector<Tensor>& inputs,
                                 bool allow_unused);

}  // namespace ember::autograd

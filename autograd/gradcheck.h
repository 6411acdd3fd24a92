// gradcheck and gradgradcheck: compare the engine's vector-Jacobian product with central
// finite differences, in float64, and say exactly where they disagree.
//   auto r = ember::autograd::gradcheck([](const auto& x) { return ember::tanh(x[0]); }, {x});
//   CHECK_MESSAGE(r.passed, r.message);
// Read next: gradcheck.cpp; tests/test_gradcheck_ops.cpp for the table of every op.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "../core/tensor.h"

namespace ember::autograd {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;  // |analytical - numerical| <= atol + rtol * |numerical|
  double rtol = 1e-3;
  uint64_t seed = 0;  // for the random cotangent
};

struct GradcheckResult {
  bool passed = true;
  std::string message;  // on failure: input, element, both values and the tolerance
  explicit operator bool() const { return passed; }
};

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Checks the gradients of fn with respect to every input that requires grad (float64 only).
/// The inputs are copied, so fn may make them non-contiguous, broadcast them, and so on.
GradcheckResult gradcheck(const TensorFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

/// Checks second derivatives: first, that the gradients computed with create_graph equal those
/// computed without (an op may compute them by two formulas); then gradcheck of
/// (inputs, v) -> the gradients of <v, fn(inputs)> computed with create_graph.
GradcheckResult gradgradcheck(const TensorFn& fn, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace ember::autograd

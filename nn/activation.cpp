// nn::functional's activations: GELU (forward and backward kernels, core/kernels/norm.h;
// ember ops under create_graph) and softplus (its own backward, exact at the kink of its stable
// form); SiLU, hard swish, Mish, PReLU and leaky ReLU are composites. The activations that are
// autograd ops of their own (relu, sigmoid, tanh, ...) are in autograd/elementwise.h.
// Read next: dropout.cpp.
#include <cmath>
#include <numbers>

#include "../autograd/function.h"
#include "../autograd/grad_mode.h"
#include "../core/kernels/norm.h"
#include "../core/profiler.h"
#include "functional_shapes.h"

namespace ember::nn::functional {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using autograd::save;

// Exact GELU: y = x Φ(x), dx = g (Φ(x) + x φ(x)) (kernels/norm.h, one vectorised pass each);
// under create_graph the backward in ember ops. The tanh approximation is a composite.
Tensor gelu(const Tensor& x, bool tanh_approximation) {
  profiler::Scope scope("gelu");
  if (tanh_approximation) {
    double k = std::sqrt(2.0 / std::numbers::pi);
    return x * 0.5 * (tanh((x + pow(x, 3.0) * 0.044715) * k) + 1.0);
  }
  return record("gelu", kernels::gelu_forward(x), {x},
                [x = save(x)](const Tensor& g, const Needs&) {
                  Tensor xs = x.unpack();
                  if (!GradMode::is_enabled()) return grads{kernels::gelu_backward(g, xs)};
                  Tensor cdf = (erf(xs * (1.0 / std::numbers::sqrt2)) + 1.0) * 0.5;
                  Tensor density =
                      exp(xs * xs * -0.5) * (0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
                  return grads{g * (cdf + xs * density)};
                });
}

Tensor silu(const Tensor& x) { return x * sigmoid(x); }  // (composite)

// y = log(1 + e^(βx)) / β, computed as (relu(βx) + log(1 + e^-|βx|)) / β so that it never
// overflows, and y = x where βx > threshold (as PyTorch).      dx = g sigmoid(βx) (g above it)
Tensor softplus(const Tensor& x, double beta, double threshold) {
  profiler::Scope scope("softplus");
  check(beta > 0, "softplus: beta must be positive, got ", beta);
  Tensor y;
  {
    NoGradGuard no_grad;
    Tensor bx = beta == 1 ? x : x * beta;
    y = relu(bx) + log(exp(neg(abs(bx))) + 1.0);
    if (beta != 1) y = y * (1.0 / beta);
    if (std::isfinite(threshold)) y = where(gt(bx, threshold), x, y);
  }
  return record("softplus", y, {x}, [x = save(x), beta, threshold](const Tensor& g, const Needs&) {
    Tensor bx = beta == 1 ? x.unpack() : x.unpack() * beta;
    Tensor slope = sigmoid(bx);
    if (std::isfinite(threshold)) slope = where(le(bx, threshold), slope, 1.0);
    return grads{g * slope};
  });
}

Tensor hardswish(const Tensor& x) {  // (composite)
  profiler::Scope scope("hardswish");
  return x * clamp(x + 3.0, 0.0, 6.0) * (1.0 / 6.0);
}

// Without softplus's threshold, as PyTorch's mish kernel.
Tensor mish(const Tensor& x) {  // (composite)
  profiler::Scope scope("mish");
  return x * tanh(softplus(x, 1.0, INFINITY));
}

Tensor prelu(const Tensor& x, const Tensor& weight) {  // (composite)
  profiler::Scope scope("prelu");
  int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
  if (weight.dim() != 1 || (weight.size(0) != 1 && weight.size(0) != channels))
    fail("prelu: weight ", shape_str(weight.sizes()), " must hold 1 value or one per channel (",
         channels, ") of input ", shape_str(x.sizes()));
  Tensor w = weight.size(0) > 1 ? detail::per_channel(weight, x.dim()) : weight;
  Tensor positive = relu(x);
  return positive + w * (x - positive);
}

Tensor leaky_relu(const Tensor& x, double slope) {  // (composite)
  profiler::Scope scope("leaky_relu");
  return where(gt(x, 0.0), x, x * slope);
}

}  // namespace ember::nn::functional

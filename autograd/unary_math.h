// The unary math functions, elementwise on floating tensors, each differentiable (relu's
// derivative at 0 is 0, as PyTorch's). Formulas: unary_math.cpp.
#pragma once

#include "../core/tensor.h"

namespace ember {

Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor erf(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);

}  // namespace ember

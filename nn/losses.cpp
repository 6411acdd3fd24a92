// The loss modules; see losses.h.
#include "losses.h"

namespace ember::nn {

namespace F = functional;

CrossEntropyLossImpl::CrossEntropyLossImpl(CrossEntropyArgs o)
    : Loss("CrossEntropyLoss"), options(o) {
  if (options.weight.defined()) options.weight = register_buffer("weight", options.weight);
}

Tensor CrossEntropyLossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::cross_entropy(input, target, options);
}

NLLLossImpl::NLLLossImpl(NLLLossArgs o) : Loss("NLLLoss"), options(o) {
  if (options.weight.defined()) options.weight = register_buffer("weight", options.weight);
}

Tensor NLLLossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::nll_loss(input, target, options);
}

Tensor MSELossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::mse_loss(input, target, reduction);
}

Tensor BCEWithLogitsLossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy_with_logits(input, target, reduction);
}

}  // namespace ember::nn

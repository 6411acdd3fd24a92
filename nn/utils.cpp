// Gradient clipping; see utils.h.
#include "utils.h"

#include <algorithm>
#include <cmath>

#include "../autograd/ops.h"

namespace ember::nn::utils {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  NoGradGuard no_grad;
  check(norm_type >= 1 || std::isinf(norm_type),
        "clip_grad_norm_: norm_type must be >= 1 or "
        "infinity, got ",
        norm_type);
  double total = 0;
  for (const Tensor& p : params) {
    if (!p.grad().defined()) continue;
    Tensor a = abs(to(p.grad(), kFloat64));
    if (std::isinf(norm_type))
      total = std::max(total, max(a).item<double>());
    else
      total += sum(pow(a, norm_type)).item<double>();
  }
  if (!std::isinf(norm_type)) total = std::pow(total, 1.0 / norm_type);
  double coef = max_norm / (total + 1e-6);
  if (coef < 1)
    for (const Tensor& p : params)
      if (p.grad().defined()) p.grad().copy_(p.grad() * coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  NoGradGuard no_grad;
  for (const Tensor& p : params)
    if (p.grad().defined()) p.grad().copy_(clamp(p.grad(), -clip_value, clip_value));
}

}  // namespace ember::nn::utils

// torch::nn::utils: gradient clipping, between backward and the optimizer's step:
//   loss.backward();
//   nn::utils::clip_grad_norm_(model->parameters(), 1.0);
//   optimizer.step();
// (optim::clip_grad_norm_ is the same function, under the name ember used first.)
#pragma once

#include <vector>

#include "../core/tensor.h"

namespace ember::nn::utils {

/// Scales all gradients so that their joint norm is at most max_norm; returns the norm before.
/// norm_type: 2 (Euclidean), any p >= 1, or INFINITY.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);
/// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace ember::nn::utils

// Parameter initialisation, as torch.nn.init. Every function writes in place under NoGradGuard
// and draws from the seeded generator. Layers use PyTorch's defaults: kaiming_uniform_ with
// a = sqrt(5) for weights (bound 1/sqrt(fan_in)) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for biases.
#pragma once

#include <string>
#include <utility>

#include "../core/tensor.h"

namespace ember::nn::init {

/// (fan_in, fan_out) of a weight: (in, out) for (out, in), times the kernel area for convs.
std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t);
/// The recommended gain for a nonlinearity ("relu", "tanh", "linear", "leaky_relu", ...).
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

void uniform_(const Tensor& t, double low = 0.0, double high = 1.0);
void normal_(const Tensor& t, double mean = 0.0, double std = 1.0);
/// N(mean, std²) restricted to [a, b]: inverse-CDF sampling (uniform in the CDF's range, then
/// erfinv), as torch.nn.init.trunc_normal_, so a seed gives PyTorch's values.
void trunc_normal_(const Tensor& t, double mean = 0.0, double std = 1.0, double a = -2.0,
                   double b = 2.0);
void constant_(const Tensor& t, double value);
void zeros_(const Tensor& t);
void ones_(const Tensor& t);
void xavier_uniform_(const Tensor& t, double gain = 1.0);
void xavier_normal_(const Tensor& t, double gain = 1.0);
/// mode: "fan_in" or "fan_out"; a: the negative slope for leaky_relu.
void kaiming_uniform_(const Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                      const std::string& nonlinearity = "leaky_relu");
void kaiming_normal_(const Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                     const std::string& nonlinearity = "leaky_relu");

/// A (semi-)orthogonal matrix, as torch.nn.init.orthogonal_: t viewed as (rows, the rest) is
/// filled with the Q of the QR factorisation of a standard normal matrix (drawn in t's dtype, as
/// PyTorch draws it; transposed when rows < cols), signed so that R's diagonal is positive,
/// times gain. Rows (or columns) come out orthonormal.
void orthogonal_(const Tensor& t, double gain = 1.0);

}  // namespace ember::nn::init

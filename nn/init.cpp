// Initialisers; see init.h.
#include "init.h"

#include <cmath>

#include "../autograd/ops.h"

namespace ember::nn::init {

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t) {
  if (t.dim() < 2)
    fail("init: fan in and fan out need a tensor of at least 2 dims, got ", shape_str(t.sizes()));
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

double calculate_gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "conv2d" || nonlinearity == "sigmoid") return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1 + param * param));
  if (nonlinearity == "selu") return 3.0 / 4.0;
  fail("calculate_gain: unknown nonlinearity '", nonlinearity, "'");
}

// The tensor's own uniform_ and normal_ (factory.h), so a seed gives PyTorch's weights.
void uniform_(const Tensor& t, double low, double high) {
  NoGradGuard no_grad;
  ember::uniform_(t, low, high);
}

void normal_(const Tensor& t, double mean, double std) {
  NoGradGuard no_grad;
  ember::normal_(t, mean, std);
}

void constant_(const Tensor& t, double value) {
  NoGradGuard no_grad;
  t.fill_(value);
}

void zeros_(const Tensor& t) { constant_(t, 0.0); }
void ones_(const Tensor& t) { constant_(t, 1.0); }

void xavier_uniform_(const Tensor& t, double gain) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  init::uniform_(t, -bound, bound);
}

void xavier_normal_(const Tensor& t, double gain) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  init::normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

static double kaiming_std(const Tensor& t, double a, const std::string& mode,
                          const std::string& nonlinearity) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  if (mode != "fan_in" && mode != "fan_out")
    fail("kaiming: mode must be 'fan_in' or 'fan_out', got '", mode, "'");
  int64_t fan = mode == "fan_in" ? fan_in : fan_out;
  return calculate_gain(nonlinearity, a) /
         std::sqrt(static_cast<double>(std::max<int64_t>(fan, 1)));
}

void kaiming_uniform_(const Tensor& t, double a, const std::string& mode,
                      const std::string& nonlinearity) {
  double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity);
  init::uniform_(t, -bound, bound);
}

void kaiming_normal_(const Tensor& t, double a, const std::string& mode,
                     const std::string& nonlinearity) {
  init::normal_(t, 0.0, kaiming_std(t, a, mode, nonlinearity));
}

}  // namespace ember::nn::init

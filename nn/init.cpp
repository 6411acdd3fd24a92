// Initialisers; see init.h.
#include "init.h"

#include <cmath>
#include <numbers>

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

namespace {

// erf⁻¹(y) for y in (-1, 1): Giles's single-precision approximation ("Approximating the erfinv
// function", 2010), then two Newton steps on erf(x) - y = 0 (erf' = 2/√π e^(-x²)), which take it
// to double precision.
double erfinv(double y) {
  if (y <= -1.0 || y >= 1.0) return std::copysign(INFINITY, y);
  double w = -std::log((1.0 - y) * (1.0 + y)), x;
  if (w < 5.0) {
    w -= 2.5;
    x = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                     -0.00417768164, 0.246640727, 1.50140941})
      x = x * w + c;
  } else {
    w = std::sqrt(w) - 3.0;
    x = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                     0.00943887047, 1.00167406, 2.83297682})
      x = x * w + c;
  }
  x *= y;
  for (int step = 0; step < 2; ++step)
    x -= (std::erf(x) - y) / (2.0 * std::numbers::inv_sqrtpi * std::exp(-x * x));
  return x;
}

}  // namespace

// PyTorch's recipe: u ~ U(2 Φ(α) - 1, 2 Φ(β) - 1) with α, β the bounds in standard units, then
// x = mean + std √2 erf⁻¹(u), clamped to [a, b] against rounding.
void trunc_normal_(const Tensor& t, double mean, double std, double a, double b) {
  check(std > 0 && a < b, "trunc_normal_: expected std > 0 and a < b, got std ", std, ", [", a,
        ", ", b, "]");
  auto cdf = [](double x) { return (1.0 + std::erf(x / std::numbers::sqrt2)) / 2.0; };
  double low = cdf((a - mean) / std), high = cdf((b - mean) / std);
  init::uniform_(t, 2.0 * low - 1.0, 2.0 * high - 1.0);
  NoGradGuard no_grad;
  Tensor u = clone(to(t, kFloat64)).contiguous();
  double* p = u.data_ptr<double>();
  for (int64_t i = 0; i < u.numel(); ++i)
    p[i] = std::clamp(mean + std * std::numbers::sqrt2 * erfinv(p[i]), a, b);
  t.copy_(to(u, t.dtype()));
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

// Modified Gram-Schmidt on the columns of a (m x n, m >= n), in double: the reduced Q whose
// R has a positive diagonal, which is Householder's Q with PyTorch's sign correction applied.
void orthogonal_(const Tensor& t, double gain) {
  check(t.dim() >= 2 && t.numel() > 0, "orthogonal_: expected a tensor of 2 or more dims, got ",
        shape_str(t.sizes()));
  check(t.is_floating_point(), "orthogonal_: expected a floating tensor, got ", t.dtype());
  int64_t rows = t.size(0), cols = t.numel() / rows;
  Tensor drawn = empty({rows, cols}, t.dtype());
  init::normal_(drawn, 0.0, 1.0);
  NoGradGuard no_grad;
  Tensor a = to(rows < cols ? transpose(drawn, 0, 1) : drawn, kFloat64).contiguous();
  int64_t m = a.size(0), n = a.size(1);
  double* q = a.data_ptr<double>();  // column j is q[i * n + j]
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t k = 0; k < j; ++k) {
      double dot = 0;
      for (int64_t i = 0; i < m; ++i) dot += q[i * n + k] * q[i * n + j];
      for (int64_t i = 0; i < m; ++i) q[i * n + j] -= dot * q[i * n + k];
    }
    double norm = 0;
    for (int64_t i = 0; i < m; ++i) norm += q[i * n + j] * q[i * n + j];
    norm = std::sqrt(norm);
    check(norm > 0, "orthogonal_: the drawn matrix is rank deficient");
    for (int64_t i = 0; i < m; ++i) q[i * n + j] /= norm;
  }
  Tensor result = (rows < cols ? transpose(a, 0, 1) : a) * gain;
  t.copy_(reshape(to(result, t.dtype()), shape_of(t)));
}

}  // namespace ember::nn::init

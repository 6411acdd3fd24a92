// nn::functional's normalizations: batch_norm and layer_norm (forward and backward kernels,
// core/kernels/norm.h, with the same formulas in ember ops under create_graph, so that both
// differentiate twice) and group_norm (a composite). All three standardize x over some dims,
// xhat = (x - mean) / sqrt(var + eps) with the biased variance, then scale and shift.
// Read next: loss.cpp.
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
using autograd::save_output;
using detail::per_channel;

namespace {

// xhat = (x - mean) * inv with inv = 1 / sqrt(var + eps), the statistics over `dims` of x (kept
// as size-1 dims), written in ember ops: differentiable in x, statistics included.
struct Standardized {
  Tensor xhat, inv;
};

Standardized standardize(const Tensor& x, const Shape& dims, double eps) {
  Tensor inv = rsqrt(var(x, dims, 0, true) + eps);
  return {(x - mean(x, dims, true)) * inv, inv};
}

// The gradient of x through standardize(x) given gx, the gradient of xhat (m values per group):
//   dx = (gx - mean(gx) - xhat mean(gx xhat)) inv
// since d xhat_i / d x_j = inv (δ_ij - 1/m - xhat_i xhat_j / m).
Tensor standardized_input_grad(const Tensor& gx, const Standardized& s, const Shape& dims) {
  return (gx - mean(gx, dims, true) - s.xhat * mean(gx * s.xhat, dims, true)) * s.inv;
}

}  // namespace

// y = xhat w + b, xhat = (x - mean) / sqrt(var + eps) per channel. Training uses the batch's mean
// and biased variance and updates the running statistics (unbiased variance); evaluation uses
// the running ones.
// dw = sum g xhat      db = sum g      dx = see kernels/norm.h (batch or fixed statistics)
// The backward runs kernels::batch_norm_backward; under create_graph the same formulas in ember
// ops, so batch_norm has second derivatives. With `relu` (batch_norm_relu), y = max(y, 0) in the
// same pass, and the backward masks g where y is not positive before the same formulas.
namespace {

Tensor batch_norm_op(const char* op, const Tensor& x, const Tensor& running_mean,
                     const Tensor& running_var, const Tensor& weight, const Tensor& bias,
                     bool training, double momentum, double eps, bool relu) {
  profiler::Scope scope(op);
  if (x.dim() < 2) fail("batch_norm: expected (N, C, ...), got ", shape_str(x.sizes()));
  int64_t rank = x.dim(), c = x.size(1);
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    if (t->defined() && (t->dim() != 1 || t->size(0) != c || t->dtype() != x.dtype()))
      fail("batch_norm: expected per-channel vectors of ", c, " ", x.dtype(), " values for input ",
           shape_str(x.sizes()), ", got ", t->dtype(), " ", shape_str(t->sizes()));
  Shape dims{0};
  for (int64_t d = 2; d < rank; ++d) dims.push_back(d);
  Tensor mu, invstd;
  {
    NoGradGuard no_grad;  // statistics are constants here; the backward differentiates them
    if (training) {
      int64_t count = x.numel() / std::max<int64_t>(c, 1);
      if (count <= 1)
        fail("batch_norm: expected more than 1 value per channel when training, got input ",
             shape_str(x.sizes()));
      auto [m, v] = kernels::batch_norm_stats(x);
      mu = m;
      invstd = rsqrt(v + eps);
      if (running_mean.defined()) {  // buffers, updated in place
        double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
        running_mean.copy_(running_mean * (1 - momentum) + m * momentum);
        running_var.copy_(running_var * (1 - momentum) + v * (momentum * unbias));
      }
    } else {
      if (!running_mean.defined())
        fail("batch_norm: evaluation needs running statistics (track_running_stats)");
      mu = clone(running_mean);
      invstd = rsqrt(running_var + eps);
    }
  }
  Tensor y = kernels::batch_norm_apply(x, mu, invstd, weight, bias, relu);
  return record(op, y, {x, weight, bias},
                [x = save(x), weight = save(weight), y = relu ? save_output(y) : save(Tensor()), mu,
                 invstd, training, eps, dims, rank](const Tensor& g_out, const Needs& needs) {
                  Tensor xs = x.unpack(), w = weight.unpack(), ys = y.unpack();
                  if (!GradMode::is_enabled()) {
                    kernels::BatchNormGrads r = kernels::batch_norm_backward(
                        g_out, xs, mu, invstd, w, training, needs[0], needs[1], needs[2], ys);
                    return grads{r.input, r.weight, r.bias};
                  }
                  // The ReLU's gradient, then batch norm's (y > 0: a constant mask).
                  Tensor g = ys.defined() ? g_out * gt(ys.detach(), 0.0) : g_out;
                  // Training: the statistics as functions of x, so that the gradients differentiate
                  // again; evaluation: the running statistics, constants.
                  Tensor fixed_inv = per_channel(invstd, rank);
                  Standardized s =
                      training ? standardize(xs, dims, eps)
                               : Standardized{(xs - per_channel(mu, rank)) * fixed_inv, fixed_inv};
                  Tensor gx = w.defined() ? g * per_channel(w, rank) : g;  // the gradient of xhat
                  Tensor dx = training ? standardized_input_grad(gx, s, dims) : gx * s.inv;
                  return grads{needs[0] ? dx : Tensor(),
                               needs[1] ? sum(g * s.xhat, dims) : Tensor(),
                               needs[2] ? sum(g, dims) : Tensor()};
                });
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  return batch_norm_op("batch_norm", x, running_mean, running_var, weight, bias, training, momentum,
                       eps, /*relu=*/false);
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, bool training, double momentum,
                       double eps) {
  return batch_norm_op("batch_norm_relu", x, running_mean, running_var, weight, bias, training,
                       momentum, eps, /*relu=*/true);
}

// y = xhat w + b, xhat = (x - mean) / sqrt(var + eps) over the last dims (normalized_shape),
// with the biased variance. The forward and backward are kernels (kernels/norm.h: one pass per
// row instead of a dozen elementwise ops and reductions; they take weight and bias as m
// contiguous values, `flat`); under create_graph the backward is the same formula in ember ops.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  profiler::Scope scope("layer_norm");
  int64_t k = static_cast<int64_t>(normalized_shape.size());
  bool fits = k <= x.dim();
  for (int64_t i = 0; fits && i < k; ++i) fits = x.size(x.dim() - k + i) == normalized_shape[i];
  if (!fits)
    fail("layer_norm: input ", shape_str(x.sizes()), " does not end with normalized shape ",
         shape_str(normalized_shape));
  for (const Tensor* t : {&weight, &bias})
    if (t->defined() && (shape_of(*t) != normalized_shape || t->dtype() != x.dtype()))
      fail("layer_norm: expected ", x.dtype(), " weight and bias of shape ",
           shape_str(normalized_shape), ", got ", t->dtype(), " ", shape_str(t->sizes()));
  int64_t m = 1;
  for (int64_t n : normalized_shape) m *= n;
  Shape dims, leading;  // the normalized dims, and the ones weight and bias are summed over
  for (int64_t d = 0; d < x.dim(); ++d) (d < x.dim() - k ? leading : dims).push_back(d);
  auto flat = [m](const Tensor& t) { return t.defined() ? reshape(t.detach(), {m}) : Tensor(); };
  kernels::LayerNormOutputs out = kernels::layer_norm_forward(x, m, flat(weight), flat(bias), eps);
  return record("layer_norm", out.y, {x, weight, bias},
                [x = save(x), weight = save(weight), row_mean = out.mean, rstd = out.rstd, m, eps,
                 dims, leading, normalized_shape, flat](const Tensor& g, const Needs& needs) {
                  Tensor xs = x.unpack(), w = weight.unpack();
                  if (!GradMode::is_enabled()) {
                    kernels::LayerNormGrads r = kernels::layer_norm_backward(
                        g, xs, m, row_mean, rstd, flat(w), needs[0], needs[1], needs[2]);
                    auto shaped = [&](const Tensor& t) {
                      return t.defined() ? reshape(t, normalized_shape) : t;
                    };
                    return grads{r.input, shaped(r.weight), shaped(r.bias)};
                  }
                  // The statistics as functions of x, so that the gradients differentiate again.
                  Standardized s = standardize(xs, dims, eps);
                  Tensor gx = w.defined() ? g * w : g;  // the gradient of xhat
                  Tensor dx = standardized_input_grad(gx, s, dims);
                  return grads{needs[0] ? dx : Tensor(),
                               needs[1] ? sum(g * s.xhat, leading) : Tensor(),
                               needs[2] ? sum(g, leading) : Tensor()};
                });
}

Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias,
                  double eps) {  // (composite)
  profiler::Scope scope("group_norm");
  if (x.dim() < 2 || groups < 1 || x.size(1) % groups != 0)
    fail("group_norm: ", x.dim() < 2 ? 0 : x.size(1), " channels of input ", shape_str(x.sizes()),
         " cannot be split into ", groups, " groups");
  Tensor g = reshape(x, {x.size(0), groups, -1});
  Tensor y = reshape(standardize(g, {2}, eps).xhat, shape_of(x));
  if (weight.defined()) y = y * per_channel(weight, x.dim());
  if (bias.defined()) y = y + per_channel(bias, x.dim());
  return y;
}

}  // namespace ember::nn::functional

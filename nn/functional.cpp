// nn::functional ops. Convolution runs a GEMM per sample over im2col columns (core/kernels/conv),
// pooling is built on unfold/fold (im2col and its adjoint). Most losses and activations are
// composites. The ops that record their own backward do so for speed or stability, with the
// formula written in ember ops so that they differentiate twice; the backward of conv2d,
// batch_norm, layer_norm and gelu is a kernel, with the ember-op formula used under create_graph.
// Read next: nn/module.h.
#include "functional.h"

#include <cmath>
#include <numbers>

#include "../autograd/function.h"
#include "../autograd/grad_mode.h"
#include "../core/kernels/conv.h"
#include "../core/kernels/matmul.h"
#include "../core/kernels/norm.h"
#include "../core/kernels/reduce.h"
#include "../core/parallel.h"
#include "../core/profiler.h"

namespace ember::nn::functional {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using autograd::save;

namespace {

kernels::Window window(Pair kernel, Pair dilation, Pair padding, Pair stride) {
  return {kernel.h, kernel.w, stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w};
}

Tensor reduce(const Tensor& loss, Reduction reduction) {
  if (reduction == Reduction::Sum) return sum(loss);
  if (reduction == Reduction::Mean) return mean(loss);
  return loss;
}

// A per-channel vector (C) shaped to broadcast against (N, C, d1, d2, ...).
Tensor per_channel(const Tensor& v, int64_t rank) {
  Shape s(rank, 1);
  s[1] = v.size(0);
  return reshape(v, s);
}

}  // namespace

// y = x Wᵀ + b: one GEMM, with the bias added into its output in place (torch.addmm's saving:
// no second output, no broadcast add). dx = g W, dW = gᵀ x over all leading dims, db = the column
// sums of g, each an ember op, so linear differentiates twice.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  profiler::Scope scope("linear");
  if (weight.dim() != 2 || x.dim() < 1 || x.size(-1) != weight.size(1))
    fail("linear: input ", shape_str(x.sizes()), " does not match weight ",
         shape_str(weight.sizes()), " (expected input (..., ", weight.size(-1), "))");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != weight.size(0)))
    fail("linear: bias ", shape_str(bias.sizes()), " does not match weight ",
         shape_str(weight.sizes()), " (expected (", weight.size(0), "))");
  for (const Tensor* t : {&weight, &bias})
    if (t->defined() && t->dtype() != x.dtype())
      fail("linear: input is ", x.dtype(), " but ", t == &weight ? "weight" : "bias", " is ",
           t->dtype());
  Tensor wt = transpose(weight.detach(), 0, 1);  // a transposed view: BLAS reads it in place
  Tensor y = kernels::matmul(x.detach(), wt);
  if (bias.defined()) {
    Tensor b = bias.detach().contiguous();
    int64_t out = weight.size(0), rows = y.numel() / std::max<int64_t>(out, 1);
    visit_floating(y.dtype(), "linear", [&]<typename T>() {
      T* yp = y.data_ptr<T>();
      const T* bp = b.data_ptr<T>();
      parallel_for(0, rows, std::max<int64_t>(1, kGrainElements / std::max<int64_t>(out, 1)),
                   [&](int64_t lo, int64_t hi) {
                     for (int64_t r = lo; r < hi; ++r)
                       for (int64_t j = 0; j < out; ++j) yp[r * out + j] += bp[j];
                   });
    });
  }
  return record("linear", y, {x, weight, bias},
                [x = save(x), weight = save(weight)](const Tensor& g, const Needs& needs) {
                  Tensor xs = x.unpack(), w = weight.unpack();
                  Tensor rows_g = reshape(g, {-1, g.size(-1)});
                  Tensor dx, dw, db;
                  if (needs[0]) dx = matmul(g, w);
                  if (needs[1])
                    dw = matmul(transpose(rows_g, 0, 1), reshape(xs, {-1, xs.size(-1)}));
                  if (needs[2]) db = sum(rows_g, {0});
                  return grads{dx, dw, db};
                });
}

// cols = im2col(x)      dx = fold(g)   (fold is unfold's adjoint)
Tensor unfold(const Tensor& x, Pair kernel, Pair dilation, Pair padding, Pair stride) {
  profiler::Scope scope("unfold");
  Tensor y = kernels::im2col(x, window(kernel, dilation, padding, stride));
  Pair size{x.size(2), x.size(3)};
  return record("unfold", y, {x}, [=](const Tensor& g, const Needs&) {
    return grads{fold(g, size, kernel, dilation, padding, stride)};
  });
}

// x = col2im(cols)      dcols = unfold(g)
Tensor fold(const Tensor& cols, Pair output_size, Pair kernel, Pair dilation, Pair padding,
            Pair stride) {
  profiler::Scope scope("fold");
  int64_t patch = kernel.h * kernel.w;
  if (cols.dim() != 3 || cols.size(1) % patch != 0)
    fail("fold: expected columns (N, C*", kernel.h, "*", kernel.w, ", L), got ",
         shape_str(cols.sizes()));
  Tensor y = kernels::col2im(cols, cols.size(1) / patch, output_size.h, output_size.w,
                             window(kernel, dilation, padding, stride));
  return record("fold", y, {cols}, [=](const Tensor& g, const Needs&) {
    return grads{unfold(g, kernel, dilation, padding, stride)};
  });
}

// y = W ⋆ x + b: per sample W @ im2col(x) + b                      (kernels::conv2d)
// dx = col2im(Wᵀ g)      dW = Σ_samples g im2col(x)ᵀ      db = Σ g over samples and positions
// The backward runs kernels::conv2d_backward. Under create_graph the same formulas are written in
// ember ops (unfold, fold, matmul) instead, so conv2d has second derivatives.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvArgs& a) {
  profiler::Scope scope("conv2d");
  if (x.dim() != 4 || weight.dim() != 4)
    fail("conv2d: expected a 4-D input and weight, got input ", shape_str(x.sizes()),
         " and weight ", shape_str(weight.sizes()));
  int64_t c = x.size(1), out = weight.size(0), g = a.groups;
  if (g < 1 || c != weight.size(1) * g || out % g != 0)
    fail("conv2d: input has ", c, " channels but weight expects ", weight.size(1) * g, " (input ",
         shape_str(x.sizes()), ", weight ", shape_str(weight.sizes()), ", groups ", g, ")");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out))
    fail("conv2d: bias ", shape_str(bias.sizes()), " does not match ", out, " output channels");
  if (x.dtype() != weight.dtype() || (bias.defined() && bias.dtype() != x.dtype()))
    fail("conv2d: input, weight and bias must have the same dtype, got ", x.dtype(), ", ",
         weight.dtype(), (bias.defined() ? ", " : ""), (bias.defined() ? bias.dtype() : x.dtype()));
  Pair k{weight.size(2), weight.size(3)};
  kernels::Window win = window(k, a.dilation, a.padding, a.stride);
  Tensor y = kernels::conv2d(x, weight, bias, win, g);
  return record(
      "conv2d", y, {x, weight, bias},
      [x = save(x), weight = save(weight), win, a, k](const Tensor& grad, const Needs& needs) {
        Tensor xs = x.unpack(), ws = weight.unpack();
        if (!GradMode::is_enabled()) {
          kernels::Conv2dGrads r =
              kernels::conv2d_backward(grad, xs, ws, win, a.groups, needs[0], needs[1], needs[2]);
          return grads{r.input, r.weight, r.bias};
        }
        int64_t n = xs.size(0), groups = a.groups, l = grad.size(2) * grad.size(3);
        Tensor gy = reshape(grad, {n, groups, ws.size(0) / groups, l});  // (N, G, O/G, L)
        Tensor wg = reshape(ws, {groups, ws.size(0) / groups, -1});      // (G, O/G, C/G*kk)
        Tensor dx, dw, db;
        if (needs[0]) {
          Tensor dcols = reshape(matmul(transpose(wg, 1, 2), gy), {n, -1, l});
          dx = fold(dcols, {xs.size(2), xs.size(3)}, k, a.dilation, a.padding, a.stride);
        }
        if (needs[1]) {
          Tensor cols = reshape(unfold(xs, k, a.dilation, a.padding, a.stride),
                                {n, groups, -1, l});  // (N, G, C/G*kk, L)
          dw = reshape(sum(matmul(gy, transpose(cols, 2, 3)), {0}), shape_of(ws));
        }
        if (needs[2]) db = sum(grad, {0, 2, 3});
        return grads{dx, dw, db};
      });
}

// y = max over each window      dx = g scattered back to each window's argmax
Tensor max_pool2d(const Tensor& x, Pair kernel, const PoolArgs& a) {
  profiler::Scope scope("max_pool2d");
  Pair stride = a.stride.value_or(kernel);
  std::pair<Tensor, Tensor> pooled =
      kernels::max_pool2d(x, window(kernel, a.dilation, a.padding, stride));
  Tensor y = pooled.first, indices = pooled.second;  // (clang 14 cannot capture bindings)
  return record("max_pool2d", y, {x},
                [indices, sizes = shape_of(x)](const Tensor& g, const Needs&) {
                  int64_t n = sizes[0], c = sizes[1];
                  Tensor flat = scatter_add(zeros({n, c, sizes[2] * sizes[3]}, g.dtype()), 2,
                                            reshape(indices, {n, c, -1}), reshape(g, {n, c, -1}));
                  return grads{reshape(flat, sizes)};
                });
}

// y = mean of each window, zero padding included      (composite)
Tensor avg_pool2d(const Tensor& x, Pair kernel, const PoolArgs& a) {
  profiler::Scope scope("avg_pool2d");
  if (x.dim() != 4) fail("avg_pool2d: expected a 4-D input, got ", shape_str(x.sizes()));
  Pair stride = a.stride.value_or(kernel);
  int64_t n = x.size(0), c = x.size(1);
  int64_t oh = kernels::Window::out_size(x.size(2), kernel.h, stride.h, a.padding.h, a.dilation.h,
                                         "avg_pool2d");
  int64_t ow = kernels::Window::out_size(x.size(3), kernel.w, stride.w, a.padding.w, a.dilation.w,
                                         "avg_pool2d");
  Tensor planes = reshape(x, {n * c, 1, x.size(2), x.size(3)});
  Tensor cols = unfold(planes, kernel, a.dilation, a.padding, stride);  // (N*C, kh*kw, L)
  return reshape(mean(cols, {1}), {n, c, oh, ow});
}

// y = xhat w + b, xhat = (x - mean) / sqrt(var + eps) per channel. Training uses the batch's mean
// and biased variance and updates the running statistics (unbiased variance); evaluation uses
// the running ones.
// dw = sum g xhat      db = sum g      dx = see kernels/norm.h (batch or fixed statistics)
// The backward runs kernels::batch_norm_backward; under create_graph the same formulas in ember
// ops, so batch_norm has second derivatives.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  profiler::Scope scope("batch_norm");
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
  Tensor y = kernels::batch_norm_apply(x, mu, invstd, weight, bias);
  return record(
      "batch_norm", y, {x, weight, bias},
      [x = save(x), weight = save(weight), mu, invstd, training, eps, dims, rank](
          const Tensor& g, const Needs& needs) {
        Tensor xs = x.unpack(), w = weight.unpack();
        if (!GradMode::is_enabled()) {
          kernels::BatchNormGrads r = kernels::batch_norm_backward(g, xs, mu, invstd, w, training,
                                                                   needs[0], needs[1], needs[2]);
          return grads{r.input, r.weight, r.bias};
        }
        // The statistics as functions of x, so that the gradients differentiate again.
        Tensor inv = training ? rsqrt(var(xs, dims, 0, true) + eps) : per_channel(invstd, rank);
        Tensor centered = xs - (training ? mean(xs, dims, true) : per_channel(mu, rank));
        Tensor xhat = centered * inv;
        Tensor gx = w.defined() ? g * per_channel(w, rank) : g;  // the gradient of xhat
        Tensor dx = training
                        ? (gx - mean(gx, dims, true) - xhat * mean(gx * xhat, dims, true)) * inv
                        : gx * inv;
        return grads{needs[0] ? dx : Tensor(), needs[1] ? sum(g * xhat, dims) : Tensor(),
                     needs[2] ? sum(g, dims) : Tensor()};
      });
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
  return record(
      "layer_norm", out.y, {x, weight, bias},
      [x = save(x), weight = save(weight), row_mean = out.mean, rstd = out.rstd, m, eps, dims,
       leading, normalized_shape, flat](const Tensor& g, const Needs& needs) {
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
        Tensor inv = rsqrt(var(xs, dims, 0, true) + eps);
        Tensor xhat = (xs - mean(xs, dims, true)) * inv;
        Tensor gx = w.defined() ? g * w : g;  // the gradient of xhat
        Tensor dx = (gx - mean(gx, dims, true) - xhat * mean(gx * xhat, dims, true)) * inv;
        return grads{needs[0] ? dx : Tensor(), needs[1] ? sum(g * xhat, leading) : Tensor(),
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
  Tensor y = reshape((g - mean(g, {2}, true)) * rsqrt(var(g, {2}, 0, true) + eps), shape_of(x));
  if (weight.defined()) y = y * per_channel(weight, x.dim());
  if (bias.defined()) y = y + per_channel(bias, x.dim());
  return y;
}

// loss_r = -sum_c q_rc log softmax(x_r)_c, q = (1 - s) onehot(t_r) + s / C (0 for ignored rows)
// dx_r = (softmax(x_r) - q_r) * g_r      (g_r already divided by the count for a mean)
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyArgs& a) {
  profiler::Scope scope("cross_entropy");
  if (logits.dim() < 2 || target.dtype() != kInt64 || target.dim() != logits.dim() - 1 ||
      target.size(0) != logits.size(0))
    fail("cross_entropy: expected logits (N, C, ...) and int64 targets (N, ...), got logits ",
         shape_str(logits.sizes()), " and ", target.dtype(), " targets ",
         shape_str(target.sizes()));
  check(a.label_smoothing >= 0 && a.label_smoothing <= 1,
        "cross_entropy: label_smoothing must be in [0, 1], got ", a.label_smoothing);
  int64_t c = logits.size(1);
  // Classes last, one row per prediction: (M, C).
  Shape order{0};
  for (int64_t d = 2; d < logits.dim(); ++d) order.push_back(d);
  order.push_back(1);
  Tensor rows = reshape(permute(logits, order), {-1, c});
  Tensor t = target.contiguous();
  int64_t m = rows.size(0);
  // q and the per-row validity, built once from the targets.
  Tensor q = zeros({m, c}, logits.dtype());
  Tensor valid = zeros({m, 1}, logits.dtype());
  const int64_t* tp = t.data_ptr<int64_t>();
  int64_t count = 0;
  visit_floating(logits.dtype(), "cross_entropy", [&]<typename T>() {
    T* qp = q.data_ptr<T>();
    T* vp = valid.data_ptr<T>();
    for (int64_t r = 0; r < m; ++r) {
      if (tp[r] == a.ignore_index) continue;
      if (tp[r] < 0 || tp[r] >= c)
        fail("cross_entropy: target ", tp[r], " is out of range for ", c, " classes");
      vp[r] = T(1);
      ++count;
      for (int64_t k = 0; k < c; ++k) qp[r * c + k] = T(a.label_smoothing / c);
      qp[r * c + tp[r]] += T(1 - a.label_smoothing);
    }
  });
  Tensor per_row;
  {
    NoGradGuard no_grad;
    per_row = reshape(neg(sum(q * log_softmax(rows, 1), {1})), shape_of(target));
  }
  Tensor loss = a.reduction == Reduction::Sum    ? sum(per_row)
                : a.reduction == Reduction::Mean ? sum(per_row) / static_cast<double>(count)
                                                 : per_row;
  double scale = a.reduction == Reduction::Mean ? 1.0 / static_cast<double>(count) : 1.0;
  Reduction reduction = a.reduction;
  Tensor y = record("cross_entropy", loss.detach(), {logits},
                    [rows_saved = save(rows), q, valid, scale, reduction, order, m,
                     logits_shape = shape_of(logits)](const Tensor& g, const Needs&) {
                      Tensor gr = reduction == Reduction::None ? reshape(g, {m, 1}) : g * scale;
                      Tensor d = (softmax(rows_saved.unpack(), 1) - q) * valid * gr;
                      Shape permuted;  // the (N, d..., C) shape rows came from
                      for (int64_t o : order) permuted.push_back(logits_shape[o]);
                      Shape inverse(order.size());
                      for (size_t i = 0; i < order.size(); ++i) inverse[order[i]] = int64_t(i);
                      return grads{permute(reshape(d, permuted), inverse)};
                    });
  return y;
}

// loss = -log_probs[target] per row, ignored rows excluded      (composite)
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index,
                Reduction reduction) {
  profiler::Scope scope("nll_loss");
  if (log_probs.dim() != 2 || target.dtype() != kInt64 || target.dim() != 1 ||
      target.size(0) != log_probs.size(0))
    fail("nll_loss: expected log_probs (N, C) and int64 targets (N), got ",
         shape_str(log_probs.sizes()), " and ", target.dtype(), " ", shape_str(target.sizes()));
  Tensor valid = ne(target, static_cast<double>(ignore_index));
  Tensor safe = where(valid, target, 0.0);
  Tensor picked = squeeze(gather(log_probs, 1, unsqueeze(safe, 1)), 1);
  Tensor loss = neg(where(valid, picked, 0.0));
  if (reduction == Reduction::Mean) return sum(loss) / sum(to(valid, log_probs.dtype()));
  return reduce(loss, reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {  // (composite)
  profiler::Scope scope("mse_loss");
  Tensor d = input - target;
  return reduce(d * d, reduction);
}

// l = max(x, 0) - x y + log(1 + e^-|x|)      dx = (sigmoid(x) - y) g      dy = -x g
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction) {
  profiler::Scope scope("binary_cross_entropy_with_logits");
  Tensor l;
  {
    NoGradGuard no_grad;
    l = relu(logits) - logits * target + log(exp(neg(abs(logits))) + 1.0);
  }
  Tensor y = record("binary_cross_entropy_with_logits", l, {logits, target},
                    [x = save(logits), t = save(target)](const Tensor& g, const Needs& needs) {
                      Tensor xv = x.unpack();
                      return grads{needs[0] ? (sigmoid(xv) - t.unpack()) * g : Tensor(),
                                   needs[1] ? neg(xv) * g : Tensor()};
                    });
  return reduce(y, reduction);
}

Tensor dropout(const Tensor& x, double p, bool training) {  // (composite)
  profiler::Scope scope("dropout");
  check(p >= 0 && p <= 1, "dropout: probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  Tensor keep = to(ge(rand_like(x), p), x.dtype());
  return x * keep * (1.0 / (1.0 - p));
}

Tensor embedding(const Tensor& indices, const Tensor& weight) {  // (composite)
  profiler::Scope scope("embedding");
  if (weight.dim() != 2 || indices.dtype() != kInt64)
    fail("embedding: expected int64 indices and a 2-D weight, got ", indices.dtype(), " and ",
         shape_str(weight.sizes()));
  Shape out = shape_of(indices);
  out.push_back(weight.size(1));
  return reshape(index_select(weight, 0, reshape(indices, {-1})), out);
}

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

Tensor hardswish(const Tensor& x) {  // (composite)
  profiler::Scope scope("hardswish");
  return x * clamp(x + 3.0, 0.0, 6.0) * (1.0 / 6.0);
}

// softplus(x) = log(1 + e^x), written as relu(x) + log(1 + e^-|x|) so that it never overflows.
Tensor mish(const Tensor& x) {  // (composite)
  profiler::Scope scope("mish");
  return x * tanh(relu(x) + log(exp(neg(abs(x))) + 1.0));
}

Tensor prelu(const Tensor& x, const Tensor& weight) {  // (composite)
  profiler::Scope scope("prelu");
  int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
  if (weight.dim() != 1 || (weight.size(0) != 1 && weight.size(0) != channels))
    fail("prelu: weight ", shape_str(weight.sizes()), " must hold 1 value or one per channel (",
         channels, ") of input ", shape_str(x.sizes()));
  Tensor w = weight;
  if (weight.size(0) > 1) {  // per channel: broadcast along dim 1
    Shape s(x.dim(), 1);
    s[1] = channels;
    w = reshape(weight, s);
  }
  Tensor positive = relu(x);
  return positive + w * (x - positive);
}

Tensor leaky_relu(const Tensor& x, double slope) {  // (composite)
  profiler::Scope scope("leaky_relu");
  return where(gt(x, 0.0), x, x * slope);
}

}  // namespace ember::nn::functional

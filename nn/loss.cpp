// nn::functional's losses: cross_entropy (log_softmax and the negative log likelihood in one op,
// with its own backward: softmax minus the target distribution) and binary cross-entropy on
// logits (its own backward, stable for large logits); nll_loss and mse_loss are composites.
// Read next: activation.cpp.
#include <cmath>

#include "../autograd/function.h"
#include "../core/profiler.h"
#include "functional.h"

namespace ember::nn::functional {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using autograd::save;

namespace {

Tensor reduce(const Tensor& loss, Reduction reduction) {
  if (reduction == Reduction::Sum) return sum(loss);
  if (reduction == Reduction::Mean) return mean(loss);
  return loss;
}

}  // namespace

// loss_r = -sum_c q_rc log softmax(x_r)_c, q_r = (1 - s) w_t onehot(t_r) + s w / C (0 for an
// ignored row; w the class weights, all 1 without them); a mean divides by sum_r w_{t_r}.
// dx_r = (softmax(x_r) sum_c q_rc - q_r) * g_r      (g_r already divided for a mean)
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
  if (a.weight.defined() &&
      (a.weight.dim() != 1 || a.weight.size(0) != c || a.weight.dtype() != logits.dtype()))
    fail("cross_entropy: expected a weight of ", c, " ", logits.dtype(),
         " values (one per class), got ", a.weight.dtype(), " ", shape_str(a.weight.sizes()));
  // Classes last, one row per prediction: (M, C).
  Shape order{0};
  for (int64_t d = 2; d < logits.dim(); ++d) order.push_back(d);
  order.push_back(1);
  Tensor rows = reshape(permute(logits, order), {-1, c});
  Tensor t = target.contiguous();
  int64_t m = rows.size(0);
  // q and its row sums (0 for an ignored row), built once from the targets.
  Tensor q = zeros({m, c}, logits.dtype());
  Tensor q_sum = zeros({m, 1}, logits.dtype());
  const int64_t* tp = t.data_ptr<int64_t>();
  double total_weight = 0;
  visit_floating(logits.dtype(), "cross_entropy", [&]<typename T>() {
    Tensor w = a.weight.defined() ? a.weight.detach().contiguous() : ones({c}, logits.dtype());
    const T* wp = w.data_ptr<T>();
    T* qp = q.data_ptr<T>();
    T* sp = q_sum.data_ptr<T>();
    for (int64_t r = 0; r < m; ++r) {
      if (tp[r] == a.ignore_index) continue;
      if (tp[r] < 0 || tp[r] >= c)
        fail("cross_entropy: target ", tp[r], " is out of range for ", c, " classes");
      total_weight += wp[tp[r]];
      T row_sum = 0;
      for (int64_t k = 0; k < c; ++k) row_sum += qp[r * c + k] = T(a.label_smoothing / c) * wp[k];
      qp[r * c + tp[r]] += T(1 - a.label_smoothing) * wp[tp[r]];
      sp[r] = row_sum + T(1 - a.label_smoothing) * wp[tp[r]];
    }
  });
  Tensor per_row;
  {
    NoGradGuard no_grad;
    per_row = reshape(neg(sum(q * log_softmax(rows, 1), {1})), shape_of(target));
  }
  Tensor loss = a.reduction == Reduction::Sum    ? sum(per_row)
                : a.reduction == Reduction::Mean ? sum(per_row) / total_weight
                                                 : per_row;
  double scale = a.reduction == Reduction::Mean ? 1.0 / total_weight : 1.0;
  Reduction reduction = a.reduction;
  Tensor y = record("cross_entropy", loss.detach(), {logits},
                    [rows_saved = save(rows), q, q_sum, scale, reduction, order, m,
                     logits_shape = shape_of(logits)](const Tensor& g, const Needs&) {
                      Tensor gr = reduction == Reduction::None ? reshape(g, {m, 1}) : g * scale;
                      Tensor d = (softmax(rows_saved.unpack(), 1) * q_sum - q) * gr;
                      Shape permuted;  // the (N, d..., C) shape rows came from
                      for (int64_t o : order) permuted.push_back(logits_shape[o]);
                      Shape inverse(order.size());
                      for (size_t i = 0; i < order.size(); ++i) inverse[order[i]] = int64_t(i);
                      return grads{permute(reshape(d, permuted), inverse)};
                    });
  return y;
}

// loss = -log_probs[target] per row, ignored rows excluded      (composite)
// loss_i = -w[t_i] log_probs[i, t_i] (w = 1 without weights); the mean is sum(loss) / sum(w[t_i])
// over the targets not ignored, as PyTorch's.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossArgs& a) {
  profiler::Scope scope("nll_loss");
  if (log_probs.dim() != 2 || target.dtype() != kInt64 || target.dim() != 1 ||
      target.size(0) != log_probs.size(0))
    fail("nll_loss: expected log_probs (N, C) and int64 targets (N), got ",
         shape_str(log_probs.sizes()), " and ", target.dtype(), " ", shape_str(target.sizes()));
  int64_t c = log_probs.size(1);
  if (a.weight.defined() &&
      (a.weight.dim() != 1 || a.weight.size(0) != c || a.weight.dtype() != log_probs.dtype()))
    fail("nll_loss: expected a weight of ", c, " ", log_probs.dtype(), " values, got ",
         a.weight.dtype(), " ", shape_str(a.weight.sizes()));
  Tensor valid = ne(target, a.ignore_index);
  Tensor safe = where(valid, target, 0);
  Tensor picked = squeeze(gather(log_probs, 1, unsqueeze(safe, 1)), 1);
  Tensor w = to(valid, log_probs.dtype());
  if (a.weight.defined()) w = w * index_select(a.weight.detach(), 0, safe);
  Tensor loss = neg(where(valid, picked, 0.0)) * w;
  if (a.reduction == Reduction::Mean) return sum(loss) / sum(w);
  return reduce(loss, a.reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {  // (composite)
  profiler::Scope scope("mse_loss");
  Tensor d = input - target;
  return reduce(d * d, reduction);
}

// l = softplus(x) - x y = -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))
// dx = (sigmoid(x) - y) g      dy = -x g
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction) {
  profiler::Scope scope("binary_cross_entropy_with_logits");
  Tensor l;
  {
    NoGradGuard no_grad;
    l = softplus(logits, 1.0, INFINITY) - logits * target;
  }
  Tensor y = record("binary_cross_entropy_with_logits", l, {logits, target},
                    [x = save(logits), t = save(target)](const Tensor& g, const Needs& needs) {
                      Tensor xv = x.unpack();
                      return grads{needs[0] ? (sigmoid(xv) - t.unpack()) * g : Tensor(),
                                   needs[1] ? neg(xv) * g : Tensor()};
                    });
  return reduce(y, reduction);
}

}  // namespace ember::nn::functional

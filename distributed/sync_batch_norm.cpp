// SyncBatchNorm; see sync_batch_norm.h.
#include "sync_batch_norm.h"

#include <sstream>

#include "../autograd/function.h"
#include "../autograd/grad_mode.h"
#include "../core/kernels/norm.h"
#include "process_group.h"

namespace ember::distributed {

using autograd::grads;
using autograd::Needs;

namespace {

// A per-channel vector (C) shaped to broadcast against (N, C, d...).
Tensor per_channel(const Tensor& v, int64_t rank) {
  Shape s(rank, 1);
  s[1] = v.size(0);
  return reshape(v, s);
}

// Sums `parts` (each (C)) across ranks in one all-reduce, in float64.
std::vector<Tensor> all_reduce_sums(const std::vector<Tensor>& parts) {
  std::vector<Tensor> wide;
  for (const Tensor& p : parts) wide.push_back(to(p, kFloat64));
  Tensor packed = cat(wide, 0);
  if (is_initialized() && get_world_size() > 1)
    all_reduce(packed, ReduceOp::Sum, /*check_shapes=*/false);
  std::vector<Tensor> sums;
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    sums.push_back(narrow(packed, 0, offset, p.numel()));
    offset += p.numel();
  }
  return sums;
}

}  // namespace

// Each rank's n values per channel have mean m_r and variance v_r (kernels::batch_norm_stats,
// accumulated in double); summed over ranks in float64, Σ n m_r and Σ n (v_r + m_r²) give
// mean = Σ n m_r / M and var = Σ n (v_r + m_r²) / M - mean², M values in all.
// y = (x - mean) invstd w + b.
// Backward, with local g: the global Σ g and Σ g xhat (one all-reduce), then
//   dx = invstd w (g - Σ g / M - xhat Σ g xhat / M),  dw = Σ_local g xhat,  db = Σ_local g,
// so dx is the gradient of every rank's loss together, and DistributedDataParallel's average
// of dw, db over ranks is the global batch's.
Tensor sync_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, double momentum, double eps) {
  if (x.dim() < 2) fail("sync_batch_norm: expected (N, C, ...), got ", shape_str(x.sizes()));
  int64_t rank = x.dim(), c = x.size(1);
  Tensor mean, invstd;
  double count = 0;
  {
    NoGradGuard no_grad;
    double n = static_cast<double>(x.numel() / std::max<int64_t>(c, 1));
    auto [local_mean, local_var] = kernels::batch_norm_stats(x.detach());
    Tensor m_r = to(local_mean, kFloat64), v_r = to(local_var, kFloat64);
    auto sums = all_reduce_sums({m_r * n, (v_r + m_r * m_r) * n, full({1}, n, kFloat64)});
    count = sums[2].item<double>();
    if (count <= 1)
      fail("sync_batch_norm: expected more than 1 value per channel across ranks, got input ",
           shape_str(x.sizes()));
    Tensor m = sums[0] / count;
    Tensor var = clamp(sums[1] / count - m * m, 0.0, std::nullopt);
    if (running_mean.defined()) {
      running_mean.copy_(running_mean * (1 - momentum) + to(m, running_mean.dtype()) * momentum);
      running_var.copy_(running_var * (1 - momentum) +
                        to(var, running_var.dtype()) * (momentum * count / (count - 1)));
    }
    mean = to(m, x.dtype());
    invstd = to(rsqrt(var + eps), x.dtype());
  }
  Tensor y = kernels::batch_norm_apply(x.detach(), mean, invstd,
                                       weight.defined() ? weight.detach() : weight,
                                       bias.defined() ? bias.detach() : bias);
  return autograd::record(
      "sync_batch_norm", y, {x, weight, bias},
      [x = autograd::save(x), weight = autograd::save(weight), mean, invstd, count, rank](
          const Tensor& g, const Needs& needs) {
        check(!GradMode::is_enabled(),
              "sync_batch_norm: no second derivative (backward with create_graph)");
        Tensor xs = x.unpack(), w = weight.unpack();
        // The local Σ g xhat and Σ g: the batch-norm kernel's weight and bias gradients.
        kernels::BatchNormGrads local =
            kernels::batch_norm_backward(g, xs, mean, invstd, w, true, false, true, true);
        Tensor sum_g_xhat = local.weight, sum_g = local.bias;
        Tensor dx;
        if (needs[0]) {
          Tensor xhat = (xs - per_channel(mean, rank)) * per_channel(invstd, rank);
          auto global = all_reduce_sums({sum_g, sum_g_xhat});
          Tensor mean_g = to(global[0] / count, g.dtype());
          Tensor mean_g_xhat = to(global[1] / count, g.dtype());
          Tensor scale = w.defined() ? invstd * w : invstd;
          dx = per_channel(scale, rank) *
               (g - per_channel(mean_g, rank) - xhat * per_channel(mean_g_xhat, rank));
        }
        return grads{dx, needs[1] ? sum_g_xhat : Tensor(), needs[2] ? sum_g : Tensor()};
      });
}

SyncBatchNorm::SyncBatchNorm(const nn::BatchNormConfig& o)
    : SyncBatchNorm(o, {ones({o.num_features}), zeros({o.num_features}), zeros({o.num_features}),
                        ones({o.num_features}), zeros({}, kInt64)}) {}

SyncBatchNorm::SyncBatchNorm(const nn::BatchNormConfig& o, std::array<Tensor, 5> state)
    : Module("SyncBatchNorm"), options(o) {
  if (o.affine) {
    weight = register_parameter("weight", state[0]);
    bias = register_parameter("bias", state[1]);
  }
  if (o.track_running_stats) {
    running_mean = register_buffer("running_mean", state[2]);
    running_var = register_buffer("running_var", state[3]);
    num_batches_tracked = register_buffer("num_batches_tracked", state[4]);
  }
}

Tensor SyncBatchNorm::forward(const Tensor& x) {
  if (x.dim() < 2 || x.size(1) != options.num_features)
    fail("SyncBatchNorm: expected input (N, ", options.num_features, ", ...), got ",
         shape_str(x.sizes()));
  if (!is_training() && options.track_running_stats)
    return nn::functional::batch_norm(x, running_mean, running_var, weight, bias, false,
                                      options.momentum, options.eps);
  if (options.track_running_stats) {
    NoGradGuard no_grad;
    num_batches_tracked.copy_(num_batches_tracked + int64_t{1});
  }
  return sync_batch_norm(x, running_mean, running_var, weight, bias, options.momentum, options.eps);
}

std::string SyncBatchNorm::extra_repr() const {
  std::ostringstream out;
  out << options.num_features << ", eps=" << options.eps << ", momentum=" << options.momentum
      << ", affine=" << (options.affine ? "True" : "False")
      << ", track_running_stats=" << (options.track_running_stats ? "True" : "False");
  return out.str();
}

void convert_sync_batchnorm(nn::Module& module) {
  for (auto& [name, child] : module.named_children()) {
    std::shared_ptr<nn::Module> replacement;
    if (auto bn = std::dynamic_pointer_cast<nn::BatchNorm2dImpl>(child))
      replacement = std::make_shared<SyncBatchNorm>(*bn);
    if (auto bn = std::dynamic_pointer_cast<nn::BatchNorm1dImpl>(child))
      replacement = std::make_shared<SyncBatchNorm>(*bn);
    if (replacement) {
      replacement->train(child->is_training());
      module.replace_module(name, replacement);
    } else {
      convert_sync_batchnorm(*child);
    }
  }
}

}  // namespace ember::distributed

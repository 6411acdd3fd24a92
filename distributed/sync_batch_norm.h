// SyncBatchNorm: batch normalisation whose training statistics are those of the global batch,
// all ranks' samples together, as torch.nn.SyncBatchNorm. With per-rank statistics a model
// trained on N ranks of batch B would normalise differently from the same model on one process
// of batch N*B; with these it does not. Parameter and buffer names are BatchNorm's.
// Read next: ../examples/train_fashion_mnist.cpp (--distributed).
#pragma once

#include <array>

#include "../nn/layers.h"

namespace ember::distributed {

/// Training-mode batch norm over x: (N, C, ...) with statistics summed across ranks; updates
/// running_mean / running_var (unbiased, over the global count) in place. Its backward
/// all-reduces the two per-channel sums dx needs, so every rank gets the gradient of the
/// global batch's loss. No second derivative (neither has PyTorch's).
Tensor sync_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, double momentum = 0.1,
                       double eps = 1e-5);

class SyncBatchNorm : public nn::Module {
 public:
  explicit SyncBatchNorm(const nn::BatchNormConfig& options);
  /// Takes over a batch norm's parameters and buffers (the same tensors).
  template <int Dims>
  explicit SyncBatchNorm(const nn::BatchNormImpl<Dims>& bn)
      : SyncBatchNorm(bn.options, {bn.weight, bn.bias, bn.running_mean, bn.running_var,
                                   bn.num_batches_tracked}) {}
  /// Training: global statistics (sync_batch_norm); eval: the running statistics.
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  nn::BatchNormConfig options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  SyncBatchNorm(const nn::BatchNormConfig& options, std::array<Tensor, 5> state);
};

/// Replaces every BatchNorm1d/2d child in `module`'s tree by a SyncBatchNorm holding the same
/// parameters and buffers (shared, not copied), as torch.nn.SyncBatchNorm.convert_sync_batchnorm.
/// NOTE: a module that calls a batch norm through its own handle rather than as a child (in a
/// Sequential, say) keeps calling the old layer.
void convert_sync_batchnorm(nn::Module& module);

}  // namespace ember::distributed

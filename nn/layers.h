// The layers, as torch::nn, with options as aggregate structs:
//   auto conv = nn::Conv2d(nn::Conv2dConfig{.in_channels = 1,
//                                            .out_channels = 32, .kernel_size = 3, .padding = 1});
// Parameter and buffer names match PyTorch's (weight, bias, running_mean, ...), and every layer
// starts from PyTorch's default initialisation. Formulas live in the nn::functional
// ops they call (functional.h).
// Read next: optim/optimizer.h.
#pragma once

#include <functional>
#include <string>

#include "containers.h"
#include "functional.h"
#include "module.h"

namespace ember::nn {

struct LinearConfig {
  int64_t in_features = 0, out_features = 0;
  bool bias = true;
};

/// y = x W^T + b. weight: (out, in); bias: (out).
class LinearImpl : public Module {
 public:
  explicit LinearImpl(const LinearConfig& options);
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true)
      : LinearImpl(LinearConfig{in_features, out_features, bias}) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  LinearConfig options;
  Tensor weight, bias;
};
using Linear = ModuleHolder<LinearImpl>;

struct Conv2dConfig {
  int64_t in_channels = 0, out_channels = 0;
  Pair kernel_size = 1, stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

/// 2-D convolution. weight: (out, in/groups, kh, kw); bias: (out).
class Conv2dImpl : public Module {
 public:
  explicit Conv2dImpl(const Conv2dConfig& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  Conv2dConfig options;
  Tensor weight, bias;
};
using Conv2d = ModuleHolder<Conv2dImpl>;

struct Conv1dConfig {
  int64_t in_channels = 0, out_channels = 0, kernel_size = 1;
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
};

/// 1-d convolution over (N, C, L). weight: (out, in/groups, k); bias: (out).
class Conv1dImpl : public Module {
 public:
  explicit Conv1dImpl(const Conv1dConfig& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Conv1dConfig options;
  Tensor weight, bias;
};
using Conv1d = ModuleHolder<Conv1dImpl>;

struct ConvTranspose2dConfig {
  int64_t in_channels = 0, out_channels = 0;
  Pair kernel_size = 1, stride = 1, padding = 0, output_padding = 0;
  int64_t groups = 1;
  bool bias = true;
  Pair dilation = 1;
};

/// Transposed 2-D convolution (a decoder's learned upsampling). weight: (in, out/groups, kh, kw);
/// bias: (out). See functional::conv_transpose2d for the output size.
class ConvTranspose2dImpl : public Module {
 public:
  explicit ConvTranspose2dImpl(const ConvTranspose2dConfig& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  ConvTranspose2dConfig options;
  Tensor weight, bias;
};
using ConvTranspose2d = ModuleHolder<ConvTranspose2dImpl>;

struct BatchNormConfig {
  int64_t num_features = 0;
  double eps = 1e-5, momentum = 0.1;
  bool affine = true, track_running_stats = true;
};

/// Batch normalisation over (N, C) (Dims = 1, also (N, C, L)) or (N, C, H, W) (Dims = 2).
/// Training uses batch statistics and updates running_mean / running_var; eval uses those.
template <int Dims>
class BatchNormImpl : public Module {
 public:
  explicit BatchNormImpl(const BatchNormConfig& options);
  explicit BatchNormImpl(int64_t num_features) : BatchNormImpl(BatchNormConfig{num_features}) {}
  Tensor forward(const Tensor& x) override;
  /// relu(forward(x)) as one op (F::batch_norm_relu); Sequential calls it for a BatchNorm
  /// followed by a ReLU.
  Tensor forward_relu(const Tensor& x);
  std::string extra_repr() const override;
  BatchNormConfig options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  Tensor normalize(const Tensor& x, bool relu);
};
using BatchNorm1dImpl = BatchNormImpl<1>;
using BatchNorm2dImpl = BatchNormImpl<2>;
using BatchNorm1d = ModuleHolder<BatchNorm1dImpl>;
using BatchNorm2d = ModuleHolder<BatchNorm2dImpl>;

struct LayerNormConfig {
  Shape normalized_shape;
  double eps = 1e-5;
  bool elementwise_affine = true;
};

class LayerNormImpl : public Module {
 public:
  explicit LayerNormImpl(const LayerNormConfig& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  LayerNormConfig options;
  Tensor weight, bias;
};
using LayerNorm = ModuleHolder<LayerNormImpl>;

struct GroupNormConfig {
  int64_t num_groups = 1, num_channels = 0;
  double eps = 1e-5;
  bool affine = true;
};

class GroupNormImpl : public Module {
 public:
  explicit GroupNormImpl(const GroupNormConfig& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  GroupNormConfig options;
  Tensor weight, bias;
};
using GroupNorm = ModuleHolder<GroupNormImpl>;

struct Pool2dConfig {
  Pair kernel_size = 1;
  std::optional<Pair> stride = std::nullopt;  // defaults to kernel_size
  Pair padding = 0, dilation = 1;
};

class MaxPool2dImpl : public Module {
 public:
  explicit MaxPool2dImpl(const Pool2dConfig& options) : Module("MaxPool2d"), options(options) {}
  explicit MaxPool2dImpl(int64_t kernel_size)
      : MaxPool2dImpl(Pool2dConfig{.kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Pool2dConfig options;
};
using MaxPool2d = ModuleHolder<MaxPool2dImpl>;

class AvgPool2dImpl : public Module {
 public:
  explicit AvgPool2dImpl(const Pool2dConfig& options) : Module("AvgPool2d"), options(options) {}
  explicit AvgPool2dImpl(int64_t kernel_size)
      : AvgPool2dImpl(Pool2dConfig{.kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Pool2dConfig options;
};
using AvgPool2d = ModuleHolder<AvgPool2dImpl>;

struct Pool1dConfig {
  int64_t kernel_size = 1;
  std::optional<int64_t> stride = std::nullopt;  // defaults to kernel_size
  int64_t padding = 0, dilation = 1;
};

class MaxPool1dImpl : public Module {
 public:
  explicit MaxPool1dImpl(const Pool1dConfig& options) : Module("MaxPool1d"), options(options) {}
  Tensor forward(const Tensor& x) override;
  Pool1dConfig options;
};
using MaxPool1d = ModuleHolder<MaxPool1dImpl>;

class AvgPool1dImpl : public Module {
 public:
  explicit AvgPool1dImpl(const Pool1dConfig& options) : Module("AvgPool1d"), options(options) {}
  Tensor forward(const Tensor& x) override;
  Pool1dConfig options;
};
using AvgPool1d = ModuleHolder<AvgPool1dImpl>;

class AdaptiveAvgPool2dImpl : public Module {
 public:
  explicit AdaptiveAvgPool2dImpl(Pair output_size)
      : Module("AdaptiveAvgPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Pair output_size;
};
using AdaptiveAvgPool2d = ModuleHolder<AdaptiveAvgPool2dImpl>;

class AdaptiveMaxPool2dImpl : public Module {
 public:
  explicit AdaptiveMaxPool2dImpl(Pair output_size)
      : Module("AdaptiveMaxPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Pair output_size;
};
using AdaptiveMaxPool2d = ModuleHolder<AdaptiveMaxPool2dImpl>;

/// Resizes (N, C, H, W) by nearest or bilinear interpolation; see functional::interpolate.
class UpsampleImpl : public Module {
 public:
  explicit UpsampleImpl(const InterpolateArgs& options) : Module("Upsample"), options(options) {}
  Tensor forward(const Tensor& x) override { return functional::interpolate(x, options); }
  std::string extra_repr() const override;
  InterpolateArgs options;
};
using Upsample = ModuleHolder<UpsampleImpl>;

/// Zeroes whole channels with probability p when training; see functional::dropout2d.
class Dropout2dImpl : public Module {
 public:
  explicit Dropout2dImpl(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double p;
};
using Dropout2d = ModuleHolder<Dropout2dImpl>;

class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double p;
};
using Dropout = ModuleHolder<DropoutImpl>;

struct EmbeddingConfig {
  int64_t num_embeddings = 0, embedding_dim = 0;
};

/// A lookup table: int64 indices (...) -> (..., embedding_dim). weight ~ N(0, 1), as PyTorch.
class EmbeddingImpl : public Module {
 public:
  explicit EmbeddingImpl(const EmbeddingConfig& options);
  Tensor forward(const Tensor& indices) override;
  std::string extra_repr() const override;
  EmbeddingConfig options;
  Tensor weight;
};
using Embedding = ModuleHolder<EmbeddingImpl>;

/// Activations and shape layers without parameters.
class ReLUImpl : public Module {
 public:
  ReLUImpl() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override { return relu(x); }
};
using ReLU = ModuleHolder<ReLUImpl>;
class LeakyReLUImpl : public Module {
 public:
  explicit LeakyReLUImpl(double negative_slope = 0.01)
      : Module("LeakyReLU"), slope(negative_slope) {}
  Tensor forward(const Tensor& x) override { return functional::leaky_relu(x, slope); }
  std::string extra_repr() const override;
  double slope;
};
using LeakyReLU = ModuleHolder<LeakyReLUImpl>;
class GELUImpl : public Module {
 public:
  /// approximate: "none" (exact, with erf) or "tanh".
  explicit GELUImpl(std::string approximate = "none");
  Tensor forward(const Tensor& x) override { return functional::gelu(x, approximate == "tanh"); }
  std::string extra_repr() const override { return "approximate='" + approximate + "'"; }
  std::string approximate;
};
using GELU = ModuleHolder<GELUImpl>;
class SiLUImpl : public Module {
 public:
  SiLUImpl() : Module("SiLU") {}
  Tensor forward(const Tensor& x) override { return functional::silu(x); }
};
using SiLU = ModuleHolder<SiLUImpl>;
class HardswishImpl : public Module {
 public:
  HardswishImpl() : Module("Hardswish") {}
  Tensor forward(const Tensor& x) override { return functional::hardswish(x); }
};
using Hardswish = ModuleHolder<HardswishImpl>;
class MishImpl : public Module {
 public:
  MishImpl() : Module("Mish") {}
  Tensor forward(const Tensor& x) override { return functional::mish(x); }
};
using Mish = ModuleHolder<MishImpl>;
struct PReLUConfig {
  int64_t num_parameters = 1;  // 1, or the input's channel count (dim 1)
  double init = 0.25;
};
/// max(0, x) + weight * min(0, x) with a learned slope: parameter "weight" (num_parameters).
class PReLUImpl : public Module {
 public:
  explicit PReLUImpl(const PReLUConfig& options = {});
  Tensor forward(const Tensor& x) override { return functional::prelu(x, weight); }
  std::string extra_repr() const override;
  PReLUConfig options;
  Tensor weight;
};
using PReLU = ModuleHolder<PReLUImpl>;
/// (N, C r², H, W) -> (N, C, H r, W r); see functional::pixel_shuffle.
class PixelShuffleImpl : public Module {
 public:
  explicit PixelShuffleImpl(int64_t upscale_factor)
      : Module("PixelShuffle"), upscale_factor(upscale_factor) {}
  Tensor forward(const Tensor& x) override { return functional::pixel_shuffle(x, upscale_factor); }
  std::string extra_repr() const override {
    return "upscale_factor=" + std::to_string(upscale_factor);
  }
  int64_t upscale_factor;
};
using PixelShuffle = ModuleHolder<PixelShuffleImpl>;
class SigmoidImpl : public Module {
 public:
  SigmoidImpl() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
};
using Sigmoid = ModuleHolder<SigmoidImpl>;
class TanhImpl : public Module {
 public:
  TanhImpl() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override { return tanh(x); }
};
using Tanh = ModuleHolder<TanhImpl>;
class SoftmaxImpl : public Module {
 public:
  explicit SoftmaxImpl(int64_t dim) : Module("Softmax"), dim(dim) {}
  Tensor forward(const Tensor& x) override { return softmax(x, dim); }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  int64_t dim;
};
using Softmax = ModuleHolder<SoftmaxImpl>;
class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(int64_t start_dim = 1, int64_t end_dim = -1)
      : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_dim, end_dim); }
  std::string extra_repr() const override;
  int64_t start_dim, end_dim;
};
using Flatten = ModuleHolder<FlattenImpl>;
class IdentityImpl : public Module {
 public:
  IdentityImpl() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};
using Identity = ModuleHolder<IdentityImpl>;

}  // namespace ember::nn

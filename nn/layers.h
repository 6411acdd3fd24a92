// The layers, as torch::nn, with options as aggregate structs:
//   auto conv = std::make_shared<nn::Conv2d>(nn::Conv2dOptions{.in_channels = 1,
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

struct LinearOptions {
  int64_t in_features = 0, out_features = 0;
  bool bias = true;
};

/// y = x W^T + b. weight: (out, in); bias: (out).
class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& options);
  Linear(int64_t in_features, int64_t out_features, bool bias = true)
      : Linear(LinearOptions{in_features, out_features, bias}) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  LinearOptions options;
  Tensor weight, bias;
};

struct Conv2dOptions {
  int64_t in_channels = 0, out_channels = 0;
  Pair kernel_size = 1, stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

/// 2-D convolution. weight: (out, in/groups, kh, kw); bias: (out).
class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  Conv2dOptions options;
  Tensor weight, bias;
};

struct Conv1dOptions {
  int64_t in_channels = 0, out_channels = 0, kernel_size = 1;
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
};

/// 1-d convolution over (N, C, L). weight: (out, in/groups, k); bias: (out).
class Conv1d : public Module {
 public:
  explicit Conv1d(const Conv1dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Conv1dOptions options;
  Tensor weight, bias;
};

struct ConvTranspose2dOptions {
  int64_t in_channels = 0, out_channels = 0;
  Pair kernel_size = 1, stride = 1, padding = 0, output_padding = 0;
  int64_t groups = 1;
  bool bias = true;
  Pair dilation = 1;
};

/// Transposed 2-D convolution (a decoder's learned upsampling). weight: (in, out/groups, kh, kw);
/// bias: (out). See functional::conv_transpose2d for the output size.
class ConvTranspose2d : public Module {
 public:
  explicit ConvTranspose2d(const ConvTranspose2dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  ConvTranspose2dOptions options;
  Tensor weight, bias;
};

struct BatchNormOptions {
  int64_t num_features = 0;
  double eps = 1e-5, momentum = 0.1;
  bool affine = true, track_running_stats = true;
};

/// Batch normalisation over (N, C) (Dims = 1, also (N, C, L)) or (N, C, H, W) (Dims = 2).
/// Training uses batch statistics and updates running_mean / running_var; eval uses those.
template <int Dims>
class BatchNorm : public Module {
 public:
  explicit BatchNorm(const BatchNormOptions& options);
  explicit BatchNorm(int64_t num_features) : BatchNorm(BatchNormOptions{num_features}) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  BatchNormOptions options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};
using BatchNorm1d = BatchNorm<1>;
using BatchNorm2d = BatchNorm<2>;

struct LayerNormOptions {
  Shape normalized_shape;
  double eps = 1e-5;
  bool elementwise_affine = true;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(const LayerNormOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  LayerNormOptions options;
  Tensor weight, bias;
};

struct GroupNormOptions {
  int64_t num_groups = 1, num_channels = 0;
  double eps = 1e-5;
  bool affine = true;
};

class GroupNorm : public Module {
 public:
  explicit GroupNorm(const GroupNormOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  GroupNormOptions options;
  Tensor weight, bias;
};

struct Pool2dOptions {
  Pair kernel_size = 1;
  std::optional<Pair> stride = std::nullopt;  // defaults to kernel_size
  Pair padding = 0, dilation = 1;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const Pool2dOptions& options) : Module("MaxPool2d"), options(options) {}
  explicit MaxPool2d(int64_t kernel_size) : MaxPool2d(Pool2dOptions{.kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Pool2dOptions options;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const Pool2dOptions& options) : Module("AvgPool2d"), options(options) {}
  explicit AvgPool2d(int64_t kernel_size) : AvgPool2d(Pool2dOptions{.kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Pool2dOptions options;
};

struct Pool1dOptions {
  int64_t kernel_size = 1;
  std::optional<int64_t> stride = std::nullopt;  // defaults to kernel_size
  int64_t padding = 0, dilation = 1;
};

class MaxPool1d : public Module {
 public:
  explicit MaxPool1d(const Pool1dOptions& options) : Module("MaxPool1d"), options(options) {}
  Tensor forward(const Tensor& x) override;
  Pool1dOptions options;
};

class AvgPool1d : public Module {
 public:
  explicit AvgPool1d(const Pool1dOptions& options) : Module("AvgPool1d"), options(options) {}
  Tensor forward(const Tensor& x) override;
  Pool1dOptions options;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Pair output_size)
      : Module("AdaptiveAvgPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Pair output_size;
};

class AdaptiveMaxPool2d : public Module {
 public:
  explicit AdaptiveMaxPool2d(Pair output_size)
      : Module("AdaptiveMaxPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Pair output_size;
};

/// Resizes (N, C, H, W) by nearest or bilinear interpolation; see functional::interpolate.
class Upsample : public Module {
 public:
  explicit Upsample(const InterpolateArgs& options) : Module("Upsample"), options(options) {}
  Tensor forward(const Tensor& x) override { return functional::interpolate(x, options); }
  std::string extra_repr() const override;
  InterpolateArgs options;
};

/// Zeroes whole channels with probability p when training; see functional::dropout2d.
class Dropout2d : public Module {
 public:
  explicit Dropout2d(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double p;
};

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double p;
};

struct EmbeddingOptions {
  int64_t num_embeddings = 0, embedding_dim = 0;
};

/// A lookup table: int64 indices (...) -> (..., embedding_dim). weight ~ N(0, 1), as PyTorch.
class Embedding : public Module {
 public:
  explicit Embedding(const EmbeddingOptions& options);
  Tensor forward(const Tensor& indices) override;
  std::string extra_repr() const override;
  EmbeddingOptions options;
  Tensor weight;
};

/// Activations and shape layers without parameters.
class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override { return relu(x); }
};
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : Module("LeakyReLU"), slope(negative_slope) {}
  Tensor forward(const Tensor& x) override { return functional::leaky_relu(x, slope); }
  std::string extra_repr() const override;
  double slope;
};
class GELU : public Module {
 public:
  /// approximate: "none" (exact, with erf) or "tanh".
  explicit GELU(std::string approximate = "none");
  Tensor forward(const Tensor& x) override { return functional::gelu(x, approximate == "tanh"); }
  std::string extra_repr() const override { return "approximate='" + approximate + "'"; }
  std::string approximate;
};
class SiLU : public Module {
 public:
  SiLU() : Module("SiLU") {}
  Tensor forward(const Tensor& x) override { return functional::silu(x); }
};
class Hardswish : public Module {
 public:
  Hardswish() : Module("Hardswish") {}
  Tensor forward(const Tensor& x) override { return functional::hardswish(x); }
};
class Mish : public Module {
 public:
  Mish() : Module("Mish") {}
  Tensor forward(const Tensor& x) override { return functional::mish(x); }
};
struct PReLUOptions {
  int64_t num_parameters = 1;  // 1, or the input's channel count (dim 1)
  double init = 0.25;
};
/// max(0, x) + weight * min(0, x) with a learned slope: parameter "weight" (num_parameters).
class PReLU : public Module {
 public:
  explicit PReLU(const PReLUOptions& options = {});
  Tensor forward(const Tensor& x) override { return functional::prelu(x, weight); }
  std::string extra_repr() const override;
  PReLUOptions options;
  Tensor weight;
};
/// (N, C r², H, W) -> (N, C, H r, W r); see functional::pixel_shuffle.
class PixelShuffle : public Module {
 public:
  explicit PixelShuffle(int64_t upscale_factor)
      : Module("PixelShuffle"), upscale_factor(upscale_factor) {}
  Tensor forward(const Tensor& x) override { return functional::pixel_shuffle(x, upscale_factor); }
  std::string extra_repr() const override {
    return "upscale_factor=" + std::to_string(upscale_factor);
  }
  int64_t upscale_factor;
};
class Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
};
class Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override { return tanh(x); }
};
class Softmax : public Module {
 public:
  explicit Softmax(int64_t dim) : Module("Softmax"), dim(dim) {}
  Tensor forward(const Tensor& x) override { return softmax(x, dim); }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  int64_t dim;
};
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_dim, end_dim); }
  std::string extra_repr() const override;
  int64_t start_dim, end_dim;
};
class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};

}  // namespace ember::nn

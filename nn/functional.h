// ember::nn::functional: the stateless layer ops, as torch.nn.functional, and the one list of
// them. Most are composites of autograd ops and need no backward code; the rest record their own
// (linear, unfold/fold, conv2d, max_pool2d, the normalizations, cross_entropy,
// binary_cross_entropy_with_logits, gelu, softplus). The definitions are grouped by topic, as
// PyTorch's documentation groups them: linear.cpp, convolution.cpp, pooling.cpp,
// normalization.cpp, loss.cpp, activation.cpp, dropout.cpp, vision.cpp.
// The gradient-check table in tests/test_gradcheck_nn.cpp must name every op declared here.
#pragma once

#include <optional>

#include "../autograd/ops.h"

namespace ember::nn {

/// Two sizes (height, width): Pair(3) is (3, 3), Pair{3, 1} is (3, 1).
struct Pair {
  int64_t h, w;
  Pair(int64_t v) : h(v), w(v) {}  // NOLINT: implicit, so `.kernel_size = 3` works
  Pair(int64_t h_, int64_t w_) : h(h_), w(w_) {}
};

enum class Reduction { None, Mean, Sum };

struct ConvArgs {
  Pair stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
};

struct PoolArgs {
  std::optional<Pair> stride = std::nullopt;  // defaults to the kernel size, as in PyTorch
  Pair padding = 0, dilation = 1;
};

/// The 1-d ops' arguments: one number where the 2-d ops take a pair.
struct Conv1dArgs {
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
};
struct Pool1dArgs {
  std::optional<int64_t> stride = std::nullopt;  // defaults to the kernel size
  int64_t padding = 0, dilation = 1;
};

/// conv_transpose2d's arguments, in torch.nn.functional.conv_transpose2d's order.
struct ConvTransposeArgs {
  Pair stride = 1, padding = 0, output_padding = 0;
  int64_t groups = 1;
  Pair dilation = 1;
};

/// Two scale factors (height, width); ScalePair(2.0) scales both by 2.
struct ScalePair {
  double h, w;
  ScalePair(double v) : h(v), w(v) {}  // NOLINT: implicit, so `.scale_factor = 2.0` works
  ScalePair(double h_, double w_) : h(h_), w(w_) {}
};

enum class Interpolation { Nearest, Bilinear };

/// interpolate's options: give either size or scale_factor, as PyTorch.
struct InterpolateArgs {
  std::optional<Pair> size = std::nullopt;
  std::optional<ScalePair> scale_factor = std::nullopt;
  Interpolation mode = Interpolation::Nearest;
  bool align_corners = false;  // bilinear only: corner pixels' centres map onto each other
};

enum class PadMode { Constant, Reflect, Replicate };

struct CrossEntropyArgs {
  Tensor weight = {};  // (C): a rescaling weight per class, as PyTorch's; not differentiated
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
  Reduction reduction = Reduction::Mean;
};
struct NLLLossArgs {
  Tensor weight = {};  // (C), as CrossEntropyArgs's; the mean divides by the targets' weights
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};

namespace functional {

/// y = x @ weight^T + bias. x: (..., in); weight: (out, in); bias: (out) or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
/// Sliding patches: (N, C, H, W) -> (N, C*kh*kw, L), as torch.nn.functional.unfold.
Tensor unfold(const Tensor& x, Pair kernel_size, Pair dilation = 1, Pair padding = 0,
              Pair stride = 1);
/// The adjoint of unfold: sums patches back into (N, C, H, W) with H, W = output_size.
Tensor fold(const Tensor& cols, Pair output_size, Pair kernel_size, Pair dilation = 1,
            Pair padding = 0, Pair stride = 1);
/// 2-D convolution (cross-correlation, as PyTorch). x: (N, C, H, W); weight:
/// (out, C/groups, kh, kw); bias: (out) or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
              const ConvArgs& args = {});
/// 1-d convolution, x: (N, C, L); weight: (out, C/groups, k): conv2d over a height of 1.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
              const Conv1dArgs& args = {});
/// The adjoint of conv2d with respect to its input ("deconvolution"): each input pixel scatters
/// weight * x into a kernel-sized window of the output. x: (N, C, H, W); weight:
/// (C, out/groups, kh, kw); bias: (out) or undefined. Output height
/// (H-1)*stride - 2*padding + dilation*(kh-1) + output_padding + 1, as PyTorch.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        const ConvTransposeArgs& args = {});
Tensor max_pool2d(const Tensor& x, Pair kernel_size, const PoolArgs& args = {});
/// Average over each window; zero padding counts toward the average (count_include_pad).
Tensor avg_pool2d(const Tensor& x, Pair kernel_size, const PoolArgs& args = {});
Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size);
/// 1-d pooling of x: (N, C, L) (or (C, L)): the 2-d ops over a height of 1.
Tensor max_pool1d(const Tensor& x, int64_t kernel_size, const Pool1dArgs& args = {});
Tensor avg_pool1d(const Tensor& x, int64_t kernel_size, const Pool1dArgs& args = {});
/// The maximum over each bin [floor(i*H/OH), ceil((i+1)*H/OH)) of x: (N, C, H, W).
Tensor adaptive_max_pool2d(const Tensor& x, Pair output_size);
/// Resizes (N, C, H, W) to args.size, or by args.scale_factor: nearest (the pixel at
/// floor(dst * in/out)) or bilinear, as torch.nn.functional.interpolate.
Tensor interpolate(const Tensor& x, const InterpolateArgs& args);
/// Pads the last dims: pads = {left, right} for the last dim, then {top, bottom} for the one
/// before, ... as torch.nn.functional.pad. Constant padding may be negative (crops); reflect
/// mirrors without repeating the edge (pad < size), replicate repeats the edge.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::Constant,
           double value = 0.0);
/// Batch norm over dims (0, 2, 3...) of x: (N, C, ...). In training, normalises with the batch
/// statistics and updates running_mean / running_var in place (unbiased variance), as PyTorch.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum = 0.1,
                  double eps = 1e-5);
/// relu(batch_norm(...)) as one op: the same values and gradients, one pass over x forward
/// and one over the gradient backward fewer (nn::Sequential runs a BatchNorm followed by a ReLU
/// through it).
Tensor batch_norm_relu(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, bool training,
                       double momentum = 0.1, double eps = 1e-5);
/// Normalises over the last normalized_shape.size() dims.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
/// log_softmax + nll in one op. logits: (N, C) or (N, C, d...); target: int64 (N) or (N, d...).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyArgs& args = {});
/// Negative log likelihood of log-probabilities (N, C); ignore_index rows count for nothing.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossArgs& args = {});
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// Stable sigmoid + binary cross-entropy; target holds probabilities.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);
/// Zeroes each element with probability p (from the seeded generator) and scales the rest by
/// 1/(1-p) when training; the identity otherwise.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);
/// Zeroes whole channels of x: (N, C, H, W) or (C, H, W), each with probability p, and scales
/// the rest by 1/(1-p) when training (Tompson et al. 2015's spatial dropout); the identity
/// otherwise.
Tensor dropout2d(const Tensor& x, double p = 0.5, bool training = true);
/// Rows of weight picked by int64 indices of any shape: result (indices..., dim).
Tensor embedding(const Tensor& indices, const Tensor& weight);
Tensor gelu(const Tensor& x, bool tanh_approximation = false);
Tensor silu(const Tensor& x);
/// log(1 + e^(beta x)) / beta, and x itself where beta x > threshold, as
/// torch.nn.functional.softplus (threshold = INFINITY: never).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// x * relu6(x + 3) / 6 (MobileNetV3's hard swish).
Tensor hardswish(const Tensor& x);
/// x * tanh(softplus(x)) (Misra 2019).
Tensor mish(const Tensor& x);
/// max(0, x) + weight * min(0, x); weight holds 1 value or one per channel (dim 1 of x).
Tensor prelu(const Tensor& x, const Tensor& weight);
/// (N, C r², H, W) -> (N, C, H r, W r): each group of r² channels becomes an r x r block of pixels
/// (Shi et al. 2016's sub-pixel convolution), as torch.nn.functional.pixel_shuffle.
Tensor pixel_shuffle(const Tensor& x, int64_t upscale_factor);

}  // namespace functional
}  // namespace ember::nn

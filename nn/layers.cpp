// Layer constructors (PyTorch's default initialisation), forwards and descriptions.
// Read next: optim/optimizer.h.
#include "layers.h"

#include <cmath>
#include <sstream>

#include "init.h"

namespace ember::nn {

namespace F = functional;

namespace {

std::string pair_str(Pair p) {
  std::ostringstream out;  // (not string operator+, which trips GCC 12's -Wrestrict at -O3)
  out << '(' << p.h << ", " << p.w << ')';
  return out.str();
}

// PyTorch's default: kaiming_uniform_(a = sqrt(5)) for the weight, which is U(+-1/sqrt(fan_in)),
// and U(+-1/sqrt(fan_in)) for the bias.
void default_init(const Tensor& weight, const Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    double bound = 1.0 / std::sqrt(static_cast<double>(init::fan_in_and_fan_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}

void check_groups(const char* layer, int64_t in, int64_t out, int64_t groups) {
  if (groups < 1 || in % groups || out % groups)
    fail(layer, ": ", in, " input and ", out, " output channels must both divide into ", groups,
         " groups");
}

// PyTorch's _ConvNd.extra_repr: the non-default settings only.
std::string conv_repr(int64_t in, int64_t out, Pair kernel, Pair stride, Pair padding,
                      Pair dilation, Pair output_padding, int64_t groups, bool bias) {
  std::ostringstream s;
  s << in << ", " << out << ", kernel_size=" << pair_str(kernel) << ", stride=" << pair_str(stride);
  if (padding.h || padding.w) s << ", padding=" << pair_str(padding);
  if (dilation.h != 1 || dilation.w != 1) s << ", dilation=" << pair_str(dilation);
  if (output_padding.h || output_padding.w) s << ", output_padding=" << pair_str(output_padding);
  if (groups != 1) s << ", groups=" << groups;
  if (!bias) s << ", bias=False";
  return s.str();
}

}  // namespace

LinearImpl::LinearImpl(const LinearConfig& o) : Module("Linear"), options(o) {
  if (o.in_features < 0 || o.out_features < 0)
    fail("Linear: feature counts must be non-negative, got ", o.in_features, " and ",
         o.out_features);
  weight = register_parameter("weight", empty({o.out_features, o.in_features}));
  if (o.bias) bias = register_parameter("bias", empty({o.out_features}));
  reset_parameters();
}

void LinearImpl::reset_parameters() { default_init(weight, bias); }

Tensor LinearImpl::forward(const Tensor& x) { return F::linear(x, weight, bias); }

std::string LinearImpl::extra_repr() const {
  return "in_features=" + std::to_string(options.in_features) +
         ", out_features=" + std::to_string(options.out_features) +
         ", bias=" + (options.bias ? "True" : "False");
}

Conv2dImpl::Conv2dImpl(const Conv2dConfig& o) : Module("Conv2d"), options(o) {
  check_groups("Conv2d", o.in_channels, o.out_channels, o.groups);
  weight = register_parameter("weight", empty({o.out_channels, o.in_channels / o.groups,
                                               o.kernel_size.h, o.kernel_size.w}));
  if (o.bias) bias = register_parameter("bias", empty({o.out_channels}));
  reset_parameters();
}

void Conv2dImpl::reset_parameters() { default_init(weight, bias); }

Tensor Conv2dImpl::forward(const Tensor& x) {
  return F::conv2d(x, weight, bias,
                   {.stride = options.stride,
                    .padding = options.padding,
                    .dilation = options.dilation,
                    .groups = options.groups});
}

std::string Conv2dImpl::extra_repr() const {
  const Conv2dConfig& o = options;
  return conv_repr(o.in_channels, o.out_channels, o.kernel_size, o.stride, o.padding, o.dilation,
                   /*output_padding=*/0, o.groups, o.bias);
}

Conv1dImpl::Conv1dImpl(const Conv1dConfig& o) : Module("Conv1d"), options(o) {
  check_groups("Conv1d", o.in_channels, o.out_channels, o.groups);
  weight = register_parameter("weight",
                              empty({o.out_channels, o.in_channels / o.groups, o.kernel_size}));
  if (o.bias) bias = register_parameter("bias", empty({o.out_channels}));
  default_init(weight, bias);
}

Tensor Conv1dImpl::forward(const Tensor& x) {
  return F::conv1d(x, weight, bias,
                   {.stride = options.stride,
                    .padding = options.padding,
                    .dilation = options.dilation,
                    .groups = options.groups});
}

std::string Conv1dImpl::extra_repr() const {  // as PyTorch's: one-element tuples
  const Conv1dConfig& o = options;
  std::ostringstream s;
  s << o.in_channels << ", " << o.out_channels << ", kernel_size=(" << o.kernel_size
    << ",), stride=(" << o.stride << ",)";
  if (o.padding) s << ", padding=(" << o.padding << ",)";
  if (o.dilation != 1) s << ", dilation=(" << o.dilation << ",)";
  if (o.groups != 1) s << ", groups=" << o.groups;
  if (!o.bias) s << ", bias=False";
  return s.str();
}

ConvTranspose2dImpl::ConvTranspose2dImpl(const ConvTranspose2dConfig& o)
    : Module("ConvTranspose2d"), options(o) {
  check_groups("ConvTranspose2d", o.in_channels, o.out_channels, o.groups);
  weight = register_parameter("weight", empty({o.in_channels, o.out_channels / o.groups,
                                               o.kernel_size.h, o.kernel_size.w}));
  if (o.bias) bias = register_parameter("bias", empty({o.out_channels}));
  reset_parameters();
}

// PyTorch's fan in of this weight is out/groups * kh * kw (its dim 1), as default_init reads it.
void ConvTranspose2dImpl::reset_parameters() { default_init(weight, bias); }

Tensor ConvTranspose2dImpl::forward(const Tensor& x) {
  return F::conv_transpose2d(x, weight, bias,
                             {.stride = options.stride,
                              .padding = options.padding,
                              .output_padding = options.output_padding,
                              .groups = options.groups,
                              .dilation = options.dilation});
}

std::string ConvTranspose2dImpl::extra_repr() const {
  const ConvTranspose2dConfig& o = options;
  return conv_repr(o.in_channels, o.out_channels, o.kernel_size, o.stride, o.padding, o.dilation,
                   o.output_padding, o.groups, o.bias);
}

template <int Dims>
BatchNormImpl<Dims>::BatchNormImpl(const BatchNormConfig& o)
    : Module(Dims == 1 ? "BatchNorm1d" : "BatchNorm2d"), options(o) {
  if (o.affine) {
    weight = register_parameter("weight", ones({o.num_features}));
    bias = register_parameter("bias", zeros({o.num_features}));
  }
  if (o.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({o.num_features}));
    running_var = register_buffer("running_var", ones({o.num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

template <int Dims>
Tensor BatchNormImpl<Dims>::forward(const Tensor& x) {
  return normalize(x, /*relu=*/false);
}

template <int Dims>
Tensor BatchNormImpl<Dims>::forward_relu(const Tensor& x) {
  return normalize(x, /*relu=*/true);
}

template <int Dims>
Tensor BatchNormImpl<Dims>::normalize(const Tensor& x, bool relu) {
  bool rank_ok = Dims == 1 ? (x.dim() == 2 || x.dim() == 3) : x.dim() == 4;
  if (!rank_ok || x.size(1) != options.num_features)
    fail(name(), ": expected input (N, ", options.num_features, Dims == 1 ? "[, L])" : ", H, W)",
         ", got ", shape_str(x.sizes()));
  bool use_batch_stats = is_training() || !options.track_running_stats;
  if (is_training() && options.track_running_stats) {
    NoGradGuard no_grad;
    num_batches_tracked.copy_(num_batches_tracked + int64_t{1});
  }
  // Training: batch statistics, which also update the running ones (when tracked).
  // Eval: the running statistics, or the batch's when none are tracked (as PyTorch).
  return (relu ? F::batch_norm_relu : F::batch_norm)(
      x, running_mean, running_var, weight, bias, use_batch_stats, options.momentum, options.eps);
}

template <int Dims>
std::string BatchNormImpl<Dims>::extra_repr() const {
  std::ostringstream out;
  out << options.num_features << ", eps=" << options.eps << ", momentum=" << options.momentum
      << ", affine=" << (options.affine ? "True" : "False")
      << ", track_running_stats=" << (options.track_running_stats ? "True" : "False");
  return out.str();
}

template class BatchNormImpl<1>;
template class BatchNormImpl<2>;

LayerNormImpl::LayerNormImpl(const LayerNormConfig& o) : Module("LayerNorm"), options(o) {
  if (o.elementwise_affine) {
    weight = register_parameter("weight", ones(o.normalized_shape));
    bias = register_parameter("bias", zeros(o.normalized_shape));
  }
}

Tensor LayerNormImpl::forward(const Tensor& x) {
  return F::layer_norm(x, options.normalized_shape, weight, bias, options.eps);
}

std::string LayerNormImpl::extra_repr() const {
  std::ostringstream out;
  const Shape& s = options.normalized_shape;
  out << "(";
  for (size_t i = 0; i < s.size(); ++i) out << (i ? ", " : "") << s[i];
  out << (s.size() == 1 ? ",)" : ")") << ", eps=" << options.eps
      << ", elementwise_affine=" << (options.elementwise_affine ? "True" : "False");
  return out.str();
}

GroupNormImpl::GroupNormImpl(const GroupNormConfig& o) : Module("GroupNorm"), options(o) {
  if (o.num_groups < 1 || o.num_channels % o.num_groups)
    fail("GroupNorm: ", o.num_channels, " channels cannot be split into ", o.num_groups, " groups");
  if (o.affine) {
    weight = register_parameter("weight", ones({o.num_channels}));
    bias = register_parameter("bias", zeros({o.num_channels}));
  }
}

Tensor GroupNormImpl::forward(const Tensor& x) {
  return F::group_norm(x, options.num_groups, weight, bias, options.eps);
}

std::string GroupNormImpl::extra_repr() const {
  std::ostringstream out;
  out << options.num_groups << ", " << options.num_channels << ", eps=" << options.eps
      << ", affine=" << (options.affine ? "True" : "False");
  return out.str();
}

Tensor MaxPool2dImpl::forward(const Tensor& x) {
  return F::max_pool2d(
      x, options.kernel_size,
      {.stride = options.stride, .padding = options.padding, .dilation = options.dilation});
}

std::string MaxPool2dImpl::extra_repr() const {
  return "kernel_size=" + pair_str(options.kernel_size) +
         ", stride=" + pair_str(options.stride.value_or(options.kernel_size)) +
         ", padding=" + pair_str(options.padding);
}

Tensor MaxPool1dImpl::forward(const Tensor& x) {
  return F::max_pool1d(
      x, options.kernel_size,
      {.stride = options.stride, .padding = options.padding, .dilation = options.dilation});
}

Tensor AvgPool1dImpl::forward(const Tensor& x) {
  return F::avg_pool1d(x, options.kernel_size,
                       {.stride = options.stride, .padding = options.padding});
}

Tensor AvgPool2dImpl::forward(const Tensor& x) {
  return F::avg_pool2d(x, options.kernel_size,
                       {.stride = options.stride, .padding = options.padding});
}

std::string AvgPool2dImpl::extra_repr() const {
  return "kernel_size=" + pair_str(options.kernel_size) +
         ", stride=" + pair_str(options.stride.value_or(options.kernel_size)) +
         ", padding=" + pair_str(options.padding);
}

Tensor AdaptiveAvgPool2dImpl::forward(const Tensor& x) {
  return F::adaptive_avg_pool2d(x, output_size);
}

std::string AdaptiveAvgPool2dImpl::extra_repr() const {
  return "output_size=" + pair_str(output_size);
}

Tensor AdaptiveMaxPool2dImpl::forward(const Tensor& x) {
  return F::adaptive_max_pool2d(x, output_size);
}

std::string AdaptiveMaxPool2dImpl::extra_repr() const {
  return "output_size=" + pair_str(output_size);
}

std::string UpsampleImpl::extra_repr() const {
  auto py_float = [](std::ostream& out, double v) {  // as Python's repr: 2.0, 1.5
    std::ostringstream f;
    f << v;
    out << f.str() << (f.str().find_first_of(".e") == std::string::npos ? ".0" : "");
  };
  std::ostringstream out;
  if (options.size) out << "size=" << pair_str(*options.size);
  if (options.scale_factor) {
    const ScalePair& s = *options.scale_factor;
    out << "scale_factor=" << (s.h == s.w ? "" : "(");
    py_float(out, s.h);
    if (s.h != s.w) {
      out << ", ";
      py_float(out, s.w);
      out << ')';
    }
  }
  out << ", mode='" << (options.mode == Interpolation::Nearest ? "nearest" : "bilinear") << "'";
  return out.str();
}

Dropout2dImpl::Dropout2dImpl(double p_) : Module("Dropout2d"), p(p_) {
  check(p >= 0 && p <= 1, "Dropout2d: probability must be in [0, 1], got ", p);
}

Tensor Dropout2dImpl::forward(const Tensor& x) { return F::dropout2d(x, p, is_training()); }

std::string Dropout2dImpl::extra_repr() const {
  std::ostringstream out;
  out << "p=" << p;
  return out.str();
}

DropoutImpl::DropoutImpl(double p_) : Module("Dropout"), p(p_) {
  check(p >= 0 && p <= 1, "Dropout: probability must be in [0, 1], got ", p);
}

Tensor DropoutImpl::forward(const Tensor& x) { return F::dropout(x, p, is_training()); }

std::string DropoutImpl::extra_repr() const {
  std::ostringstream out;
  out << "p=" << p;
  return out.str();
}

EmbeddingImpl::EmbeddingImpl(const EmbeddingConfig& o) : Module("Embedding"), options(o) {
  weight = register_parameter("weight", randn({o.num_embeddings, o.embedding_dim}));
}

Tensor EmbeddingImpl::forward(const Tensor& indices) { return F::embedding(indices, weight); }

std::string EmbeddingImpl::extra_repr() const {
  return std::to_string(options.num_embeddings) + ", " + std::to_string(options.embedding_dim);
}

PReLUImpl::PReLUImpl(const PReLUConfig& o) : Module("PReLU"), options(o) {
  if (o.num_parameters < 1)
    fail("PReLU: num_parameters must be at least 1, got ", o.num_parameters);
  weight = register_parameter("weight", full({o.num_parameters}, o.init));
}

std::string PReLUImpl::extra_repr() const {
  return "num_parameters=" + std::to_string(options.num_parameters);
}

std::string LeakyReLUImpl::extra_repr() const {
  std::ostringstream out;
  out << "negative_slope=" << slope;
  return out.str();
}

GELUImpl::GELUImpl(std::string approx) : Module("GELU"), approximate(std::move(approx)) {
  if (approximate != "none" && approximate != "tanh")
    fail("GELU: approximate must be 'none' or 'tanh', got '", approximate, "'");
}

std::string FlattenImpl::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

}  // namespace ember::nn

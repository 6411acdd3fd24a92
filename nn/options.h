// libtorch's option builders for the layers: a constructor with the required arguments, then one
// chained setter per option, each also a getter, as torch::nn spells them:
//   nn::Conv2d conv(nn::Conv2dOptions(1, 32, 3).padding(1).bias(false));
//   nn::LSTM lstm(nn::LSTMOptions(28, 64).num_layers(2).batch_first(true));
// A builder converts to the aggregate the layer keeps (Conv2dConfig), which ember's own code fills
// with designated initialisers instead: nn::Conv2d({.in_channels = 1, .out_channels = 32, ...}).
// Both spellings build the same layer; the layer's `options` member is the aggregate.
// Read next: nn/layers.h (the aggregates), optim/options.h (the optimizers' builders).
#pragma once

#include <optional>
#include <vector>

#include "../core/options_builder.h"
#include "attention.h"
#include "layers.h"
#include "recurrent.h"

namespace ember::nn {

class LinearOptions : public OptionsBuilder<LinearOptions, LinearConfig> {
 public:
  LinearOptions(int64_t in_features, int64_t out_features) {
    config_ = {.in_features = in_features, .out_features = out_features};
  }
  LinearOptions& in_features(int64_t v) { return set(&LinearConfig::in_features, v); }
  LinearOptions& out_features(int64_t v) { return set(&LinearConfig::out_features, v); }
  LinearOptions& bias(bool v) { return set(&LinearConfig::bias, v); }
  int64_t in_features() const { return config_.in_features; }
  int64_t out_features() const { return config_.out_features; }
  bool bias() const { return config_.bias; }
};

/// Conv1dOptions and Conv2dOptions: Size is int64_t for 1-d, Pair (3 or {3, 1}) for 2-d.
template <typename Self, typename Config, typename Size>
class ConvOptionsBuilder : public OptionsBuilder<Self, Config> {
  using Base = OptionsBuilder<Self, Config>;

 public:
  ConvOptionsBuilder(int64_t in_channels, int64_t out_channels, Size kernel_size) {
    this->config_.in_channels = in_channels;
    this->config_.out_channels = out_channels;
    this->config_.kernel_size = kernel_size;
  }
  Self& in_channels(int64_t v) { return Base::set(&Config::in_channels, v); }
  Self& out_channels(int64_t v) { return Base::set(&Config::out_channels, v); }
  Self& kernel_size(Size v) { return Base::set(&Config::kernel_size, v); }
  Self& stride(Size v) { return Base::set(&Config::stride, v); }
  Self& padding(Size v) { return Base::set(&Config::padding, v); }
  Self& dilation(Size v) { return Base::set(&Config::dilation, v); }
  Self& groups(int64_t v) { return Base::set(&Config::groups, v); }
  Self& bias(bool v) { return Base::set(&Config::bias, v); }
  int64_t in_channels() const { return this->config_.in_channels; }
  int64_t out_channels() const { return this->config_.out_channels; }
  Size kernel_size() const { return this->config_.kernel_size; }
  Size stride() const { return this->config_.stride; }
  Size padding() const { return this->config_.padding; }
  Size dilation() const { return this->config_.dilation; }
  int64_t groups() const { return this->config_.groups; }
  bool bias() const { return this->config_.bias; }
};

class Conv2dOptions : public ConvOptionsBuilder<Conv2dOptions, Conv2dConfig, Pair> {
 public:
  using ConvOptionsBuilder::ConvOptionsBuilder;
};
class Conv1dOptions : public ConvOptionsBuilder<Conv1dOptions, Conv1dConfig, int64_t> {
 public:
  using ConvOptionsBuilder::ConvOptionsBuilder;
};
class ConvTranspose2dOptions
    : public ConvOptionsBuilder<ConvTranspose2dOptions, ConvTranspose2dConfig, Pair> {
 public:
  using ConvOptionsBuilder::ConvOptionsBuilder;
  ConvTranspose2dOptions& output_padding(Pair v) {
    return set(&ConvTranspose2dConfig::output_padding, v);
  }
  Pair output_padding() const { return config_.output_padding; }
};

class BatchNormOptions : public OptionsBuilder<BatchNormOptions, BatchNormConfig> {
 public:
  BatchNormOptions(int64_t num_features) { config_.num_features = num_features; }  // NOLINT
  BatchNormOptions& num_features(int64_t v) { return set(&BatchNormConfig::num_features, v); }
  BatchNormOptions& eps(double v) { return set(&BatchNormConfig::eps, v); }
  BatchNormOptions& momentum(double v) { return set(&BatchNormConfig::momentum, v); }
  BatchNormOptions& affine(bool v) { return set(&BatchNormConfig::affine, v); }
  BatchNormOptions& track_running_stats(bool v) {
    return set(&BatchNormConfig::track_running_stats, v);
  }
  int64_t num_features() const { return config_.num_features; }
  double eps() const { return config_.eps; }
  double momentum() const { return config_.momentum; }
  bool affine() const { return config_.affine; }
  bool track_running_stats() const { return config_.track_running_stats; }
};
using BatchNorm1dOptions = BatchNormOptions;
using BatchNorm2dOptions = BatchNormOptions;

class LayerNormOptions : public OptionsBuilder<LayerNormOptions, LayerNormConfig> {
 public:
  LayerNormOptions(std::vector<int64_t> normalized_shape) {  // NOLINT
    config_.normalized_shape = std::move(normalized_shape);
  }
  LayerNormOptions& eps(double v) { return set(&LayerNormConfig::eps, v); }
  LayerNormOptions& elementwise_affine(bool v) {
    return set(&LayerNormConfig::elementwise_affine, v);
  }
  const std::vector<int64_t>& normalized_shape() const { return config_.normalized_shape; }
  double eps() const { return config_.eps; }
  bool elementwise_affine() const { return config_.elementwise_affine; }
};

class GroupNormOptions : public OptionsBuilder<GroupNormOptions, GroupNormConfig> {
 public:
  GroupNormOptions(int64_t num_groups, int64_t num_channels) {
    config_ = {.num_groups = num_groups, .num_channels = num_channels};
  }
  GroupNormOptions& eps(double v) { return set(&GroupNormConfig::eps, v); }
  GroupNormOptions& affine(bool v) { return set(&GroupNormConfig::affine, v); }
  int64_t num_groups() const { return config_.num_groups; }
  int64_t num_channels() const { return config_.num_channels; }
  double eps() const { return config_.eps; }
  bool affine() const { return config_.affine; }
};

/// MaxPool2dOptions, AvgPool2dOptions (Size Pair) and the 1-d ones (Size int64_t); the stride
/// defaults to the kernel size, as in libtorch.
template <typename Self, typename Config, typename Size>
class PoolOptionsBuilder : public OptionsBuilder<Self, Config> {
  using Base = OptionsBuilder<Self, Config>;

 public:
  PoolOptionsBuilder(Size kernel_size) { this->config_.kernel_size = kernel_size; }  // NOLINT
  Self& kernel_size(Size v) { return Base::set(&Config::kernel_size, v); }
  Self& stride(Size v) { return Base::set(&Config::stride, std::optional<Size>(v)); }
  Self& padding(Size v) { return Base::set(&Config::padding, v); }
  Size kernel_size() const { return this->config_.kernel_size; }
  Size stride() const { return this->config_.stride.value_or(this->config_.kernel_size); }
  Size padding() const { return this->config_.padding; }
};

class MaxPool2dOptions : public PoolOptionsBuilder<MaxPool2dOptions, Pool2dConfig, Pair> {
 public:
  using PoolOptionsBuilder::PoolOptionsBuilder;
  MaxPool2dOptions& dilation(Pair v) { return set(&Pool2dConfig::dilation, v); }
  Pair dilation() const { return config_.dilation; }
};
class AvgPool2dOptions : public PoolOptionsBuilder<AvgPool2dOptions, Pool2dConfig, Pair> {
 public:
  using PoolOptionsBuilder::PoolOptionsBuilder;
};
class MaxPool1dOptions : public PoolOptionsBuilder<MaxPool1dOptions, Pool1dConfig, int64_t> {
 public:
  using PoolOptionsBuilder::PoolOptionsBuilder;
  MaxPool1dOptions& dilation(int64_t v) { return set(&Pool1dConfig::dilation, v); }
  int64_t dilation() const { return config_.dilation; }
};
class AvgPool1dOptions : public PoolOptionsBuilder<AvgPool1dOptions, Pool1dConfig, int64_t> {
 public:
  using PoolOptionsBuilder::PoolOptionsBuilder;
};

class EmbeddingOptions : public OptionsBuilder<EmbeddingOptions, EmbeddingConfig> {
 public:
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim) {
    config_ = {.num_embeddings = num_embeddings, .embedding_dim = embedding_dim};
  }
  int64_t num_embeddings() const { return config_.num_embeddings; }
  int64_t embedding_dim() const { return config_.embedding_dim; }
};

/// LSTMOptions and GRUOptions (libtorch has both, with the same setters).
class RNNOptions : public OptionsBuilder<RNNOptions, RNNConfig> {
 public:
  RNNOptions(int64_t input_size, int64_t hidden_size) {
    config_ = {.input_size = input_size, .hidden_size = hidden_size};
  }
  RNNOptions& num_layers(int64_t v) { return set(&RNNConfig::num_layers, v); }
  RNNOptions& bias(bool v) { return set(&RNNConfig::bias, v); }
  RNNOptions& batch_first(bool v) { return set(&RNNConfig::batch_first, v); }
  RNNOptions& dropout(double v) { return set(&RNNConfig::dropout, v); }
  RNNOptions& bidirectional(bool v) { return set(&RNNConfig::bidirectional, v); }
  int64_t input_size() const { return config_.input_size; }
  int64_t hidden_size() const { return config_.hidden_size; }
  int64_t num_layers() const { return config_.num_layers; }
  bool bias() const { return config_.bias; }
  bool batch_first() const { return config_.batch_first; }
  double dropout() const { return config_.dropout; }
  bool bidirectional() const { return config_.bidirectional; }
};
using LSTMOptions = RNNOptions;
using GRUOptions = RNNOptions;

/// NOTE: ember's MultiheadAttention returns the output alone, not libtorch's (output, weights).
class MultiheadAttentionOptions
    : public OptionsBuilder<MultiheadAttentionOptions, TokenAttentionConfig> {
 public:
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads) {
    config_ = {.embed_dim = embed_dim, .num_heads = num_heads};
  }
  int64_t embed_dim() const { return config_.embed_dim; }
  int64_t num_heads() const { return config_.num_heads; }
};

}  // namespace ember::nn

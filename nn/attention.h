// Dot-product attention and efficient attention (Shen et al., "Efficient Attention: Attention
// with Linear Complexities", WACV 2021), as functionals and as modules.
//
// Layout: channel-first, like the reference module: q, k: (B, h, d_k, n); v: (B, h, d_v, n);
// the result is (B, h, d_v, n_q). Keys and values share n_k positions; queries may have their
// own n_q (cross-attention).
//
//   dot-product:  out = V ρ(QᵀK)ᵀ              builds the n_q x n_k map: O(n²) memory and time
//   efficient:    out = (ρ_k(K) Vᵀ)ᵀ ρ_q(Q)     builds a d_k x d_v context: O(n)
//
// Normalization::Softmax: dot-product takes a row softmax of QᵀK / sqrt(d_k); efficient takes
// each key channel's softmax over the positions (ρ_k) and each query's softmax over its
// channels (ρ_q). Normalization::Scaling: ρ(Y) = Y / n for dot-product, ρ_q = ρ_k = Y / sqrt(n)
// for efficient, and then the two are exactly equal: Q (K/√n)ᵀ... = (QᵀK / n)-weighted V.
// mask: optional (B, n_k) bool (true = ignore that key position, PyTorch's key_padding_mask) or
// int64 (nonzero = ignore); with scaling, n counts the positions kept.
// Both functionals are composites of autograd ops: no backward code, and memory follows the
// algorithm; blocked_dot_product_attention has its own backward, to keep memory linear.
// Read next: attention.cpp; tests/test_attention.cpp for the paper's equivalence.
#pragma once

#include "layers.h"

namespace ember::nn {

enum class Normalization { Softmax, Scaling };

namespace functional {

Tensor efficient_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                           Normalization normalization = Normalization::Softmax,
                           const Tensor& mask = {});
Tensor dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                             Normalization normalization = Normalization::Softmax,
                             const Tensor& mask = {});

/// dot_product_attention a block of queries at a time, never holding the whole map ("Self-
/// attention Does Not Need O(n²) Memory", Rabe & Staats 2021; FlashAttention, Dao et al. 2022):
/// each block's map (batch x n_k x block queries) stays within `block_elements`, the forward
/// keeps only the output, and the backward recomputes each block's map.
/// Memory O(n), time O(n²); same arguments and result as dot_product_attention. The backward
/// is written with ember's ops, so create_graph (higher derivatives) works, at the full map's
/// memory then.
Tensor blocked_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                     Normalization normalization = Normalization::Softmax,
                                     const Tensor& mask = {},
                                     int64_t block_elements = int64_t{1} << 21);

}  // namespace functional

struct AttentionConfig {
  int64_t in_channels = 0, key_channels = 0, value_channels = 0, head_count = 1;
  Normalization normalization = Normalization::Softmax;
  /// DotProductAttention2d only: blocked_dot_product_attention (memory linear in the positions)
  /// with this block budget, or (false) the full map. Blocked by default: it needs a small
  /// fraction of the full map's memory at the same speed (examples/attention_scaling).
  bool blocked = true;
  int64_t block_elements = int64_t{1} << 21;
};

/// The block both 2-D attentions share, the reference module's (github
/// cmsflash/efficient-attention): 1x1 convolutions for keys, queries and values, attention per
/// head (attend, which each block defines), heads concatenated, a 1x1 reprojection and a
/// residual add. x: (N, in_channels, H, W) -> same shape. Parameter names keys.*, queries.*,
/// values.*, reprojection.*, so weights load from the PyTorch module's state_dict.
class Attention2d : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  AttentionConfig options;
  Conv2d keys{nullptr}, queries{nullptr}, values{nullptr}, reprojection{nullptr};

 protected:
  Attention2d(std::string name, const AttentionConfig& options);
  /// q, k: (N, heads, d_k, HW); v: (N, heads, d_v, HW) -> (N, heads, d_v, HW).
  virtual Tensor attend(const Tensor& q, const Tensor& k, const Tensor& v) const = 0;
};

/// The reference module: efficient attention per head.
class EfficientAttention2dImpl : public Attention2d {
 public:
  explicit EfficientAttention2dImpl(const AttentionConfig& options)
      : Attention2d("EfficientAttention2d", options) {}

 protected:
  Tensor attend(const Tensor& q, const Tensor& k, const Tensor& v) const override;
};
using EfficientAttention2d = ModuleHolder<EfficientAttention2dImpl>;

/// The same block with dot-product attention (the non-local form): per head,
/// softmax(QᵀK / sqrt(d_k)) over the keys, blocked or with the full map (options.blocked).
class DotProductAttention2dImpl : public Attention2d {
 public:
  explicit DotProductAttention2dImpl(const AttentionConfig& options)
      : Attention2d("DotProductAttention2d", options) {}
  std::string extra_repr() const override;

 protected:
  Tensor attend(const Tensor& q, const Tensor& k, const Tensor& v) const override;
};
using DotProductAttention2d = ModuleHolder<DotProductAttention2dImpl>;

struct TokenAttentionConfig {
  int64_t embed_dim = 0, num_heads = 1;
  Normalization normalization = Normalization::Softmax;
};

/// Efficient attention over tokens: x (B, N, E) -> (B, N, E), with linear projections
/// (queries, keys, values, reprojection; no residual, as nn.MultiheadAttention). Cross-attention:
/// forward(x, context) takes queries from x and keys/values from context (B, M, E).
class EfficientSelfAttentionImpl : public Module {
 public:
  explicit EfficientSelfAttentionImpl(const TokenAttentionConfig& options);
  Tensor forward(const Tensor& x) override { return forward(x, x, {}); }
  /// mask: (B, M) bool (true = ignore that context position) or int64 (nonzero = ignore).
  Tensor forward(const Tensor& x, const Tensor& context, const Tensor& mask);
  std::string extra_repr() const override;
  TokenAttentionConfig options;
  Linear queries{nullptr}, keys{nullptr}, values{nullptr}, reprojection{nullptr};
};
using EfficientSelfAttention = ModuleHolder<EfficientSelfAttentionImpl>;

/// Dot-product multi-head attention with torch.nn.MultiheadAttention's parameters (in_proj_weight
/// (3E, E), in_proj_bias, out_proj) and batch_first layout: query (B, N, E), key and value
/// (B, M, E) -> (B, N, E). key_padding_mask: (B, M) bool or int64, true / nonzero = ignore.
class MultiheadAttentionImpl : public Module {
 public:
  explicit MultiheadAttentionImpl(const TokenAttentionConfig& options);
  Tensor forward(const Tensor& x) override { return forward(x, x, x, {}); }
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value,
                 const Tensor& key_padding_mask);
  std::string extra_repr() const override;
  TokenAttentionConfig options;
  Tensor in_proj_weight, in_proj_bias;
  Linear out_proj{nullptr};
};
using MultiheadAttention = ModuleHolder<MultiheadAttentionImpl>;

}  // namespace ember::nn

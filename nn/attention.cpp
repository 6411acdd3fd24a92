// Attention functionals (composites: no backward code) and the modules built on them.
// Read next: tests/test_attention.cpp, examples/attention_scaling.cpp.
#include "attention.h"

#include <cmath>
#include <sstream>

#include "../autograd/function.h"
#include "../autograd/grad_mode.h"
#include "../core/profiler.h"
#include "init.h"

namespace ember::nn {

namespace F = functional;

namespace {

void check_qkv(const char* op, const Tensor& q, const Tensor& k, const Tensor& v) {
  bool ok = q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim() && q.size(-2) == k.size(-2) &&
            k.size(-1) == v.size(-1) && q.is_floating_point();
  for (int64_t d = 0; ok && d < q.dim() - 2; ++d)
    ok = q.size(d) == k.size(d) && k.size(d) == v.size(d);
  if (!ok)
    fail(op, ": expected q (..., d_k, n_q), k (..., d_k, n_k), v (..., d_v, n_k), got q ",
         shape_str(q.sizes()), ", k ", shape_str(k.sizes()), ", v ", shape_str(v.sizes()));
}

// The mask (B, n_k), true or nonzero = ignore, as a bool "keep" mask of x's rank that
// broadcasts against x with the key positions along `dim` (-1 for keys (B, ..., d_k, n_k), -2 for
// maps (B, ..., n_k, n_q)).
Tensor keep_mask(const char* op, const Tensor& mask, const Tensor& k, int64_t dim) {
  if (!mask.defined()) return {};
  if ((mask.dtype() != kInt64 && mask.dtype() != kBool) || mask.dim() != 2 || k.dim() < 3 ||
      mask.size(0) != k.size(0) || mask.size(1) != k.size(-1))
    fail(op, ": mask must be bool or int64 (B, n_k) = (", k.dim() ? k.size(0) : 0, ", ",
         k.dim() ? k.size(-1) : 0, "), got ", mask.dtype(), " ", shape_str(mask.sizes()));
  Shape shape(k.dim(), 1);
  shape[0] = mask.size(0);
  shape[k.dim() + dim] = mask.size(1);
  return reshape(eq(mask, 0), shape);
}

// 1 / n for the scaling normalisation: n = the key positions kept (per batch element, shaped to
// broadcast) or all of them.
Tensor inverse_count(const Tensor& keep, const Tensor& k) {
  if (!keep.defined()) return full({}, 1.0 / static_cast<double>(k.size(-1)), k.dtype());
  Shape all;
  for (int64_t d = 1; d < keep.dim(); ++d) all.push_back(d);
  return pow(sum(to(keep, k.dtype()), all, /*keepdim=*/true), -1.0);
}

}  // namespace

// ρ_k(K) = softmax of each key channel over positions, ρ_q(Q) = softmax of each query over
// channels (or both Y / sqrt(n));  context = ρ_k(K) Vᵀ  (d_k x d_v);  out = contextᵀ ρ_q(Q).
Tensor F::efficient_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                              Normalization normalization, const Tensor& mask) {
  profiler::Scope scope("efficient_attention");
  check_qkv("efficient_attention", q, k, v);
  Tensor keep = keep_mask("efficient_attention", mask, k, -1);
  Tensor rk, rq;
  if (normalization == Normalization::Softmax) {
    rk = softmax(keep.defined() ? where(keep, k, -INFINITY) : k, -1);
    rq = softmax(q, -2);
  } else {
    Tensor scale = sqrt(inverse_count(keep, k));
    rk = (keep.defined() ? where(keep, k, 0.0) : k) * scale;
    rq = q * scale;
  }
  Tensor context = matmul(rk, transpose(v, -1, -2));  // (..., d_k, d_v)
  return matmul(transpose(context, -1, -2), rq);      // (..., d_v, n_q)
}

// A = softmax(KᵀQ / sqrt(d_k)) over the keys (or KᵀQ / n);  out = V A.
// The map is kept as (n_k, n_q), keys along dim -2, so that neither the forward nor the backward
// ever reads an n x n tensor through a transpose (a strided walk over the largest tensors).
Tensor F::dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                Normalization normalization, const Tensor& mask) {
  profiler::Scope scope("dot_product_attention");
  check_qkv("dot_product_attention", q, k, v);
  Tensor keep = keep_mask("dot_product_attention", mask, k, -2);
  Tensor a;
  if (normalization == Normalization::Softmax) {
    // Scaling Q (d_k x n) instead of the logits (n x n) saves one n x n temporary.
    Tensor scaled_q = q * (1.0 / std::sqrt(static_cast<double>(q.size(-2))));
    Tensor logits = matmul(transpose(k, -1, -2), scaled_q);  // (..., n_k, n_q)
    a = softmax(keep.defined() ? where(keep, logits, -INFINITY) : logits, -2);
  } else {
    Tensor logits = matmul(transpose(k, -1, -2), q);
    a = (keep.defined() ? where(keep, logits, 0.0) : logits) * inverse_count(keep, k);
  }
  return matmul(v, a);  // (..., d_v, n_q)
}

// Per block of queries Q_b (d_k x b), with S = Kᵀ Q_b / sqrt(d_k) (n_k x b, masked keys -inf):
//   forward:   A = softmax(S) over the keys,   O_b = V A
//   backward:  A again from Q_b and K,   dV += dO_b Aᵀ,   dA = Vᵀ dO_b,
//              dS = A ⊙ (dA - D_b) with D = Σ_{d_v} dO ⊙ O (= Σ_keys A ⊙ dA, from O, not a map),
//              dQ_b = K dS / sqrt(d_k),   dK += Q_b dSᵀ / sqrt(d_k)
// With scaling, A = S / n for unscaled S (masked keys 0) and dS = dA / n (0 at masked keys).
// Nothing of a block outlives it: FlashAttention keeps each query's log-sum-exp so that the
// backward needs no reduction, but ember's fused softmax kernel recomputes the whole block
// faster than a subtraction and an exp from a stored log-sum-exp, and keeps one code path for
// create_graph (the recomputed map is differentiable in q and k).
Tensor F::blocked_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                        Normalization normalization, const Tensor& mask,
                                        int64_t block_elements) {
  profiler::Scope scope("blocked_dot_product_attention");
  const char* op = "blocked_dot_product_attention";
  check_qkv(op, q, k, v);
  check(block_elements >= 1, op, ": block_elements must be positive, got ", block_elements);
  int64_t n_q = q.size(-1);
  if (n_q == 0 || k.numel() == 0) return dot_product_attention(q, k, v, normalization, mask);
  Tensor keep = keep_mask(op, mask, k, -2);
  bool soft = normalization == Normalization::Softmax;
  double scale = soft ? 1.0 / std::sqrt(static_cast<double>(q.size(-2))) : 1.0;
  Tensor inverse_n = soft ? Tensor() : inverse_count(keep, k);
  // Queries per block: a block's map holds (batch dims x n_k) values per query.
  int64_t per_query = k.numel() / k.size(-2);
  int64_t width = std::clamp<int64_t>(block_elements / per_query, 1, n_q);
  // The map of a block of queries over all keys.
  auto map = [keep, soft, scale, inverse_n](const Tensor& k, const Tensor& qb) {
    Tensor s = matmul(transpose(k, -1, -2), soft ? qb * scale : qb);
    if (soft) return softmax(keep.defined() ? where(keep, s, -INFINITY) : s, -2);
    return (keep.defined() ? where(keep, s, 0.0) : s) * inverse_n;
  };
  Tensor out;
  {
    NoGradGuard no_grad;
    std::vector<Tensor> outs;
    for (int64_t start = 0; start < n_q; start += width)
      outs.push_back(matmul(v, map(k, narrow(q, -1, start, std::min(width, n_q - start)))));
    out = cat(outs, -1);
  }
  return autograd::record(
      op, out, {q, k, v},
      [q = autograd::save(q), k = autograd::save(k), v = autograd::save(v),
       o = autograd::save_output(out), keep, inverse_n, soft, scale, width,
       map](const Tensor& g, const autograd::Needs&) {
        Tensor qs = q.unpack(), ks = k.unpack(), vs = v.unpack();
        int64_t n = qs.size(-1);
        Tensor d = soft ? sum(g * o.unpack(), {-2}, /*keepdim=*/true) : Tensor();
        Tensor dk = zeros_like(ks), dv = zeros_like(vs);
        std::vector<Tensor> dq;
        for (int64_t start = 0; start < n; start += width) {
          int64_t len = std::min(width, n - start);
          Tensor qb = narrow(qs, -1, start, len), gb = narrow(g, -1, start, len);
          Tensor a = map(ks, qb);
          dv = dv + matmul(gb, transpose(a, -1, -2));
          Tensor da = matmul(transpose(vs, -1, -2), gb);
          Tensor ds = soft ? a * (da - narrow(d, -1, start, len)) : da * inverse_n;
          if (!soft && keep.defined()) ds = where(keep, ds, 0.0);
          dq.push_back(matmul(ks, ds) * scale);
          dk = dk + matmul(qb, transpose(ds, -1, -2)) * scale;
        }
        return autograd::grads{cat(dq, -1), dk, dv};
      });
}

namespace {

void check_heads(const char* op, const AttentionConfig& o) {
  if (o.head_count < 1 || o.key_channels % o.head_count || o.value_channels % o.head_count ||
      o.in_channels < 1)
    fail(op, ": key_channels ", o.key_channels, " and value_channels ", o.value_channels,
         " must divide into ", o.head_count, " heads");
}

Conv2d pointwise(int64_t in, int64_t out) {
  return Conv2d(Conv2dConfig{.in_channels = in, .out_channels = out});
}

}  // namespace

Attention2d::Attention2d(std::string name, const AttentionConfig& o)
    : Module(std::move(name)), options(o) {
  check_heads(this->name().c_str(), o);
  keys = register_module("keys", pointwise(o.in_channels, o.key_channels));
  queries = register_module("queries", pointwise(o.in_channels, o.key_channels));
  values = register_module("values", pointwise(o.in_channels, o.value_channels));
  reprojection = register_module("reprojection", pointwise(o.value_channels, o.in_channels));
}

// Project, attend per head, concatenate the heads, reproject, add x.
Tensor Attention2d::forward(const Tensor& x) {
  const AttentionConfig& o = options;
  if (x.dim() != 4 || x.size(1) != o.in_channels)
    fail(name(), ": expected input (N, ", o.in_channels, ", H, W), got ", shape_str(x.sizes()));
  int64_t n = x.size(0), h = x.size(2), w = x.size(3), heads = o.head_count;
  // q, k and v are temporaries: what the attention saves for backward stays, the rest is freed
  // before the reprojection (as named locals they held two more (N, C, H, W) tensors at the
  // forward's peak).
  Tensor attended =  // (N, heads, d_v, HW): heads concatenate by reshape
      attend(reshape((*queries)(x), {n, heads, o.key_channels / heads, h * w}),
             reshape((*keys)(x), {n, heads, o.key_channels / heads, h * w}),
             reshape((*values)(x), {n, heads, o.value_channels / heads, h * w}));
  return (*reprojection)(reshape(attended, {n, o.value_channels, h, w})) + x;
}

std::string Attention2d::extra_repr() const {
  std::ostringstream out;
  out << "in_channels=" << options.in_channels << ", key_channels=" << options.key_channels
      << ", value_channels=" << options.value_channels << ", head_count=" << options.head_count
      << ", normalization="
      << (options.normalization == Normalization::Softmax ? "softmax" : "scaling");
  return out.str();
}

Tensor EfficientAttention2dImpl::attend(const Tensor& q, const Tensor& k, const Tensor& v) const {
  return F::efficient_attention(q, k, v, options.normalization);
}

std::string DotProductAttention2dImpl::extra_repr() const {
  return Attention2d::extra_repr() +
         (options.blocked ? ", blocked, block_elements=" + std::to_string(options.block_elements)
                          : ", full map");
}

Tensor DotProductAttention2dImpl::attend(const Tensor& q, const Tensor& k, const Tensor& v) const {
  if (options.blocked)
    return F::blocked_dot_product_attention(q, k, v, options.normalization, {},
                                            options.block_elements);
  return F::dot_product_attention(q, k, v, options.normalization);
}

namespace {

void check_tokens(const char* op, const TokenAttentionConfig& o) {
  if (o.num_heads < 1 || o.embed_dim < 1 || o.embed_dim % o.num_heads)
    fail(op, ": embed_dim ", o.embed_dim, " must divide into ", o.num_heads, " heads");
}

// (B, N, E) -> (B, heads, E/heads, N), the functionals' layout.
Tensor to_heads(const Tensor& x, int64_t heads) {
  return permute(reshape(x, {x.size(0), x.size(1), heads, -1}), {0, 2, 3, 1});
}

// (B, heads, d, N) -> (B, N, heads * d)
Tensor from_heads(const Tensor& x) {
  return reshape(permute(x, {0, 3, 1, 2}), {x.size(0), x.size(3), -1});
}

void check_token_input(const char* op, const Tensor& x, int64_t embed_dim) {
  if (x.dim() != 3 || x.size(2) != embed_dim)
    fail(op, ": expected tokens (B, N, ", embed_dim, "), got ", shape_str(x.sizes()));
}

}  // namespace

EfficientSelfAttentionImpl::EfficientSelfAttentionImpl(const TokenAttentionConfig& o)
    : Module("EfficientSelfAttention"), options(o) {
  check_tokens("EfficientSelfAttention", o);
  queries = register_module("queries", Linear(o.embed_dim, o.embed_dim));
  keys = register_module("keys", Linear(o.embed_dim, o.embed_dim));
  values = register_module("values", Linear(o.embed_dim, o.embed_dim));
  reprojection = register_module("reprojection", Linear(o.embed_dim, o.embed_dim));
}

Tensor EfficientSelfAttentionImpl::forward(const Tensor& x, const Tensor& context,
                                           const Tensor& mask) {
  check_token_input("EfficientSelfAttention", x, options.embed_dim);
  check_token_input("EfficientSelfAttention", context, options.embed_dim);
  int64_t h = options.num_heads;
  Tensor out = F::efficient_attention(to_heads((*queries)(x), h), to_heads((*keys)(context), h),
                                      to_heads((*values)(context), h), options.normalization, mask);
  return (*reprojection)(from_heads(out));
}

std::string EfficientSelfAttentionImpl::extra_repr() const {
  return "embed_dim=" + std::to_string(options.embed_dim) +
         ", num_heads=" + std::to_string(options.num_heads);
}

MultiheadAttentionImpl::MultiheadAttentionImpl(const TokenAttentionConfig& o)
    : Module("MultiheadAttention"), options(o) {
  check_tokens("MultiheadAttention", o);
  int64_t e = o.embed_dim;
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * e, e}));
  in_proj_bias = register_parameter("in_proj_bias", zeros({3 * e}));
  out_proj = register_module("out_proj", Linear(e, e));
  init::xavier_uniform_(in_proj_weight);  // PyTorch's initialisation of this module
  init::zeros_(out_proj->bias);
}

Tensor MultiheadAttentionImpl::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                       const Tensor& key_padding_mask) {
  int64_t e = options.embed_dim, h = options.num_heads;
  for (const Tensor* t : {&query, &key, &value}) check_token_input("MultiheadAttention", *t, e);
  auto project = [&](const Tensor& x, int64_t part) {
    return F::linear(x, narrow(in_proj_weight, 0, part * e, e),
                     narrow(in_proj_bias, 0, part * e, e));
  };
  Tensor out = F::dot_product_attention(
      to_heads(project(query, 0), h), to_heads(project(key, 1), h), to_heads(project(value, 2), h),
      options.normalization, key_padding_mask);
  return (*out_proj)(from_heads(out));
}

std::string MultiheadAttentionImpl::extra_repr() const {
  return "embed_dim=" + std::to_string(options.embed_dim) +
         ", num_heads=" + std::to_string(options.num_heads);
}

}  // namespace ember::nn

// FashionViT, the small vision transformer of WORKLOADS.md (W5), with the parameter names the
// PyTorch peer's model has (patch.weight, pos, blocks.0.attn.queries.weight, blocks.3.mlp.2.bias,
// norm.weight, head.bias, ...), so a checkpoint moves between the two through safetensors:
//   Conv2d(1, 64, 4, stride=4) -> 49 tokens of 64, + a learned position embedding (1, 49, 64)
//   4 pre-norm blocks:  x + attention(LayerNorm(x));  x + MLP(LayerNorm(x))  (64 -> 128 -> 64,
//   GELU) LayerNorm -> mean over the tokens -> Linear(64, 10)
// attention: "efficient" (EfficientSelfAttention: each key channel softmaxed over the 49 tokens
// is a global 7x7 attention map) or "dot" (MultiheadAttention, the 49x49 map per head).
#pragma once

#include <ember/ember.h>

#include <string>

namespace ember::examples {

/// One pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).
class ViTBlock : public nn::Module {
 public:
  ViTBlock(int64_t dim, int64_t heads, const std::string& attention) : Module("Block") {
    using namespace nn;
    norm1 = register_module("norm1", LayerNorm({.normalized_shape = {dim}}));
    norm2 = register_module("norm2", LayerNorm({.normalized_shape = {dim}}));
    TokenAttentionConfig o{.embed_dim = dim, .num_heads = heads};
    if (attention == "efficient")
      attn = register_module("attn", EfficientSelfAttention(o));
    else
      attn = register_module("attn", MultiheadAttention(o));
    mlp = register_module("mlp", Sequential{Linear(dim, 2 * dim), GELU(), Linear(2 * dim, dim)});
  }

  Tensor forward(const Tensor& x) override {
    Tensor y = x + (*attn)(norm1(x));
    return y + mlp(norm2(y));
  }

  nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  std::shared_ptr<nn::Module> attn;
  nn::Sequential mlp{nullptr};
};

class FashionViT : public nn::Module {
 public:
  /// The layers are built in the peer's order (patch, pos, blocks, norm, head), so after the
  /// same seed they start from the PyTorch model's weights.
  explicit FashionViT(const std::string& attention = "efficient", int64_t dim = 64,
                      int64_t depth = 4, int64_t heads = 4, int64_t patch_size = 4)
      : Module("FashionViT") {
    using namespace nn;
    if (attention != "efficient" && attention != "dot")
      fail("FashionViT: attention must be efficient or dot, got '", attention, "'");
    if (patch_size < 1 || 28 % patch_size != 0)
      fail("FashionViT: the patch size must divide 28, got ", patch_size);
    patch = register_module("patch", Conv2d({.in_channels = 1,
                                             .out_channels = dim,
                                             .kernel_size = patch_size,
                                             .stride = patch_size}));
    int64_t tokens = (28 / patch_size) * (28 / patch_size);
    pos = register_parameter("pos", randn({1, tokens, dim}) * 0.02);
    blocks = register_module("blocks", Sequential());
    for (int64_t i = 0; i < depth; ++i)
      blocks->push_back(std::make_shared<ViTBlock>(dim, heads, attention));
    norm = register_module("norm", LayerNorm({.normalized_shape = {dim}}));
    head = register_module("head", Linear(dim, 10));
  }

  /// (N, 1, 28, 28) -> the tokens after the position embedding, (N, 49, dim).
  Tensor embed(const Tensor& x) { return transpose(flatten(patch(x), 2), 1, 2) + pos; }

  Tensor forward(const Tensor& x) override { return head(mean(norm(blocks(embed(x))), {1})); }

  nn::Conv2d patch{nullptr};
  Tensor pos;
  nn::Sequential blocks{nullptr};
  nn::LayerNorm norm{nullptr};
  nn::Linear head{nullptr};
};

}  // namespace ember::examples

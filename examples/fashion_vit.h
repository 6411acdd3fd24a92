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
    norm1 = register_module("norm1", std::make_shared<LayerNorm>(LayerNormOptions{{dim}}));
    norm2 = register_module("norm2", std::make_shared<LayerNorm>(LayerNormOptions{{dim}}));
    TokenAttentionOptions o{.embed_dim = dim, .num_heads = heads};
    if (attention == "efficient")
      attn = register_module("attn", std::make_shared<EfficientSelfAttention>(o));
    else
      attn = register_module("attn", std::make_shared<MultiheadAttention>(o));
    mlp = register_module(
        "mlp", std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                   std::make_shared<Linear>(dim, 2 * dim), std::make_shared<GELU>(),
                   std::make_shared<Linear>(2 * dim, dim)}));
  }

  Tensor forward(const Tensor& x) override {
    Tensor y = x + (*attn)((*norm1)(x));
    return y + (*mlp)((*norm2)(y));
  }

  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<nn::Module> attn;
  std::shared_ptr<nn::Sequential> mlp;
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
    patch =
        register_module("patch", std::make_shared<Conv2d>(Conv2dOptions{.in_channels = 1,
                                                                        .out_channels = dim,
                                                                        .kernel_size = patch_size,
                                                                        .stride = patch_size}));
    int64_t tokens = (28 / patch_size) * (28 / patch_size);
    pos = register_parameter("pos", randn({1, tokens, dim}) * 0.02);
    blocks = register_module("blocks", std::make_shared<Sequential>());
    for (int64_t i = 0; i < depth; ++i)
      blocks->push_back(std::make_shared<ViTBlock>(dim, heads, attention));
    norm = register_module("norm", std::make_shared<LayerNorm>(LayerNormOptions{{dim}}));
    head = register_module("head", std::make_shared<Linear>(dim, 10));
  }

  /// (N, 1, 28, 28) -> the tokens after the position embedding, (N, 49, dim).
  Tensor embed(const Tensor& x) { return transpose(flatten((*patch)(x), 2), 1, 2) + pos; }

  Tensor forward(const Tensor& x) override {
    return (*head)(mean((*norm)((*blocks)(embed(x))), {1}));
  }

  std::shared_ptr<nn::Conv2d> patch;
  Tensor pos;
  std::shared_ptr<nn::Sequential> blocks;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> head;
};

}  // namespace ember::examples

// FashionNet, the reference small vision model of WORKLOADS.md (W1), with the parameter names the
// same model gets in PyTorch (block1.0.weight, block1.1.running_mean, head.3.bias, ...), so a
// checkpoint moves between the two through safetensors:
//   Conv2d(1, 32, 3, padding=1) -> BatchNorm2d(32) -> ReLU -> MaxPool2d(2)      (N, 32, 14, 14)
//   attention: efficient, dot or none (identity)                               (N, 32, 14, 14)
//   Conv2d(32, 64, 3, padding=1) -> BatchNorm2d(64) -> ReLU -> MaxPool2d(2)     (N, 64, 7, 7)
//   Flatten -> Linear(3136, 128) -> ReLU -> Linear(128, 10)
#pragma once

#include <ember/ember.h>

#include <string>

namespace ember::examples {

/// Refuses an attention name the models do not know, naming `model`.
inline void check_attention(const std::string& model, const std::string& attention) {
  if (attention != "efficient" && attention != "dot" && attention != "dot-full" &&
      attention != "none")
    fail(model, ": attention must be efficient, dot, dot-full or none, got '", attention, "'");
}

/// The 2-d attention block the models name: "efficient" (EfficientAttention2d), "dot"
/// (DotProductAttention2d in blocks), "dot-full" (the same holding the whole map) or "none"
/// (identity); in = key = value = `channels`, `heads` heads.
inline std::shared_ptr<nn::Module> attention_block(const std::string& model,
                                                   const std::string& attention, int64_t channels,
                                                   int64_t heads) {
  check_attention(model, attention);
  nn::AttentionConfig o{.in_channels = channels,
                        .key_channels = channels,
                        .value_channels = channels,
                        .head_count = heads,
                        .blocked = attention != "dot-full"};
  if (attention == "efficient") return nn::EfficientAttention2d(o);
  if (attention == "dot" || attention == "dot-full") return nn::DotProductAttention2d(o);
  return nn::Identity();
}

class FashionNet : public nn::Module {
 public:
  /// attention: "efficient" (EfficientAttention2d), "dot" (DotProductAttention2d in blocks),
  /// "dot-full" (the same with the whole map) or "none"
  /// (identity), with in = key = value = 32 channels and 4 heads. The layers are built in
  /// PyTorch's order, so after the same seed they start from the PyTorch model's weights.
  explicit FashionNet(const std::string& attention = "none") : Module("FashionNet") {
    using namespace nn;
    check_attention("FashionNet", attention);
    block1 = register_module(
        "block1",
        Sequential{Conv2d({.in_channels = 1, .out_channels = 32, .kernel_size = 3, .padding = 1}),
                   BatchNorm2d(32), ReLU(), MaxPool2d(2)});
    attn = register_module("attn", attention_block("FashionNet", attention, 32, 4));
    block2 = register_module(
        "block2",
        Sequential{Conv2d({.in_channels = 32, .out_channels = 64, .kernel_size = 3, .padding = 1}),
                   BatchNorm2d(64), ReLU(), MaxPool2d(2)});
    head =
        register_module("head", Sequential{Flatten(), Linear(3136, 128), ReLU(), Linear(128, 10)});
  }

  Tensor forward(const Tensor& x) override { return head(block2((*attn)(block1(x)))); }

  nn::Sequential block1{nullptr}, block2{nullptr}, head{nullptr};
  std::shared_ptr<nn::Module> attn;
};

}  // namespace ember::examples

// SceneNet, the dense-prediction model of the fashion-scenes task (fashion_scenes.h): a small
// encoder-decoder (a U-Net of one level) with attention over its 32x32 = 1,024-position
// feature map, where a pixel's label is decided in another cell of the scene.
//   stem:    Conv2d(1, 16, 3, padding 1) BN ReLU, Conv2d(16, 16, 3, padding 1) BN ReLU  64x64
//   down:    MaxPool2d(2), Conv2d(16, 32, 3, padding 1) BN ReLU, then two more of 32 channels
//            with dilation 2 and 4 (BN ReLU each): a position sees 30 pixels, an item      32x32
//   attn:    attention over the 1,024 positions (32 channels, 4 heads), or none
//   mid:     Conv2d(32, 32, 3, padding 1) BN ReLU                                        32x32
//   up:      ConvTranspose2d(32, 16, 2, stride 2)                                        64x64
//   head:    [up, stem] concatenated, Conv2d(32, 16, 3, padding 1) BN ReLU, Conv2d(16, 3, 1)
// Without attention a pixel sees about 40 pixels around it, enough to know its own item's class,
// never the reference item's class in another cell.
#pragma once

#include <ember/ember.h>

#include <string>
#include <vector>

#include "fashion_net.h"  // attention_block

namespace ember::examples {

class SceneNet : public nn::Module {
 public:
  /// attention: "efficient" (EfficientAttention2d), "dot" (DotProductAttention2d in blocks),
  /// "dot-full" (DotProductAttention2d holding the whole 1,024 x 1,024 map) or "none".
  explicit SceneNet(const std::string& attention = "efficient") : Module("SceneNet") {
    using namespace nn;
    using Layers = std::vector<std::shared_ptr<Module>>;
    auto conv = [](int64_t in, int64_t out, int64_t dilation = 1) {
      return Layers{Conv2d({.in_channels = in,
                            .out_channels = out,
                            .kernel_size = 3,
                            .padding = dilation,
                            .dilation = dilation}),
                    BatchNorm2d(out), ReLU()};
    };
    auto sequential = [](std::initializer_list<Layers> parts) {
      auto s = Sequential();
      for (const Layers& part : parts)
        for (const auto& m : part) s->push_back(m);
      return s;
    };
    check_attention("SceneNet", attention);
    stem = register_module("stem", sequential({conv(1, 16), conv(16, 16)}));
    down = register_module(
        "down", sequential({Layers{MaxPool2d(2)}, conv(16, 32), conv(32, 32, 2), conv(32, 32, 4)}));
    attn = register_module("attn", attention_block("SceneNet", attention, 32, 4));
    mid = register_module("mid", sequential({conv(32, 32)}));
    up = register_module(
        "up",
        ConvTranspose2d({.in_channels = 32, .out_channels = 16, .kernel_size = 2, .stride = 2}));
    head = register_module(
        "head",
        sequential(
            {conv(32, 16),
             Layers{Conv2d({.in_channels = 16, .out_channels = kClasses, .kernel_size = 1})}}));
  }

  Tensor forward(const Tensor& x) override {
    Tensor skip = stem(x);
    Tensor deep = mid((*attn)(down(skip)));
    return head(cat({up(deep), skip}, 1));
  }

  static constexpr int64_t kClasses = 3;  // background, same, other
  nn::Sequential stem{nullptr}, down{nullptr}, mid{nullptr}, head{nullptr};
  std::shared_ptr<nn::Module> attn;
  nn::ConvTranspose2d up{nullptr};
};

}  // namespace ember::examples

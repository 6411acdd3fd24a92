// FashionNet, the reference small vision model of WORKLOADS.md (W1), with the parameter names the
// same model gets in PyTorch (block1.0.weight, block1.1.running_mean, head.3.bias, ...), so a
// checkpoint moves between the two through safetensors:
//   Conv2d(1, 32, 3, padding=1) -> BatchNorm2d(32) -> ReLU -> MaxPool2d(2)      (N, 32, 14, 14)
//   attention (none: identity)                                                 (N, 32, 14, 14)
//   Conv2d(32, 64, 3, padding=1) -> BatchNorm2d(64) -> ReLU -> MaxPool2d(2)     (N, 64, 7, 7)
//   Flatten -> Linear(3136, 128) -> ReLU -> Linear(128, 10)
#pragma once

#include <ember/ember.h>

namespace ember::examples {

class FashionNet : public nn::Module {
 public:
  /// attention: the module between the two blocks (nullptr: identity).
  explicit FashionNet(std::shared_ptr<nn::Module> attention = nullptr) : Module("FashionNet") {
    using namespace nn;
    using List = std::initializer_list<std::shared_ptr<Module>>;
    block1 = register_module(
        "block1", std::make_shared<Sequential>(List{
                      std::make_shared<Conv2d>(Conv2dOptions{
                          .in_channels = 1, .out_channels = 32, .kernel_size = 3, .padding = 1}),
                      std::make_shared<BatchNorm2d>(32), std::make_shared<ReLU>(),
                      std::make_shared<MaxPool2d>(2)}));
    attn = register_module("attn", attention ? attention : std::make_shared<Identity>());
    block2 = register_module(
        "block2", std::make_shared<Sequential>(List{
                      std::make_shared<Conv2d>(Conv2dOptions{
                          .in_channels = 32, .out_channels = 64, .kernel_size = 3, .padding = 1}),
                      std::make_shared<BatchNorm2d>(64), std::make_shared<ReLU>(),
                      std::make_shared<MaxPool2d>(2)}));
    head = register_module(
        "head", std::make_shared<Sequential>(
                    List{std::make_shared<Flatten>(), std::make_shared<Linear>(3136, 128),
                         std::make_shared<ReLU>(), std::make_shared<Linear>(128, 10)}));
  }

  Tensor forward(const Tensor& x) override { return (*head)((*block2)((*attn)((*block1)(x)))); }

  std::shared_ptr<nn::Sequential> block1, block2, head;
  std::shared_ptr<nn::Module> attn;
};

}  // namespace ember::examples

// The losses as modules, as torch::nn's: each holds its options and calls its functional op
// (loss.cpp), so loss_fn(output, target) reads as in libtorch:
//   nn::CrossEntropyLoss loss_fn({.weight = class_weights, .ignore_index = -100});
//   Tensor loss = loss_fn(logits, target);
// A class weight is registered as the buffer "weight", as PyTorch does.
// Read next: loss.cpp.
#pragma once

#include "functional.h"
#include "module.h"

namespace ember::nn {

/// A loss: forward takes the model's output and the target.
class Loss : public Module {
 public:
  using Module::Module;
  virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) {
    profiler::Scope scope(name());
    return forward(input, target);
  }
};

class CrossEntropyLoss : public Loss {
 public:
  explicit CrossEntropyLoss(CrossEntropyArgs options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;
  CrossEntropyArgs options;
};

class NLLLoss : public Loss {
 public:
  explicit NLLLoss(NLLLossArgs options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;
  NLLLossArgs options;
};

class MSELoss : public Loss {
 public:
  explicit MSELoss(Reduction reduction = Reduction::Mean) : Loss("MSELoss"), reduction(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
  Reduction reduction;
};

class BCEWithLogitsLoss : public Loss {
 public:
  explicit BCEWithLogitsLoss(Reduction reduction = Reduction::Mean)
      : Loss("BCEWithLogitsLoss"), reduction(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
  Reduction reduction;
};

}  // namespace ember::nn

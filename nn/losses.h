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

class CrossEntropyLossImpl : public Loss {
 public:
  explicit CrossEntropyLossImpl(CrossEntropyArgs options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;
  CrossEntropyArgs options;
};
using CrossEntropyLoss = ModuleHolder<CrossEntropyLossImpl>;

class NLLLossImpl : public Loss {
 public:
  explicit NLLLossImpl(NLLLossArgs options = {});
  Tensor forward(const Tensor& input, const Tensor& target) override;
  NLLLossArgs options;
};
using NLLLoss = ModuleHolder<NLLLossImpl>;

class MSELossImpl : public Loss {
 public:
  explicit MSELossImpl(Reduction reduction = Reduction::Mean)
      : Loss("MSELoss"), reduction(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
  Reduction reduction;
};
using MSELoss = ModuleHolder<MSELossImpl>;

class BCEWithLogitsLossImpl : public Loss {
 public:
  explicit BCEWithLogitsLossImpl(Reduction reduction = Reduction::Mean)
      : Loss("BCEWithLogitsLoss"), reduction(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) override;
  Reduction reduction;
};
using BCEWithLogitsLoss = ModuleHolder<BCEWithLogitsLossImpl>;

}  // namespace ember::nn

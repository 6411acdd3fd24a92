// FashionRNN, the sequence model of the training program (--model rnn): each image read as a
// sequence of its 28 rows, 28 pixels each, by a 2-layer LSTM (128 hidden units, batch first);
// the last step's hidden state of the top layer goes through Linear(128, 10). Parameter names
// are torch.nn.LSTM's (lstm.weight_ih_l0, ..., head.weight), so weights move to PyTorch.
#pragma once

#include <ember/ember.h>

namespace ember::examples {

class FashionRNN : public nn::Module {
 public:
  static constexpr int64_t kRows = 28, kHidden = 128;

  FashionRNN() : Module("FashionRNN") {
    lstm = register_module(
        "lstm",
        nn::LSTM(
            {.input_size = kRows, .hidden_size = kHidden, .num_layers = 2, .batch_first = true}));
    head = register_module("head", nn::Linear(kHidden, 10));
  }

  /// x: (N, 1, 28, 28) images -> (N, 10) logits.
  Tensor forward(const Tensor& x) override {
    auto [out, state] = lstm(x.view({x.size(0), kRows, kRows}));
    return head(select(out, 1, kRows - 1));  // the top layer's last hidden state
  }

  nn::LSTM lstm{nullptr};
  nn::Linear head{nullptr};
};

}  // namespace ember::examples

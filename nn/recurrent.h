// LSTM and GRU, as torch::nn's: multi-layer, batch_first, bidirectional, dropout between
// layers, PyTorch's parameter names (weight_ih_l0, bias_hh_l1_reverse, ...) and initialisation
// (every parameter uniform in ±1/sqrt(hidden_size)), so weights move between the two. The cells
// are composites of ember ops, so autograd differentiates them with no backward of their own:
//   LSTM  gates = x W_ih^T + b_ih + h W_hh^T + b_hh, split as i, f, g, o;
//         c' = sigmoid(f) c + sigmoid(i) tanh(g);  h' = sigmoid(o) tanh(c')
//   GRU   r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr);  z likewise;
//         n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn));  h' = (1 - z) n + z h
// Each layer computes x W_ih^T for every time step in one product, then steps through time.
// Read next: recurrent.cpp.
#pragma once

#include <optional>
#include <tuple>

#include "module.h"

namespace ember::nn {

struct RNNConfig {
  int64_t input_size = 0, hidden_size = 0;
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;  // input and output (batch, seq, feature) instead of (seq, batch, ...)
  double dropout = 0.0;      // on each layer's output but the last, in training
  bool bidirectional = false;
};

namespace functional {
/// One LSTM step: (h', c') from x (batch, input) and (h, c) (batch, hidden).
std::tuple<Tensor, Tensor> lstm_cell(const Tensor& x, const std::tuple<Tensor, Tensor>& hc,
                                     const Tensor& w_ih, const Tensor& w_hh,
                                     const Tensor& b_ih = {}, const Tensor& b_hh = {});
/// One GRU step: h' from x (batch, input) and h (batch, hidden).
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                const Tensor& b_ih = {}, const Tensor& b_hh = {});
}  // namespace functional

/// What LSTM and GRU share: the options, the parameters per layer and direction, the loop over
/// layers (with dropout between them) and directions, batch_first and unbatched input.
class RNNBase : public Module {
 public:
  RNNConfig options;
  /// The four parameters of layer l in a direction (bias ones undefined without bias).
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  const Weights& weights(int64_t layer, bool reverse = false) const;

 protected:
  RNNBase(const char* name, const RNNConfig& options, int64_t gates);
  /// Runs every layer over input (seq, batch, feature) from the initial states (one per
  /// state kind, each (layers * directions, batch, hidden)); returns the output and the final
  /// states in the same layout.
  std::pair<Tensor, std::vector<Tensor>> run(const Tensor& input, std::vector<Tensor> initial,
                                             size_t state_kinds);
  /// One time step of this cell: new states from x (batch, input) and the states.
  virtual std::vector<Tensor> step(const Tensor& x_projected, const std::vector<Tensor>& states,
                                   const Weights& w) const = 0;
  std::string extra_repr() const override;

 private:
  std::vector<Weights> weights_;  // layer-major: l0, l0_reverse, l1, ...
};

class LSTMImpl : public RNNBase {
 public:
  explicit LSTMImpl(const RNNConfig& options);
  /// (output, (h_n, c_n)) as libtorch's: output (seq, batch, directions * hidden), or batch
  /// first; h_n and c_n (layers * directions, batch, hidden). Without hx, zeros.
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(
      const Tensor& input, const std::optional<std::tuple<Tensor, Tensor>>& hx = std::nullopt);
  auto operator()(const Tensor& input,
                  const std::optional<std::tuple<Tensor, Tensor>>& hx = std::nullopt) {
    profiler::Scope scope(name());
    return forward(input, hx);
  }

 protected:
  std::vector<Tensor> step(const Tensor& x_projected, const std::vector<Tensor>& states,
                           const Weights& w) const override;
};
using LSTM = ModuleHolder<LSTMImpl>;

class GRUImpl : public RNNBase {
 public:
  explicit GRUImpl(const RNNConfig& options);
  /// (output, h_n), shaped as LSTM's.
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {});
  auto operator()(const Tensor& input, const Tensor& hx = {}) {
    profiler::Scope scope(name());
    return forward(input, hx);
  }

 protected:
  std::vector<Tensor> step(const Tensor& x_projected, const std::vector<Tensor>& states,
                           const Weights& w) const override;
};
using GRU = ModuleHolder<GRUImpl>;

}  // namespace ember::nn

// LSTM and GRU; the formulas are in recurrent.h. Read next: attention.h.
#include "recurrent.h"

#include <cmath>

#include "../autograd/ops.h"
#include "functional.h"
#include "init.h"

namespace ember::nn {

namespace F = functional;

namespace {

// The LSTM update from the input's projection xp = x W_ih^T + b_ih (batch, 4 hidden).
std::tuple<Tensor, Tensor> lstm_update(const Tensor& xp, const Tensor& h, const Tensor& c,
                                       const Tensor& w_hh, const Tensor& b_hh) {
  std::vector<Tensor> gates = chunk(xp + F::linear(h, w_hh, b_hh), 4, 1);
  Tensor c_next = sigmoid(gates[1]) * c + sigmoid(gates[0]) * tanh(gates[2]);
  return {sigmoid(gates[3]) * tanh(c_next), c_next};
}

// The GRU update from xp = x W_ih^T + b_ih (batch, 3 hidden).
Tensor gru_update(const Tensor& xp, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  std::vector<Tensor> x3 = chunk(xp, 3, 1), h3 = chunk(F::linear(h, w_hh, b_hh), 3, 1);
  Tensor r = sigmoid(x3[0] + h3[0]), z = sigmoid(x3[1] + h3[1]);
  Tensor n = tanh(x3[2] + r * h3[2]);
  return (1.0 - z) * n + z * h;
}

}  // namespace

std::tuple<Tensor, Tensor> F::lstm_cell(const Tensor& x, const std::tuple<Tensor, Tensor>& hc,
                                        const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                                        const Tensor& b_hh) {
  return lstm_update(F::linear(x, w_ih, b_ih), std::get<0>(hc), std::get<1>(hc), w_hh, b_hh);
}

Tensor F::gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                   const Tensor& b_ih, const Tensor& b_hh) {
  return gru_update(F::linear(x, w_ih, b_ih), h, w_hh, b_hh);
}

RNNBase::RNNBase(const char* name, const RNNConfig& o, int64_t gates) : Module(name), options(o) {
  check(o.input_size > 0 && o.hidden_size > 0 && o.num_layers > 0, name,
        ": input_size, hidden_size and num_layers must be positive, got ", o.input_size, ", ",
        o.hidden_size, ", ", o.num_layers);
  check(o.dropout >= 0 && o.dropout <= 1, name, ": dropout must be in [0, 1], got ", o.dropout);
  int64_t directions = o.bidirectional ? 2 : 1, h = o.hidden_size;
  double bound = 1.0 / std::sqrt(static_cast<double>(h));
  for (int64_t l = 0; l < o.num_layers; ++l) {
    int64_t in = l == 0 ? o.input_size : h * directions;
    for (int64_t d = 0; d < directions; ++d) {
      std::string suffix = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      Weights w;
      w.w_ih = register_parameter("weight_ih" + suffix, empty({gates * h, in}));
      w.w_hh = register_parameter("weight_hh" + suffix, empty({gates * h, h}));
      if (o.bias) {
        w.b_ih = register_parameter("bias_ih" + suffix, empty({gates * h}));
        w.b_hh = register_parameter("bias_hh" + suffix, empty({gates * h}));
      }
      weights_.push_back(w);
    }
  }
  for (const Tensor& p : parameters()) init::uniform_(p, -bound, bound);
}

const RNNBase::Weights& RNNBase::weights(int64_t layer, bool reverse) const {
  int64_t directions = options.bidirectional ? 2 : 1;
  check(layer >= 0 && layer < options.num_layers && (!reverse || options.bidirectional), name(),
        ": no weights for layer ", layer, reverse ? " in reverse" : "");
  return weights_[static_cast<size_t>(layer * directions + (reverse ? 1 : 0))];
}

// The layers run over the sequence as a list of steps, each step's input a tensor of its own:
// select(sequence, 0, t) of a tensor that needs a gradient has for backward a zero tensor of the
// whole sequence with one step written in, and T of them made the backward quadratic in T. The
// input's own steps are still selects: quadratic only when the input itself needs a gradient
// (an embedding below the first layer), as unbind is here.
std::pair<Tensor, std::vector<Tensor>> RNNBase::run(const Tensor& input,
                                                    std::vector<Tensor> initial,
                                                    size_t state_kinds) {
  int64_t directions = options.bidirectional ? 2 : 1, steps = input.size(0);
  std::vector<std::vector<Tensor>> finals(state_kinds);
  std::vector<Tensor> layer_input = unbind(input, 0);
  for (int64_t l = 0; l < options.num_layers; ++l) {
    std::vector<std::vector<Tensor>> outputs;  // per direction, per step
    for (int64_t d = 0; d < directions; ++d) {
      const Weights& w = weights(l, d == 1);
      std::vector<Tensor> states;
      for (const Tensor& s : initial) states.push_back(select(s, 0, l * directions + d));
      std::vector<Tensor> hs(static_cast<size_t>(steps));
      for (int64_t i = 0; i < steps; ++i) {
        auto t = static_cast<size_t>(d == 0 ? i : steps - 1 - i);
        states = step(F::linear(layer_input[t], w.w_ih, w.b_ih), states, w);
        hs[t] = states[0];
      }
      outputs.push_back(std::move(hs));
      for (size_t k = 0; k < state_kinds; ++k) finals[k].push_back(states[k]);
    }
    layer_input = outputs[0];
    if (directions == 2)
      for (size_t t = 0; t < layer_input.size(); ++t)
        layer_input[t] = cat({outputs[0][t], outputs[1][t]}, 1);
    if (options.dropout > 0 && l + 1 < options.num_layers)
      for (Tensor& x : layer_input) x = F::dropout(x, options.dropout, is_training());
  }
  std::vector<Tensor> last;
  for (const auto& f : finals) last.push_back(stack(f, 0));
  return {stack(layer_input, 0), last};
}

std::string RNNBase::extra_repr() const {
  std::string s = std::to_string(options.input_size) + ", " + std::to_string(options.hidden_size);
  if (options.num_layers != 1) s += ", num_layers=" + std::to_string(options.num_layers);
  if (!options.bias) s += ", bias=False";
  if (options.batch_first) s += ", batch_first=True";
  if (options.dropout > 0) s += ", dropout=" + std::to_string(options.dropout);
  if (options.bidirectional) s += ", bidirectional=True";
  return s;
}

namespace {

// Input as (seq, batch, feature): from batch first, or from an unbatched (seq, feature).
Tensor time_major(const Tensor& input, const RNNConfig& o, const std::string& who) {
  if (!((input.dim() == 2 || input.dim() == 3) && input.size(-1) == o.input_size &&
        input.is_floating_point()))
    fail(who, ": expected a floating input of (seq, batch, ", o.input_size,
         "), batch first if so "
         "built, or unbatched (seq, ",
         o.input_size, "); got ", input.dtype(), " ", shape_str(input.sizes()));
  if (input.dim() == 2) return unsqueeze(input, 1);
  return o.batch_first ? transpose(input, 0, 1) : input;
}

// The output back in the caller's layout.
Tensor caller_layout(const Tensor& out, const Tensor& input, const RNNConfig& o) {
  if (input.dim() == 2) return squeeze(out, 1);
  return o.batch_first ? transpose(out, 0, 1) : out;
}

// An initial state: given (checked, unbatched ones given a batch dim) or zeros.
Tensor initial_state(const Tensor& given, const Tensor& input, int64_t batch, const RNNConfig& o,
                     const std::string& who) {
  int64_t layers = o.num_layers * (o.bidirectional ? 2 : 1);
  Shape want{layers, batch, o.hidden_size};
  if (!given.defined()) return zeros(want, input.dtype());
  Tensor h = input.dim() == 2 ? unsqueeze(given, 1) : given;
  if (!(shape_of(h) == want))
    fail(who, ": expected an initial state of ", shape_str(want), ", got ",
         shape_str(given.sizes()));
  return h;
}

Tensor state_layout(const Tensor& state, const Tensor& input) {
  return input.dim() == 2 ? squeeze(state, 1) : state;
}

}  // namespace

LSTMImpl::LSTMImpl(const RNNConfig& o) : RNNBase("LSTM", o, 4) {}

std::vector<Tensor> LSTMImpl::step(const Tensor& xp, const std::vector<Tensor>& s,
                                   const Weights& w) const {
  auto [h, c] = lstm_update(xp, s[0], s[1], w.w_hh, w.b_hh);
  return {h, c};
}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTMImpl::forward(
    const Tensor& input, const std::optional<std::tuple<Tensor, Tensor>>& hx) {
  Tensor x = time_major(input, options, name());
  Tensor h0 = initial_state(hx ? std::get<0>(*hx) : Tensor(), input, x.size(1), options, name());
  Tensor c0 = initial_state(hx ? std::get<1>(*hx) : Tensor(), input, x.size(1), options, name());
  auto [out, last] = run(x, {h0, c0}, 2);
  return {caller_layout(out, input, options),
          {state_layout(last[0], input), state_layout(last[1], input)}};
}

GRUImpl::GRUImpl(const RNNConfig& o) : RNNBase("GRU", o, 3) {}

std::vector<Tensor> GRUImpl::step(const Tensor& xp, const std::vector<Tensor>& s,
                                  const Weights& w) const {
  return {gru_update(xp, s[0], w.w_hh, w.b_hh)};
}

std::tuple<Tensor, Tensor> GRUImpl::forward(const Tensor& input, const Tensor& hx) {
  Tensor x = time_major(input, options, name());
  auto [out, last] = run(x, {initial_state(hx, input, x.size(1), options, name())}, 1);
  return {caller_layout(out, input, options), state_layout(last[0], input)};
}

}  // namespace ember::nn

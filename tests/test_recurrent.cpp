// LSTM and GRU against torch.nn's from the same weights (tests/golden/rnn.safetensors, from
// tools/make_rnn_goldens.py): outputs, final states and every gradient, within 1e-5 in float32
// and 1e-10 in float64 (the cells' gradcheck lines are in test_gradcheck_nn.cpp); FashionRNN
// trained by the shared loop.
#include <filesystem>
#include <regex>

#include "helpers.h"
#include "programs.h"

using namespace ember;
namespace F = nn::functional;

namespace {

struct Case {
  const char* name;
  nn::RNNConfig options;
  bool lstm;
};

// The golden cases, built as tools/make_rnn_goldens.py builds them.
std::vector<Case> cases() {
  return {{"lstm", {.input_size = 5, .hidden_size = 4}, true},
          {"lstm_deep_bi_batch_first",
           {.input_size = 5,
            .hidden_size = 4,
            .num_layers = 2,
            .batch_first = true,
            .bidirectional = true},
           true},
          {"lstm_unbatched_nobias", {.input_size = 3, .hidden_size = 2, .bias = false}, true},
          {"gru", {.input_size = 5, .hidden_size = 4}, false},
          {"gru_deep_bi",
           {.input_size = 5, .hidden_size = 3, .num_layers = 2, .bidirectional = true},
           false}};
}

}  // namespace

TEST_CASE("LSTM and GRU match torch.nn from the same weights, forward and backward") {
  TensorMap g = testing::golden_file("rnn.safetensors");
  for (const Case& c : cases()) {
    for (const char* tag : {"f32", "f64"}) {
      std::string key = std::string(c.name) + "." + tag + ".";
      CAPTURE(key);
      double tol = std::string(tag) == "f32" ? 1e-5 : 1e-10;
      std::shared_ptr<nn::RNNBase> module;
      if (c.lstm)
        module = nn::LSTM(c.options);
      else
        module = nn::GRU(c.options);
      if (std::string(tag) == "f64") module->to(kFloat64);
      TensorMap params;
      for (const auto& [name, t] : g)
        if (name.rfind(key + "param.", 0) == 0) params[name.substr(key.size() + 6)] = t;
      module->load_state_dict(params);  // strict: PyTorch's names, every one
      Tensor x = clone(g.at(key + "x")).requires_grad_();
      bool with_state = g.count(key + "h0") > 0;
      Tensor h0 = with_state ? clone(g.at(key + "h0")).requires_grad_() : Tensor();
      Tensor c0 = with_state && c.lstm ? clone(g.at(key + "c0")).requires_grad_() : Tensor();
      Tensor out, hn, cn;
      if (c.lstm) {
        auto& lstm = static_cast<nn::LSTMImpl&>(*module);
        std::tuple<Tensor, std::tuple<Tensor, Tensor>> r =
            with_state ? lstm(x, std::tuple{h0, c0}) : lstm(x);
        out = std::get<0>(r);
        std::tie(hn, cn) = std::get<1>(r);
      } else {
        std::tie(out, hn) = static_cast<nn::GRUImpl&>(*module)(x, h0);
      }
      CHECK_CLOSE_ABS(out, g.at(key + "out"), tol, tol);
      CHECK_CLOSE_ABS(hn, g.at(key + "hn"), tol, tol);
      Tensor total = sum(out * g.at(key + "gout")) + sum(hn * g.at(key + "ghn"));
      if (c.lstm) {
        CHECK_CLOSE_ABS(cn, g.at(key + "cn"), tol, tol);
        total = total + sum(cn * g.at(key + "gcn"));
      }
      total.backward();
      CHECK_CLOSE_ABS(x.grad(), g.at(key + "grad.x"), tol, tol);
      if (with_state) CHECK_CLOSE_ABS(h0.grad(), g.at(key + "grad.h0"), tol, tol);
      if (c0.defined()) CHECK_CLOSE_ABS(c0.grad(), g.at(key + "grad.c0"), tol, tol);
      for (const auto& [name, p] : module->named_parameters()) {
        CAPTURE(name);
        CHECK_CLOSE_ABS(p.grad(), g.at(key + "grad." + name), tol, tol);
      }
    }
  }
}

TEST_CASE("recurrent layers: PyTorch's names, initialisation bound and clear errors") {
  nn::LSTM lstm({.input_size = 3, .hidden_size = 4, .num_layers = 2, .bidirectional = true});
  std::vector<std::string> names;
  for (const auto& [name, p] : lstm->named_parameters()) names.push_back(name);
  CHECK(names.size() == 16);
  CHECK(names[0] == "weight_ih_l0");
  CHECK(names[4] == "weight_ih_l0_reverse");
  CHECK(shape_of(lstm->weights(1).w_ih) == Shape{16, 8});  // layer 1 reads both directions
  for (const Tensor& p : lstm->parameters()) CHECK(max(abs(p)).item<double>() <= 0.5);
  CHECK_THROWS_WITH_AS(lstm(zeros({5, 2, 4})),
                       doctest::Contains("LSTM: expected a floating input of (seq, batch, 3)"),
                       Error);
  CHECK_THROWS_WITH_AS(lstm(zeros({5, 2, 3}), std::tuple{zeros({4, 2, 3}), zeros({4, 2, 4})}),
                       "LSTM: expected an initial state of [4, 2, 4], got [4, 2, 3]", Error);
  auto [out, state] = lstm(zeros({5, 2, 3}));
  CHECK(shape_of(out) == Shape{5, 2, 8});
  CHECK(shape_of(std::get<1>(state)) == Shape{4, 2, 4});
}

TEST_CASE("an LSTM's backward moves bytes in proportion to the sequence length, not its square") {
  // The profiler's byte counts over one backward, at 16 and at 64 steps (2 layers, so the second
  // reads the first's outputs, which need gradients): linear work gives 4x; a backward that
  // wrote a whole-sequence tensor per step gave about 10x here.
  nn::LSTM lstm({.input_size = 4, .hidden_size = 8, .num_layers = 2, .bidirectional = true});
  auto backward_bytes = [&](int64_t steps) {
    manual_seed(3);
    auto [out, state] = lstm(randn({steps, 2, 4}));
    profiler::Profile profile;
    out.sum().backward();
    profile.stop();
    return static_cast<double>(profile.total_work().bytes);
  };
  double ratio = backward_bytes(64) / backward_bytes(16);
  MESSAGE("bytes moved by the backward, 64 steps against 16: ", ratio, "x");
  CHECK(ratio < 4.5);
  CHECK(ratio > 3.5);
}

TEST_CASE(
    "train_fashion_mnist --model rnn: the LSTM learns rows as a sequence and resumes exactly") {
  namespace fs = std::filesystem;
  fs::path dir = testing::scratch("rnn");
  testing::write_fake_mnist(dir, 512, 128);
  std::string common =
      "--model rnn --data " + dir.string() + " --batch-size 32 --threads 2 --epochs 3 --lr 0.01 ";
  std::string out;
  REQUIRE(testing::run_training(common + "--save " + (dir / "full.safetensors").string(), &out) ==
          0);
  CHECK(out.find("FashionRNN") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("final test accuracy: ([0-9.]+)%")));
  CHECK(std::stod(m[1]) > 50.0);  // chance is 10%: the class is a bright row, one step of 28
  REQUIRE(testing::run_training(common + "--stop-after 1 --save " +
                                (dir / "part.safetensors").string()) == 0);
  REQUIRE(testing::run_training(common + "--resume " + (dir / "part.safetensors").string() +
                                " --save " + (dir / "resumed.safetensors").string()) == 0);
  TensorMap full = load_safetensors((dir / "full.safetensors").string()),
            resumed = load_safetensors((dir / "resumed.safetensors").string());
  REQUIRE(full.count("model.lstm.weight_hh_l1"));
  for (const auto& [name, t] : full) {
    CAPTURE(name);
    CHECK(testing::values(t) == testing::values(resumed.at(name)));
  }
  CHECK(testing::run_training(common + "--attention efficient", &out) == 2);
  CHECK(out.find("--model rnn has no attention") != std::string::npos);
  fs::remove_all(dir);
}

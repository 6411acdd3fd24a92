// An outside project's libtorch model code, with one line added (namespace torch = ember): a
// module of its own holding layer handles (members made from option builders, registered in the
// constructor, called as conv(x)), a handle to its own module, nn::Sequential from handles, an
// empty handle assigned later, SGD and Adam from their option builders and a data loader from
// DataLoaderOptions. The numbers beside each check are what PyTorch 1.13 printed for the same
// model, seed and data (float32).
#include <ember/ember.h>

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

namespace torch = ember;

namespace {

int failures = 0;

void expect(const std::string& what, const std::vector<double>& got,
            const std::vector<double>& want) {
  bool same = got.size() == want.size();
  for (size_t i = 0; same && i < got.size(); ++i)
    same = std::abs(got[i] - want[i]) <= 2e-5 * (1 + std::abs(want[i]));
  if (!same) {
    std::cout << "modules: " << what << " differs from PyTorch's:";
    for (double v : got) std::cout << " " << v;
    std::cout << "\n";
    ++failures;
  }
}

std::vector<double> values(const torch::Tensor& t) {
  torch::Tensor flat = t.to(torch::kFloat64).contiguous().reshape({-1});
  return {flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel()};
}

struct NetImpl : torch::nn::Module {
  NetImpl()
      : conv(torch::nn::Conv2dOptions(1, 4, 3).padding(1).bias(false)),
        bn(torch::nn::BatchNorm2dOptions(4).momentum(0.5)),
        pool(torch::nn::MaxPool2dOptions(2).stride(2)),
        fc(torch::nn::LinearOptions(16, 3)) {
    register_module("conv", conv);
    register_module("bn", bn);
    register_module("pool", pool);
    register_module("fc", fc);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = pool(torch::relu(bn(conv(x))));
    return fc(x.flatten(1));
  }
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
  torch::nn::MaxPool2d pool;
  torch::nn::Linear fc;
};
using Net = torch::nn::ModuleHolder<NetImpl>;  // what libtorch's TORCH_MODULE(Net) declares

struct Encoder : torch::nn::Module {
  Encoder() { body = register_module("body", torch::nn::Linear(3, 2)); }
  torch::nn::Linear body{nullptr};
};

}  // namespace

int main() {
  torch::manual_seed(0);
  Net net;
  auto x = torch::sin(torch::arange(32).to(torch::kFloat32).reshape({2, 1, 4, 4}) / 10 - 1.5);
  auto y = torch::tensor({0, 2});
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  std::vector<double> losses;
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net(x), y);
    loss.backward();
    sgd.step();
    losses.push_back(loss.item<double>());
  }
  expect("SGD losses", losses, {1.371493, 0.7767012, 0.2961361});
  expect("fc.weight[0, :4]", values(net->fc->weight.index({0, torch::indexing::Slice(0, 4)})),
         {0.006966194, 0.3853944, 0.2580687, 0.2863267});
  expect("bn.running_mean", values(net->bn->running_mean),
         {0.03003767, 0.03975886, 0.05784105, -0.02467197});
  std::string names;
  for (const auto& pair : net->named_parameters()) names += pair.key() + " ";
  if (names != "conv.weight bn.weight bn.bias fc.weight fc.bias ") {
    std::cout << "modules: parameter names " << names << "\n";
    ++failures;
  }

  torch::manual_seed(1);
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(3, 5).num_layers(2).batch_first(true));
  auto out = std::get<0>(lstm(torch::ones({2, 4, 3})));
  expect("LSTM output", values(out.index({1, -1})),
         {0.03968326, -0.08999804, 0.1722753, -0.1973553, 0.1416701});

  auto w = torch::zeros({3}, torch::TensorOptions().requires_grad(true));
  torch::optim::Adam adam({w}, torch::optim::AdamOptions(0.1).betas({0.5, 0.9}).weight_decay(0.1));
  for (int step = 0; step < 3; ++step) {
    adam.zero_grad();
    (w - torch::tensor({1.0, -2.0, 3.0})).pow(2).sum().backward();
    adam.step();
  }
  expect("Adam", values(w), {0.2936597, -0.297122, 0.2981412});

  // Handles share their module: a copy, the registered child and the member are one module.
  auto encoder = std::make_shared<Encoder>();
  torch::nn::Linear alias = encoder->body;
  alias->weight.data().fill_(0.25);
  expect("shared handle", values(encoder->named_parameters()["body.weight"]),
         {0.25, 0.25, 0.25, 0.25, 0.25, 0.25});
  torch::nn::Sequential seq(torch::nn::Linear(2, 3), torch::nn::ReLU(),
                            torch::nn::Linear(torch::nn::LinearOptions(3, 1).bias(false)));
  seq->push_back(torch::nn::Sigmoid());
  auto p = seq->forward(torch::ones({5, 2}));
  if (seq->size() != 4 || p.size(0) != 5 || p.size(1) != 1) {
    std::cout << "modules: Sequential from handles\n";
    ++failures;
  }

  std::cout << "modules: " << (failures ? "FAILED" : "libtorch's module code matches PyTorch")
            << "\n";
  return failures ? 1 : 0;
}

// Golden parity with PyTorch: composite expressions evaluated by tools/make_goldens.py with
// PyTorch, stored in tests/golden/autograd.safetensors. ember must reproduce the outputs and the
// gradients to 1e-12 relative in float64 and 1e-5 in float32.
#include <functional>
#include <map>

#include "helpers.h"

using namespace ember;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

namespace {

// The same expressions as tools/make_goldens.py, written with ember ops.
std::map<std::string, Fn> expressions() {
  return {
      {"mlp", [](const auto& x) { return log_softmax(tanh(matmul(x[0], x[1]) + x[2]), 1); }},
      {"norm",
       [](const auto& x) {
         Tensor mu = mean(x[0], {1}, true);
         Tensor v = var(x[0], {1}, 1, true);
         return (x[0] - mu) / sqrt(v + 1e-5) * x[1];
       }},
      {"attention",
       [](const auto& x) {
         double scale = 1.0 / std::sqrt(static_cast<double>(x[0].size(-1)));
         return matmul(softmax(matmul(x[0], transpose(x[1], -1, -2)) * scale, -1), x[2]);
       }},
      {"pointwise",
       [](const auto& x) {
         return log(sigmoid(x[0]) + exp(neg(x[0] * x[0]))) * pow(x[1], 1.5) + erf(x[0]) / x[1];
       }},
      {"picks",
       [](const auto& x) {
         Tensor target = view(tensor({2, 0, 3}, kInt64), {3, 1});
         Tensor nll = neg(gather(log_softmax(x[0], 1), 1, target));
         Tensor rows = index_select(x[0], 0, tensor({2, 0}, kInt64));
         return cat({reshape(expand(nll, {3, 2}), {-1}), reshape(rows, {-1})}) * 1.0;
       }},
      {"extremes",
       [](const auto& x) {
         Tensor m = amax(x[0], {1}, true);
         return relu(x[0] - 0.1) * maximum(x[0], x[1]) + clamp(x[1], -0.5, 0.5) - m;
       }},
      {"batched", [](const auto& x) { return sum(matmul(x[0], x[1]), {0}); }},
      {"views",
       [](const auto& x) {
         Tensor y = slice(slice(permute(x[0], {2, 0, 1}), 0, 1, 4), 2, 0, 3, 2);
         Tensor s = stack({select(y, 0, 0), squeeze(narrow(y, 0, 1, 1), 0)}, 0);
         return flatten(unsqueeze(s, 1), 2);
       }},
  };
}

}  // namespace

TEST_CASE("composite expressions match PyTorch's outputs and gradients") {
  TensorMap golden = load_safetensors(std::string(EMBER_GOLDEN_DIR) + "/autograd.safetensors");
  for (const auto& [name, fn] : expressions()) {
    for (std::string tag : {"f64", "f32"}) {
      CAPTURE(name);
      CAPTURE(tag);
      double rtol = tag == "f64" ? 1e-12 : 1e-5, atol = tag == "f64" ? 1e-14 : 1e-6;
      std::string key = name + "." + tag + ".";
      std::vector<Tensor> inputs;
      for (int i = 0; golden.count(key + "in" + std::to_string(i)); ++i)
        inputs.push_back(golden.at(key + "in" + std::to_string(i)).requires_grad_());
      REQUIRE(!inputs.empty());
      Tensor out = fn(inputs);
      CHECK_CLOSE_ABS(out, golden.at(key + "out"), rtol, atol);
      out.backward(golden.at(key + "gout"));
      for (size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        CHECK_CLOSE_ABS(inputs[i].grad(), golden.at(key + "grad" + std::to_string(i)), rtol, atol);
      }
    }
  }
}

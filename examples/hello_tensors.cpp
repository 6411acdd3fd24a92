// A first tour of ember: make tensors, compute with them, differentiate, save and load.
// Run: ./build/examples/hello_tensors
#include <ember/ember.h>

#include <cstdio>
#include <iostream>

int main() {
  using namespace ember;
  manual_seed(0);

  Tensor a = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  Tensor b = tensor({10.0, 20.0, 30.0});
  std::cout << "a + b (broadcast):\n" << a + b << "\n\n";
  std::cout << "a @ a^T:\n" << matmul(a, transpose(a, 0, 1)) << "\n\n";
  std::cout << "softmax over each row:\n" << softmax(a, 1) << "\n\n";

  // Reverse-mode autograd: the gradient of a small loss with respect to w.
  Tensor x = randn({4, 3});
  Tensor w = randn({3, 2}).requires_grad_();
  Tensor loss = mean(tanh(matmul(x, w)));
  loss.backward();
  std::cout << "loss = " << loss.item<double>() << "\ndloss/dw:\n" << w.grad() << "\n\n";

  // Tensors move through safetensors files, the format PyTorch uses too.
  save_safetensors("hello_tensors.safetensors", {{"w", w.detach()}, {"a", a}});
  TensorMap back = load_safetensors("hello_tensors.safetensors");
  std::cout << "read back w:\n" << back.at("w") << "\n";
  std::remove("hello_tensors.safetensors");
  std::cout << "\ntensor storage held now: " << memory_stats().current << " bytes, peak "
            << memory_stats().peak << " bytes, threads: " << get_num_threads() << "\n";
  return 0;
}

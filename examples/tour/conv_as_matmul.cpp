// The guided tour, chapter 3 (docs/tour/03-convolution-is-a-matrix-product.md): im2col on a
// 4x4 image by hand, the same columns from ember's unfold, the convolution as one matrix product
// over them, and its input gradient as the adjoint (col2im, ember's fold), checked by gradcheck.
// Run: ./build/examples/tour/conv_as_matmul
#include <ember/ember.h>

#include <iostream>

using namespace ember;
namespace F = ember::nn::functional;

namespace {

// Prints a 2-D tensor of whole numbers, one row a line.
void print_rows(const char* name, const Tensor& t) {
  std::cout << name << ":\n";
  Tensor d = to(t, kFloat64).contiguous();
  for (int64_t i = 0; i < d.size(0); ++i) {
    for (int64_t j = 0; j < d.size(1); ++j)
      std::cout << (j ? " " : "  ") << d.data_ptr<double>()[i * d.size(1) + j];
    std::cout << "\n";
  }
}

// True if a and b hold the same numbers, to float64 rounding (1e-12).
bool same(const Tensor& a, const Tensor& b) { return amax(abs(a - b), {}).item<double>() < 1e-12; }

}  // namespace

int main() {
  // tour:begin by_hand
  Tensor image = arange(1, 17, 1, kFloat64).view({1, 1, 4, 4});  // pixels 1..16, row by row
  const int64_t k = 3, out = 4 - k + 1;                          // 3x3 kernel, 2x2 output
  Tensor cols = zeros({k * k, out * out}, kFloat64);  // one column per output pixel
  for (int64_t oy = 0; oy < out; ++oy)
    for (int64_t ox = 0; ox < out; ++ox)
      for (int64_t ky = 0; ky < k; ++ky)
        for (int64_t kx = 0; kx < k; ++kx)
          cols.select(0, ky * k + kx).select(0, oy * out + ox).fill_(
              image.select(2, oy + ky).select(2, ox + kx).item<double>());
  print_rows("im2col by hand (9 x 4)", cols);
  // tour:end by_hand

  // tour:begin unfold
  Tensor unfolded = F::unfold(image, k).view({k * k, out * out});  // ember's im2col
  std::cout << "unfold gives the same columns: " << (same(unfolded, cols) ? "yes" : "no")
            << "\n";
  // tour:end unfold

  // tour:begin matmul
  Tensor weight = tensor({{1, 0, -1}, {2, 0, -2}, {1, 0, -1}}, kFloat64);  // Sobel, x direction
  Tensor as_matmul = matmul(weight.view({1, k * k}), cols).view({out, out});
  Tensor direct = F::conv2d(image, weight.view({1, 1, k, k})).view({out, out});
  print_rows("weight (1 x 9) @ columns (9 x 4), as 2 x 2", as_matmul);
  std::cout << "conv2d gives the same: " << (same(as_matmul, direct) ? "yes" : "no") << "\n";
  // tour:end matmul

  // tour:begin backward
  Tensor x = image.clone().requires_grad_();
  Tensor g = tensor({{1, 2}, {3, 4}}, kFloat64);  // an output gradient
  sum(F::conv2d(x, weight.view({1, 1, k, k})).view({out, out}) * g).backward();
  Tensor dcols = matmul(weight.view({k * k, 1}), g.view({1, out * out}));  // Wᵀ g: (9, 4)
  Tensor dx = F::fold(dcols.view({1, k * k, out * out}), 4, k).view({4, 4});  // col2im
  print_rows("input gradient: fold(Wᵀ g)", dx);
  std::cout << "conv2d's backward gives the same: "
            << (same(x.grad().view({4, 4}), dx) ? "yes" : "no") << "\n";
  // tour:end backward

  // tour:begin gradcheck
  manual_seed(0);
  Tensor xs = randn({2, 3, 5, 5}, kFloat64).requires_grad_();
  Tensor ws = randn({4, 3, 3, 3}, kFloat64).requires_grad_();
  auto result = autograd::gradcheck(
      [](const auto& in) { return F::conv2d(in[0], in[1], {}, {.stride = 2, .padding = 1}); },
      {xs, ws});
  std::cout << "gradcheck of conv2d (stride 2, padding 1): "
            << (result.passed ? "passed" : result.message) << "\n";
  // tour:end gradcheck
}

// The grid-changing ops (nn/convolution.cpp, nn/vision.cpp, nn/pooling.cpp, nn/dropout.cpp) beyond
// the PyTorch goldens (test_nn.cpp) and gradcheck lines (test_gradcheck_nn.cpp): conv_transpose2d
// against a naive scatter loop, dropout2d's channel masks, trunc_normal_'s bounds, the layers'
// descriptions and the errors bad arguments get.
#include <sstream>

#include "helpers.h"

using namespace ember;
namespace F = ember::nn::functional;
using ember::testing::values;

namespace {

// The definition: every input pixel (i, j) of channel c adds x * w[c, o, p, q] at output
// (i*s - pad + p*d, j*s - pad + q*d), for the output channels o of c's group.
Tensor naive_conv_transpose(const Tensor& x, const Tensor& w, const nn::ConvTransposeArgs& a,
                            int64_t oh, int64_t ow) {
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  int64_t per = w.size(1), groups = a.groups, kh = w.size(2), kw = w.size(3);
  Tensor y = zeros({n, per * groups, oh, ow}, kFloat64);
  auto xv = values(x), wv = values(w);
  double* out = y.data_ptr<double>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ci = 0; ci < c; ++ci)
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < wd; ++j)
          for (int64_t o = 0; o < per; ++o)
            for (int64_t p = 0; p < kh; ++p)
              for (int64_t q = 0; q < kw; ++q) {
                int64_t r = i * a.stride.h - a.padding.h + p * a.dilation.h;
                int64_t s = j * a.stride.w - a.padding.w + q * a.dilation.w;
                if (r < 0 || r >= oh || s < 0 || s >= ow) continue;
                int64_t oc = ci / (c / groups) * per + o;
                out[((b * per * groups + oc) * oh + r) * ow + s] +=
                    xv[((b * c + ci) * h + i) * wd + j] * wv[((ci * per + o) * kh + p) * kw + q];
              }
  return y;
}

}  // namespace

TEST_CASE("conv_transpose2d equals the scatter loop of its definition") {
  manual_seed(3);
  for (int64_t stride : {1, 2, 3})
    for (int64_t padding : {0, 2})
      for (int64_t dilation : {1, 2})
        for (int64_t groups : {1, 2}) {
          nn::ConvTransposeArgs a{.stride = stride,
                                  .padding = padding,
                                  .output_padding = std::max(stride, dilation) - 1,
                                  .groups = groups,
                                  .dilation = dilation};
          CAPTURE(stride);
          CAPTURE(padding);
          CAPTURE(dilation);
          CAPTURE(groups);
          Tensor x = randn({2, 4, 3, 4}, kFloat64), w = randn({4, 3, 3, 2}, kFloat64);
          Tensor y = F::conv_transpose2d(x, w, {}, a);
          int64_t oh = 2 * stride - 2 * padding + dilation * 2 + a.output_padding.h + 1;
          int64_t ow = 3 * stride - 2 * padding + dilation * 1 + a.output_padding.w + 1;
          CHECK_CLOSE(y, naive_conv_transpose(x, w, a, oh, ow), 1e-12);
        }
}

TEST_CASE("dropout2d drops whole channels with probability p and scales the rest") {
  manual_seed(11);
  Tensor x = ones({50, 40, 3, 3});
  auto v = values(F::dropout2d(x, 0.3, true));
  int64_t dropped = 0;
  for (int64_t ch = 0; ch < 50 * 40; ++ch) {
    std::vector<double> plane(v.begin() + ch * 9, v.begin() + ch * 9 + 9);
    CHECK((plane == std::vector<double>(9, 0.0) ||
           plane == std::vector<double>(9, static_cast<double>(1.0f / 0.7f))));
    dropped += plane[0] == 0.0;
  }
  double expected = 0.3 * 2000, sigma = std::sqrt(2000 * 0.3 * 0.7);
  CHECK(std::abs(static_cast<double>(dropped) - expected) < 5 * sigma);
  CHECK(values(F::dropout2d(x, 0.3, false)) == values(x));
  nn::Dropout2d layer(0.3);
  layer->eval();
  CHECK(values(layer(x)) == values(x));
  CHECK_THROWS_WITH_AS(F::dropout2d(ones({3, 4}), 0.5), doctest::Contains("(N, C, H, W)"), Error);
}

TEST_CASE("trunc_normal_ stays inside [a, b] with the truncated normal's mean") {
  manual_seed(2);
  Tensor t = empty({20000}, kFloat64);
  nn::init::trunc_normal_(t, 0.5, 1.0, 0.0, 3.0);
  auto v = values(t);
  CHECK(*std::min_element(v.begin(), v.end()) >= 0.0);
  CHECK(*std::max_element(v.begin(), v.end()) <= 3.0);
  // E[X] = μ + σ (φ(α) - φ(β)) / (Φ(β) - Φ(α)), α = -0.5, β = 2.5.
  auto phi = [](double z) { return std::exp(-z * z / 2) / std::sqrt(2 * std::numbers::pi); };
  auto cdf = [](double z) { return (1 + std::erf(z / std::numbers::sqrt2)) / 2; };
  double expected = 0.5 + (phi(-0.5) - phi(2.5)) / (cdf(2.5) - cdf(-0.5));
  CHECK(mean(t).item<double>() == doctest::Approx(expected).epsilon(0.02));
  CHECK_THROWS_WITH_AS(nn::init::trunc_normal_(t, 0, 1, 2, 1), doctest::Contains("a < b"), Error);
}

TEST_CASE("the new layers print as PyTorch's and refuse bad arguments clearly") {
  auto repr = [](const nn::Module& m) {
    std::ostringstream out;
    out << m;
    return out.str();
  };
  nn::ConvTranspose2d up({.in_channels = 4,
                          .out_channels = 2,
                          .kernel_size = 3,
                          .stride = 2,
                          .padding = 1,
                          .output_padding = 1});
  CHECK(repr(*up).rfind("ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
                        "output_padding=(1, 1))",
                        0) == 0);
  CHECK(repr(*nn::Upsample({.scale_factor = 2.0}))
            .rfind("Upsample(scale_factor=2.0, mode='nearest')", 0) == 0);
  CHECK(repr(*nn::Upsample({.size = nn::Pair{5, 7}, .mode = nn::Interpolation::Bilinear}))
            .rfind("Upsample(size=(5, 7), mode='bilinear')", 0) == 0);
  CHECK(repr(*nn::AdaptiveMaxPool2d(2)).rfind("AdaptiveMaxPool2d(output_size=(2, 2))", 0) == 0);

  Tensor x = zeros({1, 2, 3, 3});
  CHECK_THROWS_WITH_AS(F::pad(x, {3, 0}, nn::PadMode::Reflect),
                       doctest::Contains("must be smaller than dim 3"), Error);
  CHECK_THROWS_WITH_AS(F::pad(x, {1}), doctest::Contains("even number"), Error);
  CHECK_THROWS_WITH_AS(F::pad(x, {-4, 0}), doctest::Contains("crop more"), Error);
  CHECK_THROWS_WITH_AS(F::interpolate(x, {}), doctest::Contains("exactly one of size"), Error);
  CHECK_THROWS_WITH_AS(F::interpolate(x, {.scale_factor = 2.0, .align_corners = true}),
                       doctest::Contains("bilinear interpolation only"), Error);
  CHECK_THROWS_WITH_AS(F::interpolate(x, {.scale_factor = 0.1}), doctest::Contains("empty output"),
                       Error);
  CHECK_THROWS_WITH_AS(F::conv_transpose2d(x, zeros({3, 2, 3, 3})),
                       doctest::Contains("input has 2 channels but weight expects 3"), Error);
  CHECK_THROWS_WITH_AS(F::conv_transpose2d(x, zeros({2, 2, 3, 3}), {}, {.output_padding = 1}),
                       doctest::Contains("output_padding 1 must be smaller"), Error);
  CHECK_THROWS_WITH_AS(F::adaptive_max_pool2d(zeros({2, 3}), 1),
                       doctest::Contains("adaptive_max_pool2d: expected a 4-D input"), Error);
}

// Convolution and pooling kernels against naive loops: the Winograd F(2x2, 3x3) path (forward,
// input, weight and bias gradients; batches that span several chunks; odd sizes; every padding
// it serves), dilated convolutions through it, and the im2col path beside them, the 2x2 max-pool
// fast path (ties, NaN) and max pooling's backward.
#include <ember/core/kernels/conv.h>
#include <ember/core/kernels/pool.h>

#include <tuple>

#include "helpers.h"

using namespace ember;
namespace F = ember::nn::functional;

namespace {

// The naive 3x3 (any kernel) correlation and its gradients, in double, from the definitions
// (dilation d):
//   y[n,k,oy,ox] = b[k] + Σ_{c,i,j} x[n,c,oy+id-p,ox+jd-p] w[k,c,i,j]
//   dx[n,c,y,x] = Σ_{k,i,j} g[n,k,y-id+p,x-jd+p] w[k,c,i,j]    dw[k,c,i,j] = Σ_{n,oy,ox} g x
struct NaiveConv {
  std::vector<double> y, dx, dw, db;
};

NaiveConv naive_conv(const Tensor& x_t, const Tensor& w_t, const Tensor& b_t, const Tensor& g_t,
                     int64_t pad, int64_t dil = 1) {
  auto x = testing::values(x_t), w = testing::values(w_t), b = testing::values(b_t),
       g = testing::values(g_t);
  int64_t n = x_t.size(0), c = x_t.size(1), h = x_t.size(2), wd = x_t.size(3);
  int64_t k = w_t.size(0), kh = w_t.size(2), kw = w_t.size(3);
  int64_t oh = h + 2 * pad - dil * (kh - 1), ow = wd + 2 * pad - dil * (kw - 1);
  NaiveConv r{std::vector<double>(n * k * oh * ow), std::vector<double>(x.size()),
              std::vector<double>(w.size()), std::vector<double>(k)};
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ik = 0; ik < k; ++ik)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          int64_t yo = ((in * k + ik) * oh + oy) * ow + ox;
          double acc = b[ik], gv = g[yo];
          r.db[ik] += gv;
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                int64_t yy = oy + i * dil - pad, xx = ox + j * dil - pad;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                int64_t xi = ((in * c + ic) * h + yy) * wd + xx;
                int64_t wi = ((ik * c + ic) * kh + i) * kw + j;
                acc += x[xi] * w[wi];
                r.dx[xi] += gv * w[wi];
                r.dw[wi] += gv * x[xi];
              }
          r.y[yo] = acc;
        }
  return r;
}

void check_near(const std::vector<double>& got, const std::vector<double>& want, double tol,
                const char* what) {
  REQUIRE(got.size() == want.size());
  double scale = 0, worst = 0;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  CHECK_MESSAGE(worst <= tol * std::max(scale, 1.0), what, ": worst |difference| ", worst,
                " against values up to ", scale);
}

// conv2d forward and backward on random (n, c, h, w) input and k filters of 3x3, every result
// against naive_conv.
void check_conv(int64_t n, int64_t c, int64_t k, int64_t h, int64_t w, int64_t pad,
                int64_t dilation, DType dt) {
  Tensor x = to(randn({n, c, h, w}), dt).requires_grad_();
  Tensor wt = to(randn({k, c, 3, 3}), dt).requires_grad_();
  Tensor b = to(randn({k}), dt).requires_grad_();
  Tensor y = F::conv2d(x, wt, b, {.padding = pad, .dilation = dilation});
  Tensor g = to(randn(testing::shape(y)), dt);
  y.backward(g);
  NaiveConv want = naive_conv(x, wt, b, g, pad, dilation);
  double tol = dt == kFloat64 ? 1e-13 : 2e-5;
  check_near(testing::values(y), want.y, tol, "output");
  check_near(testing::values(x.grad()), want.dx, tol, "input gradient");
  check_near(testing::values(wt.grad()), want.dw, tol, "weight gradient");
  check_near(testing::values(b.grad()), want.db, tol, "bias gradient");
}

}  // namespace

TEST_CASE("conv2d 3x3 (Winograd path and im2col path) against a naive loop") {
  struct Config {
    int64_t n, c, k, h, w, pad;
  };
  // c, k >= 8 take the Winograd path; the last two take im2col (too few channels). 70 samples
  // of 5x5 span several chunks with a partial last one; odd sizes leave partial tiles. Then
  // FashionNet's second convolution, a 28x28 plane whose rows are wider than a vector, channel
  // counts that leave partial vectors and partial register tiles, and 1x1 outputs; then an odd
  // number of output rows 12 wide (whose gradient rows, copied in whole vectors, once spilled
  // into the missing last row of tiles).
  Config configs[] = {{3, 8, 9, 7, 6, 1},     {2, 8, 8, 6, 6, 0},  {2, 9, 8, 5, 7, 2},
                      {70, 16, 8, 5, 5, 1},   {1, 8, 12, 3, 3, 1}, {4, 32, 64, 14, 14, 1},
                      {2, 20, 17, 28, 27, 1}, {5, 8, 8, 3, 3, 0},  {4, 8, 8, 3, 12, 1},
                      {2, 9, 8, 5, 12, 2},    {2, 4, 8, 6, 6, 1},  {2, 8, 3, 6, 6, 1}};
  manual_seed(7);
  for (DType dt : {kFloat64, kFloat32}) {
    for (const Config& cf : configs) {
      CAPTURE(cf.n);
      CAPTURE(cf.c);
      CAPTURE(cf.k);
      CAPTURE(cf.pad);
      CAPTURE(dtype_name(dt));
      check_conv(cf.n, cf.c, cf.k, cf.h, cf.w, cf.pad, 1, dt);
    }
  }
}

TEST_CASE(
    "dilated conv2d 3x3 (as Winograd over the dilation's classes, and im2col) against a naive "
    "loop") {
  struct Config {
    int64_t n, c, k, h, w, dilation, pad;
    bool classes;  // expected to run as Winograd over the d x d classes of the map
  };
  // Dilation 2 and 4 with padding d and 2d over maps whose sides d divides and whose class maps
  // are at least 12 wide (SceneNet's down 2: 32 x 32, d = 2); then the cases the classes do not
  // serve: a side d does not divide, a padding that is not a multiple of d, too few channels,
  // class maps narrower than 12 (SceneNet's down 3: d = 4 at 32 x 32).
  Config configs[] = {{2, 8, 8, 6, 24, 2, 2, true},  {3, 16, 9, 12, 48, 4, 4, true},
                      {2, 8, 8, 8, 26, 2, 4, true},  {1, 32, 32, 32, 32, 2, 2, true},
                      {2, 8, 8, 9, 24, 2, 2, false}, {2, 8, 8, 8, 24, 2, 3, false},
                      {2, 4, 8, 8, 24, 2, 2, false}, {1, 8, 8, 32, 32, 4, 4, false}};
  manual_seed(11);
  for (DType dt : {kFloat64, kFloat32}) {
    for (const Config& cf : configs) {
      CAPTURE(cf.h);
      CAPTURE(cf.w);
      CAPTURE(cf.dilation);
      CAPTURE(cf.pad);
      CAPTURE(dtype_name(dt));
      profiler::Profile profile;
      check_conv(cf.n, cf.c, cf.k, cf.h, cf.w, cf.pad, cf.dilation, dt);
      profile.stop();
      bool winograd = false;
      for (const profiler::Event& e : profile.events())
        winograd = winograd || e.name == "kernels::winograd_conv2d";
      CHECK(winograd == cf.classes);
    }
  }
}

TEST_CASE("conv2d on the Winograd path gives the same bits at 1 and 2 threads") {
  manual_seed(8);
  Tensor x = randn({20, 16, 9, 9}).requires_grad_();
  Tensor w = randn({8, 16, 3, 3}).requires_grad_();
  std::vector<std::vector<double>> runs;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    Tensor y = F::conv2d(x, w, {}, {.padding = 1});
    sum(y * y).backward();
    auto v = testing::values(y), gx = testing::values(x.grad()), gw = testing::values(w.grad());
    v.insert(v.end(), gx.begin(), gx.end());
    v.insert(v.end(), gw.begin(), gw.end());
    runs.push_back(v);
  }
  set_num_threads(2);
  CHECK(runs[0] == runs[1]);
}

TEST_CASE("max_pool2d's backward sends each gradient to its window's winner, as a naive loop") {
  // Small integers tie everywhere, and 3x3 windows at stride 2 overlap, so pixels win several
  // windows and must receive their sum; with padding 1 the border windows are partial. The
  // plain backward (one pass per plane) and the differentiable one (a gradient of the gradient
  // asked for: scatter_add) against a loop that finds each window's first maximum itself.
  manual_seed(10);
  for (auto [kernel, stride, padding] : {std::tuple{3, 2, 1}, std::tuple{2, 2, 0}}) {
    int64_t k = kernel, st = stride, pad = padding;
    CAPTURE(k);
    Tensor x = to(randint(0, 3, {2, 3, 7, 9}), kFloat64).requires_grad_();
    Tensor y = F::max_pool2d(x, k, {.stride = st, .padding = pad});
    Tensor g = randn(shape_of(y), kFloat64);
    int64_t h = 7, wd = 9, oh = y.size(2), ow = y.size(3);
    auto xv = testing::values(x), gv = testing::values(g);
    std::vector<double> want(xv.size(), 0.0);
    for (int64_t plane = 0; plane < 6; ++plane)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double best = -INFINITY;
          int64_t arg = -1;
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j) {
              int64_t yy = oy * st - pad + i, xx = ox * st - pad + j;
              if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
              if (xv[plane * h * wd + yy * wd + xx] > best)
                best = xv[plane * h * wd + yy * wd + xx], arg = yy * wd + xx;
            }
          want[plane * h * wd + arg] += gv[(plane * oh + oy) * ow + ox];
        }
    Tensor plain = autograd::grad({y}, {x}, {g}, /*retain_graph=*/true)[0];
    CHECK(testing::values(plain) == want);
    Tensor twice = autograd::grad({y}, {x}, {g}, false, /*create_graph=*/true)[0];
    CHECK(testing::values(twice) == want);
  }
}

TEST_CASE("max_pool2d 2x2 stride 2: first maximum and first NaN win, as a naive loop") {
  double nan = std::nan("");
  // One plane 4x4 with ties (window 0), a NaN after a larger value (window 1), two NaNs
  // (window 2) and a plain window (3).
  kernels::Window window{.kh = 2, .kw = 2, .sh = 2, .sw = 2, .ph = 0, .pw = 0};
  Tensor x =
      reshape(tensor({{5, 5, 9, nan}, {1, 5, 1, 2}, {nan, 3, 1, 2}, {7, nan, 3, 4}}, kFloat64),
              {1, 1, 4, 4});
  auto [values, indices] = kernels::max_pool2d(x, window);
  auto v = testing::values(values), i = testing::values(indices);
  CHECK(v[0] == 5);
  CHECK(i[0] == 0);
  CHECK(std::isnan(v[1]));
  CHECK(i[1] == 3);
  CHECK(std::isnan(v[2]));
  CHECK(i[2] == 8);
  CHECK(v[3] == 4);
  CHECK(i[3] == 15);
  // Planes without NaN (the vectorised path) against a loop: normal values, and small integers
  // in float32, where ties are everywhere, on rows long enough for full vectors and a tail.
  manual_seed(9);
  for (Tensor r : {randn({2, 3, 6, 8}, kFloat64), to(randint(0, 3, {2, 3, 6, 34}), kFloat32)}) {
    int64_t h = r.size(2), wd = r.size(3), oh = h / 2, ow = wd / 2;
    CAPTURE(wd);
    auto [rv, ri] = kernels::max_pool2d(r, window);
    auto rx = testing::values(r), got = testing::values(rv), got_i = testing::values(ri);
    int64_t wrong = 0;
    for (int64_t plane = 0; plane < 6; ++plane)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double best = -INFINITY;
          int64_t arg = -1;
          for (int64_t dy = 0; dy < 2; ++dy)
            for (int64_t dx = 0; dx < 2; ++dx) {
              int64_t at = (2 * oy + dy) * wd + 2 * ox + dx;
              if (rx[plane * h * wd + at] > best) best = rx[plane * h * wd + at], arg = at;
            }
          int64_t o = (plane * oh + oy) * ow + ox;
          wrong += got[o] != best || got_i[o] != arg;
        }
    CHECK(wrong == 0);
  }
}

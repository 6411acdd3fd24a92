// The profiler's FLOP and byte counts (profiler::Work) against counts worked out by hand for each
// kind of op: a matrix product, a batched one, a convolution forward (Winograd underneath, the
// direct method counted) and backward, max pooling and its backward, an elementwise op, a
// softmax, batch norm (with and without its ReLU), layer norm and GELU; and never twice: the GEMMs
// inside a convolution, or inside parallel_for bodies on other threads, add nothing.
#include "helpers.h"

using namespace ember;

namespace {

/// The work recorded under `name`, and in all, while fn runs.
std::pair<profiler::Work, profiler::Work> work_of(const std::string& name,
                                                  const std::function<void()>& fn) {
  profiler::Profile profile;
  fn();
  profile.stop();
  profiler::Work row;
  for (const profiler::Summary& s : profile.averages())
    if (s.name == name) row = s.work;
  return {row, profile.total_work()};
}

}  // namespace

TEST_CASE("profiler counts each op kind's FLOPs and bytes as worked out by hand, once") {
  set_num_threads(2);
  Tensor a = randn({3, 4}), b = randn({4, 5});
  auto [mm, mm_total] = work_of("kernels::matmul", [&] { matmul(a, b); });
  CHECK(mm.flops == 2 * 3 * 4 * 5);                // one multiply-add per (i, j, k)
  CHECK(mm.bytes == 4 * (3 * 4 + 4 * 5 + 3 * 5));  // float32: a, b read, c written
  CHECK(mm_total.flops == mm.flops);               // the GEMM inside adds nothing

  Tensor batch = randn({6, 3, 4});
  auto [bmm, bmm_total] = work_of("kernels::matmul", [&] { matmul(batch, b); });
  CHECK(bmm.flops == 6 * 2 * 3 * 4 * 5);
  CHECK(bmm_total.flops == bmm.flops);

  // (8, 3, 10, 10) * (4, 3, 3, 3), padding 1: 8 * 4 * 100 outputs, 27 products each.
  Tensor x = randn({8, 3, 10, 10}).requires_grad_(), w = randn({4, 3, 3, 3}).requires_grad_();
  Tensor bias = randn({4}).requires_grad_();
  const int64_t multiply_adds = 8 * 4 * 100 * 27;
  Tensor y;
  auto [conv, conv_total] =
      work_of("kernels::conv2d", [&] { y = nn::functional::conv2d(x, w, bias, {.padding = 1}); });
  CHECK(conv.flops == 2 * multiply_adds);
  CHECK(conv.bytes == 4 * (8 * 3 * 100 + 4 * 27 + 8 * 4 * 100));
  CHECK(conv_total.flops == conv.flops);  // Winograd and its GEMMs, on both threads: no more
  auto [back, back_total] = work_of("kernels::conv2d_backward", [&] { y.sum().backward(); });
  CHECK(back.flops == 2 * 2 * multiply_adds + 8 * 4 * 100);  // dx, dw, and db's sums
  CHECK(back_total.flops == back.flops);  // the sum's gradient is a view: no work

  Tensor u = randn({1000}), v = randn({1000});
  auto [add_work, add_total] = work_of("add", [&] { u + v; });
  CHECK(add_work.flops == 1000);
  CHECK(add_work.bytes == 3 * 4 * 1000);  // two inputs read, one output written
  CHECK(add_total.flops == 1000);

  // Max pooling, 3x3 windows at stride 2 over (2, 3, 9, 9): (2, 3, 4, 4) outputs.
  Tensor p = randn({2, 3, 9, 9}).requires_grad_();
  Tensor pooled;
  auto [pool, pool_total] = work_of(
      "kernels::max_pool2d", [&] { pooled = nn::functional::max_pool2d(p, 3, {.stride = 2}); });
  CHECK(pool.flops == 96 * 9);                   // a comparison per window element
  CHECK(pool.bytes == 4 * (486 + 96) + 8 * 96);  // x read; values and indices written
  CHECK(pool_total.flops == pool.flops);
  auto [unpool, unpool_total] =
      work_of("kernels::max_pool2d_backward", [&] { pooled.sum().backward(); });
  CHECK(unpool.flops == 96);                      // an add per output
  CHECK(unpool.bytes == (4 + 8) * 96 + 4 * 486);  // grad and indices read, dx written
  CHECK(unpool_total.flops == unpool.flops);

  auto [soft, soft_total] = work_of("kernels::softmax", [&] { softmax(randn({7, 9}), 1); });
  CHECK(soft.flops == 5 * 63);
  CHECK(soft.bytes == 2 * 4 * 63);
}

TEST_CASE("profiler counts normalization and GELU, forward and backward, as worked out by hand") {
  namespace F = nn::functional;
  set_num_threads(2);
  // Batch norm over (4, 3, 5, 5) in training, with weight and bias: 300 elements.
  const int64_t e = 300;
  for (bool relu : {false, true}) {
    CAPTURE(relu);
    Tensor x = randn({4, 3, 5, 5}).requires_grad_();  // new leaves: no gradient to add to
    Tensor weight = ones({3}).requires_grad_(), bias = zeros({3}).requires_grad_();
    Tensor mean = zeros({3}), var = ones({3}), y;
    auto norm = relu ? F::batch_norm_relu : F::batch_norm;
    auto [stats, stats_total] = work_of("kernels::batch_norm_stats", [&] {
      y = norm(x, mean, var, weight, bias, true, 0.1, 1e-5);
    });
    CHECK(stats.flops == 3 * e);  // a sum and a sum of squares
    CHECK(stats.bytes == 4 * e);
    auto [back, back_total] = work_of("kernels::batch_norm_backward", [&] { y.sum().backward(); });
    CHECK(back.flops == (relu ? 10 : 9) * e);     // two sums, dx, the ReLU's mask
    CHECK(back.bytes == 4 * (relu ? 4 : 3) * e);  // g, x (and y) read, dx written
    CHECK(back_total.flops == back.flops);
  }

  // Layer norm over the last 6 of (5, 6), with weight and bias: 30 elements.
  Tensor r = randn({5, 6}).requires_grad_();
  Tensor lw = ones({6}).requires_grad_(), lb = zeros({6}).requires_grad_();
  Tensor ln;
  auto [ln_fwd, ln_total] =
      work_of("kernels::layer_norm_forward", [&] { ln = F::layer_norm(r, {6}, lw, lb); });
  CHECK(ln_fwd.flops == 8 * 30);  // two sums, then a scale and shift
  CHECK(ln_fwd.bytes == 2 * 4 * 30);
  CHECK(ln_total.flops == ln_fwd.flops);
  auto [ln_back, ln_back_total] =
      work_of("kernels::layer_norm_backward", [&] { ln.sum().backward(); });
  CHECK(ln_back.flops == (2 + 2 + 1 + 8) * 30);  // x̂, the weight's and bias's sums, dx
  CHECK(ln_back.bytes == 3 * 4 * 30);
  CHECK(ln_back_total.flops == ln_back.flops);

  Tensor u = randn({40}).requires_grad_();
  Tensor gelu_out;
  auto [gelu_fwd, gelu_total] = work_of("kernels::gelu_forward", [&] { gelu_out = F::gelu(u); });
  CHECK(gelu_fwd.flops == 5 * 40);  // erf counted as one
  CHECK(gelu_fwd.bytes == 2 * 4 * 40);
  CHECK(gelu_total.flops == gelu_fwd.flops);
  auto [gelu_back, gelu_back_total] =
      work_of("kernels::gelu_backward", [&] { gelu_out.sum().backward(); });
  CHECK(gelu_back.flops == 11 * 40);  // erf and exp counted as one each
  CHECK(gelu_back.bytes == 3 * 4 * 40);
  CHECK(gelu_back_total.flops == gelu_back.flops);
}

TEST_CASE("profiler's table shows rates for the scopes that count, and the total against peak") {
  CHECK(profiler::fma_peak_gflops(2) == doctest::Approx(2 * profiler::fma_peak_gflops(1)));
  Tensor a = randn({64, 64}), b = randn({64, 64});
  profiler::Profile profile;
  for (int i = 0; i < 3; ++i) matmul(a, b);
  profile.stop();
  CHECK(profile.total_work().flops == 3 * 2 * 64 * 64 * 64);
  std::string table = profile.table();
  CHECK(table.find("GFLOP/s") != std::string::npos);
  CHECK(table.find("counted work: 0.002 GFLOP") != std::string::npos);
}

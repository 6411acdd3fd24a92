// Layer normalisation's kernels and GELU's; see norm.h (batch normalisation's are in
// batch_norm.cpp). For layer normalisation x is walked as rows of m values.
#include "norm.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "../factory.h"
#include "../parallel.h"
#include "../profiler.h"
#include "accumulate.h"
#include "copy.h"
#include "vmath.h"

namespace ember::kernels {
namespace {

template <typename T>
const T* optional_ptr(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// Rows per block in layer_norm_backward: the unit whose weight and bias partial sums are added
// in a fixed order.
constexpr int64_t kRowsPerBlock = 64;

int64_t row_grain(int64_t m) {
  return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(m, 1));
}

}  // namespace

LayerNormOutputs layer_norm_forward(const Tensor& x_in, int64_t m, const Tensor& weight,
                                    const Tensor& bias, double eps) {
  profiler::Scope scope("kernels::layer_norm_forward");
  // Per element: the sums of x and of (x - mean)², 4 FLOPs; (x - mean) rstd w + b, 4. Read x,
  // write y (the weight and bias, m each, stay in the cache).
  scope.count(
      {.flops = 8 * x_in.numel(), .bytes = 2 * int64_t(element_size(x_in.dtype())) * x_in.numel()});
  Tensor x = contiguous(x_in);
  int64_t rows = m > 0 ? x.numel() / m : 0;
  LayerNormOutputs r{empty(shape_of(x), x.dtype()), empty({rows}, x.dtype()),
                     empty({rows}, x.dtype())};
  visit_floating(x.dtype(), "layer_norm", [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    const T* wp = optional_ptr<T>(weight);
    const T* bp = optional_ptr<T>(bias);
    T *yp = r.y.data_ptr<T>(), *mp = r.mean.data_ptr<T>(), *rp = r.rstd.data_ptr<T>();
    parallel_for(0, rows, row_grain(m), [&](int64_t lo, int64_t hi) {
      for (int64_t row = lo; row < hi; ++row) {
        const T* in = xp + row * m;
        double mu = lane_sum(m, [&](int64_t i) { return double(in[i]); }) / double(m);
        double sq = lane_sum(m, [&](int64_t i) { return (in[i] - mu) * (in[i] - mu); });
        double rstd = 1.0 / std::sqrt(sq / double(m) + eps);
        mp[row] = static_cast<T>(mu);
        rp[row] = static_cast<T>(rstd);
        T mt = static_cast<T>(mu), rt = static_cast<T>(rstd);
        T* out = yp + row * m;
        for (int64_t i = 0; i < m; ++i)
          out[i] = (in[i] - mt) * rt * (wp ? wp[i] : T(1)) + (bp ? bp[i] : T(0));
      }
    });
  });
  return r;
}

LayerNormGrads layer_norm_backward(const Tensor& g_in, const Tensor& x_in, int64_t m,
                                   const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                                   bool need_input, bool need_weight, bool need_bias) {
  profiler::Scope scope("kernels::layer_norm_backward");
  // Per element: x̂ = (x - mean) rstd, 2 FLOPs; the weight's sum of g x̂, 2; the bias's of g, 1;
  // the input's g w, 1, the sums of g w and of g w x̂, 3, and rstd (g w - mean - x̂ mean_dx), 4.
  // Read g and x, write dx.
  scope.count({.flops = (2 + 2 * need_weight + need_bias + 8 * need_input) * x_in.numel(),
               .bytes = (2 + need_input) * int64_t(element_size(x_in.dtype())) * x_in.numel()});
  Tensor g = contiguous(g_in), x = contiguous(x_in);
  int64_t rows = m > 0 ? x.numel() / m : 0;
  int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  LayerNormGrads r;
  if (need_input) r.input = empty(shape_of(x), x.dtype());
  // Per block: the partial sums of g xhat (weight) and g (bias), added in block order below.
  std::vector<double> partial_w(need_weight ? blocks * m : 0),
      partial_b(need_bias ? blocks * m : 0);
  visit_floating(x.dtype(), "layer_norm backward", [&]<typename T>() {
    const T* gp = g.data_ptr<T>();
    const T* xp = x.data_ptr<T>();
    const T* mp = mean.data_ptr<T>();
    const T* rp = rstd.data_ptr<T>();
    const T* wp = optional_ptr<T>(weight);
    int64_t grain = std::max<int64_t>(1, row_grain(m) / kRowsPerBlock);
    parallel_for(0, blocks, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t block = lo; block < hi; ++block) {
        int64_t end = std::min(rows, (block + 1) * kRowsPerBlock);
        for (int64_t row = block * kRowsPerBlock; row < end; ++row) {
          const T* gr = gp + row * m;
          const T* xr = xp + row * m;
          double mu = mp[row], inv = rp[row];
          auto xhat = [&](int64_t i) { return (xr[i] - mu) * inv; };
          if (need_weight)
            for (int64_t i = 0; i < m; ++i) partial_w[block * m + i] += gr[i] * xhat(i);
          if (need_bias)
            for (int64_t i = 0; i < m; ++i) partial_b[block * m + i] += gr[i];
          if (!need_input) continue;
          auto dxhat = [&](int64_t i) { return double(gr[i]) * (wp ? wp[i] : T(1)); };
          double mean_d = lane_sum(m, dxhat) / double(m);
          double mean_dx = lane_sum(m, [&](int64_t i) { return dxhat(i) * xhat(i); }) / double(m);
          T* dr = r.input.data_ptr<T>() + row * m;
          for (int64_t i = 0; i < m; ++i)
            dr[i] = static_cast<T>(inv * (dxhat(i) - mean_d - xhat(i) * mean_dx));
        }
      }
    });
    auto total = [&](const std::vector<double>& partial) {
      Tensor out = empty({m}, x.dtype());
      T* op = out.data_ptr<T>();
      for (int64_t i = 0; i < m; ++i) {
        double acc = 0;
        for (int64_t block = 0; block < blocks; ++block) acc += partial[block * m + i];
        op[i] = static_cast<T>(acc);
      }
      return out;
    };
    if (need_weight) r.weight = total(partial_w);
    if (need_bias) r.bias = total(partial_b);
  });
  return r;
}

namespace {

// Values per chunk in with_erf: a chunk's erf (and, in the backward, its e^(-x²/2)) stays in L1.
constexpr int64_t kErfChunk = 1024;

// Runs f(begin, len, erf(x / √2) of those values) over x in chunks of kErfChunk values, the
// chunks split across threads.
template <typename T, typename F>
void with_erf(const Tensor& x, F f) {
  constexpr int64_t kChunk = kErfChunk;
  const T* xp = x.data_ptr<T>();
  int64_t n = x.numel(), chunks = (n + kChunk - 1) / kChunk;
  parallel_for(0, chunks, std::max<int64_t>(1, kGrainElements / kChunk),
               [&](int64_t lo, int64_t hi) {
                 T scaled[kChunk], erfs[kChunk];
                 for (int64_t c = lo; c < hi; ++c) {
                   int64_t begin = c * kChunk, len = std::min(kChunk, n - begin);
                   for (int64_t i = 0; i < len; ++i)
                     scaled[i] = xp[begin + i] * T(1 / std::numbers::sqrt2);
                   vmath::erf(erfs, scaled, len);
                   f(begin, len, erfs);
                 }
               });
}

}  // namespace

Tensor gelu_forward(const Tensor& x_in) {
  profiler::Scope scope("kernels::gelu_forward");
  // Per element: x / √2, erf (counted as one FLOP, as torch.profiler counts a transcendental),
  // and x ½ (erf + 1), 3: 5. Read x, write y.
  scope.count(
      {.flops = 5 * x_in.numel(), .bytes = 2 * int64_t(element_size(x_in.dtype())) * x_in.numel()});
  Tensor x = contiguous(x_in);
  Tensor y = empty(shape_of(x), x.dtype());
  visit_floating(x.dtype(), "gelu", [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    T* yp = y.data_ptr<T>();
    with_erf<T>(x, [&](int64_t begin, int64_t len, const T* erfs) {
      for (int64_t i = 0; i < len; ++i) yp[begin + i] = xp[begin + i] * T(0.5) * (erfs[i] + T(1));
    });
  });
  return y;
}

Tensor gelu_backward(const Tensor& g_in, const Tensor& x_in) {
  profiler::Scope scope("kernels::gelu_backward");
  // Per element: x / √2 and its erf, 2; -x²/2 and its exp, 3; g (½ (erf + 1) + x e inv_sqrt_2pi),
  // 6: 11. Read g and x, write dx.
  scope.count({.flops = 11 * x_in.numel(),
               .bytes = 3 * int64_t(element_size(x_in.dtype())) * x_in.numel()});
  Tensor g = contiguous(g_in), x = contiguous(x_in);
  Tensor dx = empty(shape_of(x), x.dtype());
  visit_floating(x.dtype(), "gelu backward", [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    const T* gp = g.data_ptr<T>();
    T* dp = dx.data_ptr<T>();
    const T inv_sqrt_2pi = T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
    with_erf<T>(x, [&](int64_t begin, int64_t len, const T* erfs) {
      T density[kErfChunk];
      for (int64_t i = 0; i < len; ++i) density[i] = T(-0.5) * xp[begin + i] * xp[begin + i];
      vmath::exp(density, density, len);
      for (int64_t i = 0; i < len; ++i) {
        T v = xp[begin + i];
        dp[begin + i] = gp[begin + i] * (T(0.5) * (erfs[i] + T(1)) + v * density[i] * inv_sqrt_2pi);
      }
    });
  });
  return dx;
}

}  // namespace ember::kernels

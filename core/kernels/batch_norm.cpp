// Batch normalisation's kernels; see norm.h. x is walked as N planes of S values per channel.
#include "norm.h"

#include <vector>

#include "../factory.h"
#include "../parallel.h"
#include "../profiler.h"
#include "accumulate.h"
#include "copy.h"

namespace ember::kernels {
namespace {

struct Planes {
  int64_t n, c, s;  // samples, channels, values per (sample, channel) plane
  explicit Planes(const Tensor& x)
      : n(x.size(0)), c(x.size(1)), s(x.numel() / std::max<int64_t>(x.size(0) * x.size(1), 1)) {}
  int64_t per_channel() const { return n * s; }
  // Planes per task: enough values that a thread is worth waking.
  int64_t grain() const { return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(s, 1)); }
};

// Batch norm's passes go over x plane by plane in memory order, planes spread over threads: a
// channel at a time (its planes one sample apart) left the second pass over a channel's 200 KB
// of x, g and y (FashionNet's first, at batch 64) to the L3 cache. Their loops are written in
// Vector32s (accumulate.h): left to itself, the compiler summed in double lanes (half as many a
// vector, and a conversion each), made the ReLU's select a masked load, or vectorised a sum
// across the wrong loop.

// sums[ch] = the sum over channel ch's planes of plane_sum(plane index), each plane's sum in
// double added in sample order: the same bits every run, at any thread count.
template <typename F>
std::vector<double> channel_sums(const Planes& p, F plane_sum) {
  std::vector<double> planes(p.n * p.c), sums(p.c, 0.0);
  parallel_for(0, p.n * p.c, p.grain(), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) planes[plane] = plane_sum(plane);
  });
  for (int64_t b = 0; b < p.n; ++b)
    for (int64_t ch = 0; ch < p.c; ++ch) sums[ch] += planes[b * p.c + ch];
  return sums;
}

template <typename T>
const T* optional_ptr(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

}  // namespace

std::pair<Tensor, Tensor> batch_norm_stats(const Tensor& x_in) {
  profiler::Scope scope("kernels::batch_norm_stats");
  // Per element: a sum and a sum of squares, 3 FLOPs; x read once.
  scope.count(
      {.flops = 3 * x_in.numel(), .bytes = int64_t(element_size(x_in.dtype())) * x_in.numel()});
  Tensor x = contiguous(x_in);
  Planes p(x);
  Tensor mean = empty({p.c}, x.dtype()), var = empty({p.c}, x.dtype());
  visit_floating(x.dtype(), "batch_norm", [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    T* mp = mean.data_ptr<T>();
    T* vp = var.data_ptr<T>();
    double count = static_cast<double>(std::max<int64_t>(p.per_channel(), 1));
    std::vector<double> sums = channel_sums(p, [&](int64_t plane) {
      return double(vector_sum(xp + plane * p.s, p.s, [](auto v) { return v; }));
    });
    for (int64_t ch = 0; ch < p.c; ++ch) mp[ch] = static_cast<T>(sums[ch] / count);
    std::vector<double> squares = channel_sums(p, [&](int64_t plane) {
      T mt = mp[plane % p.c];
      return double(
          vector_sum(xp + plane * p.s, p.s, [mt](auto v) { return (v - mt) * (v - mt); }));
    });
    for (int64_t ch = 0; ch < p.c; ++ch) vp[ch] = static_cast<T>(squares[ch] / count);
  });
  return {mean, var};
}

Tensor batch_norm_apply(const Tensor& x_in, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const Tensor& bias, bool relu) {
  profiler::Scope scope("kernels::batch_norm_apply");
  // Per element: (x - mean) * invstd * weight + bias as one multiply-add of a folded scale and
  // shift, 2 FLOPs (and the ReLU's max, 1); read x, write y.
  scope.count({.flops = (relu ? 3 : 2) * x_in.numel(),
               .bytes = 2 * int64_t(element_size(x_in.dtype())) * x_in.numel()});
  Tensor x = contiguous(x_in);
  Planes p(x);
  Tensor y = empty(shape_of(x), x.dtype());
  visit_floating(x.dtype(), "batch_norm", [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    const T* mp = mean.data_ptr<T>();
    const T* ip = invstd.data_ptr<T>();
    const T* wp = optional_ptr<T>(weight);
    const T* bp = optional_ptr<T>(bias);
    T* yp = y.data_ptr<T>();
    parallel_for(0, p.n * p.c, p.grain(), [&](int64_t lo, int64_t hi) {
      for (int64_t plane = lo; plane < hi; ++plane) {
        int64_t ch = plane % p.c;
        T scale = ip[ch] * (wp ? wp[ch] : T(1));
        T shift = (bp ? bp[ch] : T(0)) - mp[ch] * scale;
        const T* in = xp + plane * p.s;
        T* out = yp + plane * p.s;
        if (relu)
          for (int64_t i = 0; i < p.s; ++i) {
            T v = in[i] * scale + shift;
            out[i] = v > 0 ? v : T(0);
          }
        else
          for (int64_t i = 0; i < p.s; ++i) out[i] = in[i] * scale + shift;
      }
    });
  });
  return y;
}

namespace {

// g from i on, or 0 where the ReLU's output y is not positive (relu_backward, fused: the masked
// gradient is never stored), for a vector and for one value. Without Relu, y is null and unread.
template <typename T, bool Relu>
[[gnu::always_inline]] inline typename Vector32<T>::type masked_grad(const T* g, const T* y,
                                                                     int64_t i) {
  using V = typename Vector32<T>::type;
  V gv = load32(g + i);
  if constexpr (Relu) return load32(y + i) > V{} ? gv : V{};
  return gv;
}

template <typename T, bool Relu>
[[gnu::always_inline]] inline T masked_grad_at(const T* g, const T* y, int64_t i) {
  if constexpr (Relu) return y[i] > T(0) ? g[i] : T(0);
  return g[i];
}

// Adds one plane's sum of g and of g (x - mean) to the channel's sums: in T, in the lanes of two
// vectors each, added in a fixed order at the end, then in double across the planes; the same
// bits every run.
template <typename T, bool Relu>
void add_plane_sums(const T* g, const T* y, const T* x, T mean, int64_t s, double& sum_g,
                    double& sum_g_centered) {
  using V = typename Vector32<T>::type;
  constexpr int64_t lanes = 32 / sizeof(T);
  V acc_g[2] = {}, acc_c[2] = {};
  int64_t i = 0;
  for (; i + 2 * lanes <= s; i += 2 * lanes)
    for (int h = 0; h < 2; ++h) {
      int64_t at = i + h * lanes;
      V gv = masked_grad<T, Relu>(g, y, at);
      acc_g[h] += gv;
      acc_c[h] += gv * (load32(x + at) - mean);
    }
  V total_g = acc_g[0] + acc_g[1], total_c = acc_c[0] + acc_c[1];
  T tail_g = 0, tail_c = 0;
  for (; i < s; ++i) {
    T gv = masked_grad_at<T, Relu>(g, y, i);
    tail_g += gv;
    tail_c += gv * (x[i] - mean);
  }
  for (int64_t j = 0; j < lanes; ++j) {
    tail_g += total_g[j];
    tail_c += total_c[j];
  }
  sum_g += tail_g;
  sum_g_centered += tail_c;
}

// One plane of the input gradient: dx = k g + a (x - mean) + c.
template <typename T, bool Relu>
void plane_input_grad(const T* g, const T* y, const T* x, T k, T a, T c, T mean, int64_t s, T* dx) {
  using V = typename Vector32<T>::type;
  constexpr int64_t lanes = 32 / sizeof(T);
  int64_t i = 0;
  for (; i + lanes <= s; i += lanes) {
    V d = k * masked_grad<T, Relu>(g, y, i) + a * (load32(x + i) - mean) + c;
    std::memcpy(dx + i, &d, sizeof d);
  }
  for (; i < s; ++i) dx[i] = k * masked_grad_at<T, Relu>(g, y, i) + a * (x[i] - mean) + c;
}

// batch_norm_backward's loops for one dtype; with Relu, g is masked where the ReLU's output y
// is not positive.
template <typename T, bool Relu>
void backward_planes(const Tensor& g, const Tensor& x, const Tensor& y, const Tensor& mean,
                     const Tensor& invstd, const Tensor& weight, bool batch_stats, bool need_input,
                     bool need_weight, bool need_bias, const Planes& p, BatchNormGrads& r) {
  const T* gp = g.data_ptr<T>();
  const T* yp = Relu ? y.data_ptr<T>() : nullptr;
  const T* xp = x.data_ptr<T>();
  const T* mp = mean.data_ptr<T>();
  const T* ip = invstd.data_ptr<T>();
  const T* wp = optional_ptr<T>(weight);
  double count = static_cast<double>(std::max<int64_t>(p.per_channel(), 1));
  // Each plane's sums of g and of g (x - mean), then per channel in sample order.
  std::vector<double> plane_g(p.n * p.c), plane_c(p.n * p.c);
  parallel_for(0, p.n * p.c, p.grain(), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      int64_t at = plane * p.s;
      plane_g[plane] = plane_c[plane] = 0;
      add_plane_sums<T, Relu>(gp + at, Relu ? yp + at : nullptr, xp + at, mp[plane % p.c], p.s,
                              plane_g[plane], plane_c[plane]);
    }
  });
  // dx = k g + a (x - mean) + c per channel, with k = invstd w, and for batch statistics
  //   a = -k invstd sum g xhat / M,  c = -k sum g / M.
  std::vector<T> k_of(p.c), a_of(p.c), c_of(p.c);
  for (int64_t ch = 0; ch < p.c; ++ch) {
    double sum_g = 0, sum_g_centered = 0;  // sum g, sum g (x - mean)
    for (int64_t b = 0; b < p.n; ++b) {
      sum_g += plane_g[b * p.c + ch];
      sum_g_centered += plane_c[b * p.c + ch];
    }
    double inv = ip[ch], sum_g_xhat = sum_g_centered * inv;
    if (need_weight) r.weight.data_ptr<T>()[ch] = static_cast<T>(sum_g_xhat);
    if (need_bias) r.bias.data_ptr<T>()[ch] = static_cast<T>(sum_g);
    double k = inv * (wp ? wp[ch] : 1.0);
    k_of[ch] = static_cast<T>(k);
    a_of[ch] = static_cast<T>(batch_stats ? -k * inv * sum_g_xhat / count : 0.0);
    c_of[ch] = static_cast<T>(batch_stats ? -k * sum_g / count : 0.0);
  }
  if (!need_input) return;
  parallel_for(0, p.n * p.c, p.grain(), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      int64_t ch = plane % p.c, at = plane * p.s;
      plane_input_grad<T, Relu>(gp + at, Relu ? yp + at : nullptr, xp + at, k_of[ch], a_of[ch],
                                c_of[ch], mp[ch], p.s, r.input.data_ptr<T>() + at);
    }
  });
}

}  // namespace

BatchNormGrads batch_norm_backward(const Tensor& g_in, const Tensor& x_in, const Tensor& mean,
                                   const Tensor& invstd, const Tensor& weight, bool batch_stats,
                                   bool need_input, bool need_weight, bool need_bias,
                                   const Tensor& relu_output) {
  profiler::Scope scope("kernels::batch_norm_backward");
  // Per element: the sums of g and of g (x - mean), 4 FLOPs (the ReLU's mask, 1 more); the input
  // gradient k g + a (x - mean) + c, 5. Read g and x (and the ReLU's output), write dx.
  bool relu = relu_output.defined();
  scope.count(
      {.flops = (4 + relu + 5 * need_input) * x_in.numel(),
       .bytes = (2 + relu + need_input) * int64_t(element_size(x_in.dtype())) * x_in.numel()});
  Tensor g = contiguous(g_in), x = contiguous(x_in);
  Tensor y = relu_output.defined() ? contiguous(relu_output) : Tensor();
  Planes p(x);
  BatchNormGrads r;
  if (need_input) r.input = empty(shape_of(x), x.dtype());
  if (need_weight) r.weight = empty({p.c}, x.dtype());
  if (need_bias) r.bias = empty({p.c}, x.dtype());
  visit_floating(x.dtype(), "batch_norm backward", [&]<typename T>() {
    if (y.defined())
      backward_planes<T, true>(g, x, y, mean, invstd, weight, batch_stats, need_input, need_weight,
                               need_bias, p, r);
    else
      backward_planes<T, false>(g, x, y, mean, invstd, weight, batch_stats, need_input, need_weight,
                                need_bias, p, r);
  });
  return r;
}

}  // namespace ember::kernels

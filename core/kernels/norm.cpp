// Batch normalisation kernels; see norm.h. x is walked as N planes of S values per channel.
#include "norm.h"

#include "../factory.h"
#include "../parallel.h"
#include "accumulate.h"
#include "copy.h"

namespace ember::kernels {
namespace {

struct Planes {
  int64_t n, c, s;  // samples, channels, values per (sample, channel) plane
  explicit Planes(const Tensor& x)
      : n(x.size(0)), c(x.size(1)), s(x.numel() / std::max<int64_t>(x.size(0) * x.size(1), 1)) {}
  int64_t per_channel() const { return n * s; }
  // Channels per task: enough values that a thread is worth waking.
  int64_t grain() const {
    return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(n * s, 1));
  }
};

// sum over the channel's planes of f(value) in double.
template <typename T, typename F>
double channel_sum(const T* x, const Planes& p, int64_t ch, F f) {
  double acc = 0;
  for (int64_t b = 0; b < p.n; ++b) {
    const T* plane = x + (b * p.c + ch) * p.s;
    acc += lane_sum(p.s, [&](int64_t i) { return f(plane[i]); });
  }
  return acc;
}

template <typename T>
const T* optional_ptr(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

}  // namespace

std::pair<Tensor, Tensor> batch_norm_stats(const Tensor& x_in) {
  Tensor x = contiguous(x_in);
  Planes p(x);
  Tensor mean = empty({p.c}, x.dtype()), var = empty({p.c}, x.dtype());
  visit_floating(x.dtype(), "batch_norm", [&]<typename T>() {
    const T* xp = x.data_ptr<T>();
    T* mp = mean.data_ptr<T>();
    T* vp = var.data_ptr<T>();
    double count = static_cast<double>(std::max<int64_t>(p.per_channel(), 1));
    parallel_for(0, p.c, p.grain(), [&](int64_t lo, int64_t hi) {
      for (int64_t ch = lo; ch < hi; ++ch) {
        double mu = channel_sum(xp, p, ch, [](T v) { return double(v); }) / count;
        double sq = channel_sum(xp, p, ch, [mu](T v) { return (v - mu) * (v - mu); });
        mp[ch] = static_cast<T>(mu);
        vp[ch] = static_cast<T>(sq / count);
      }
    });
  });
  return {mean, var};
}

Tensor batch_norm_apply(const Tensor& x_in, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const Tensor& bias) {
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
    parallel_for(0, p.n * p.c, std::max<int64_t>(1, kGrainElements / std::max<int64_t>(p.s, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t plane = lo; plane < hi; ++plane) {
                     int64_t ch = plane % p.c;
                     T scale = ip[ch] * (wp ? wp[ch] : T(1));
                     T shift = (bp ? bp[ch] : T(0)) - mp[ch] * scale;
                     const T* in = xp + plane * p.s;
                     T* out = yp + plane * p.s;
                     for (int64_t i = 0; i < p.s; ++i) out[i] = in[i] * scale + shift;
                   }
                 });
  });
  return y;
}

BatchNormGrads batch_norm_backward(const Tensor& g_in, const Tensor& x_in, const Tensor& mean,
                                   const Tensor& invstd, const Tensor& weight, bool batch_stats,
                                   bool need_input, bool need_weight, bool need_bias) {
  Tensor g = contiguous(g_in), x = contiguous(x_in);
  Planes p(x);
  BatchNormGrads r;
  if (need_input) r.input = empty(shape_of(x), x.dtype());
  if (need_weight) r.weight = empty({p.c}, x.dtype());
  if (need_bias) r.bias = empty({p.c}, x.dtype());
  visit_floating(x.dtype(), "batch_norm backward", [&]<typename T>() {
    const T* gp = g.data_ptr<T>();
    const T* xp = x.data_ptr<T>();
    const T* mp = mean.data_ptr<T>();
    const T* ip = invstd.data_ptr<T>();
    const T* wp = optional_ptr<T>(weight);
    double count = static_cast<double>(std::max<int64_t>(p.per_channel(), 1));
    parallel_for(0, p.c, p.grain(), [&](int64_t lo, int64_t hi) {
      for (int64_t ch = lo; ch < hi; ++ch) {
        double mu = mp[ch], inv = ip[ch];
        double sum_g = 0, sum_g_centered = 0;  // sum g, sum g (x - mean)
        for (int64_t b = 0; b < p.n; ++b) {
          const T* gq = gp + (b * p.c + ch) * p.s;
          const T* xq = xp + (b * p.c + ch) * p.s;
          sum_g += lane_sum(p.s, [&](int64_t i) { return double(gq[i]); });
          sum_g_centered += lane_sum(p.s, [&](int64_t i) { return gq[i] * (xq[i] - mu); });
        }
        double sum_g_xhat = sum_g_centered * inv;
        if (need_weight) r.weight.data_ptr<T>()[ch] = static_cast<T>(sum_g_xhat);
        if (need_bias) r.bias.data_ptr<T>()[ch] = static_cast<T>(sum_g);
        if (!need_input) continue;
        // dx = k g + a (x - mean) + c with k = invstd w, and for batch statistics
        //   a = -k invstd sum g xhat / M,  c = -k sum g / M.
        double k = inv * (wp ? wp[ch] : 1.0);
        double a = batch_stats ? -k * inv * sum_g_xhat / count : 0.0;
        double c = batch_stats ? -k * sum_g / count : 0.0;
        T kt = static_cast<T>(k), at = static_cast<T>(a), ct = static_cast<T>(c);
        T mt = static_cast<T>(mu);
        for (int64_t b = 0; b < p.n; ++b) {
          const T* gq = gp + (b * p.c + ch) * p.s;
          const T* xq = xp + (b * p.c + ch) * p.s;
          T* dq = r.input.data_ptr<T>() + (b * p.c + ch) * p.s;
          for (int64_t i = 0; i < p.s; ++i) dq[i] = kt * gq[i] + at * (xq[i] - mt) + ct;
        }
      }
    });
  });
  return r;
}

}  // namespace ember::kernels

// Sampling from distributions a tensor describes: bernoulli, multinomial and exponential_. Each
// draws from the generator in the order PyTorch's CPU kernels do (one element after another in
// row-major order, the same transformation of the same bits), so a seed gives PyTorch's samples.
// See factory.h.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>

#include "factory.h"
#include "kernels/copy.h"

namespace ember {

namespace {

Generator& generator_or_default(Generator* gen) { return gen ? *gen : default_generator(); }

// Row-major values of `out` (contiguous) from draw(), under the generator's lock.
template <typename Draw>
void fill_serially(const Tensor& out, Generator& g, Draw draw) {
  std::lock_guard lock(g.mutex());
  visit_dtype(out.dtype(), [&]<typename T>() {
    T* o = out.data_ptr<T>();
    for (int64_t k = 0; k < out.numel(); ++k) o[k] = convert<T>(draw(k));
  });
}

void check_probabilities(const Tensor& p, const char* op) {
  check(p.is_floating_point(), op, ": expected floating probabilities, got ", p.dtype());
  bool ok = visit_floating(p.dtype(), op, [&]<typename T>() {
    const T* v = p.data_ptr<T>();
    return std::all_of(v, v + p.numel(), [](T x) { return x >= 0 && x <= 1; });
  });
  check(ok, op, ": expected every probability of ", shape_str(p.sizes()), " to be in [0, 1]");
}

// Writes `value` (x's shape) into x, whatever x's strides and dtype.
const Tensor& write_into(const Tensor& x, const Tensor& value) {
  kernels::copy(x, value);
  x.storage()->bump_version();
  return x;
}

}  // namespace

// y_k = [u_k < p_k], u_k uniform in p's dtype (24 random bits for float32, 53 for float64).
Tensor bernoulli(const Tensor& p, Generator* gen) {
  Tensor probs = kernels::contiguous(p);
  check_probabilities(probs, "bernoulli");
  Tensor out = empty(shape_of(p), p.dtype());
  Generator& g = generator_or_default(gen);
  visit_floating(p.dtype(), "bernoulli", [&]<typename T>() {
    const T* pv = probs.data_ptr<T>();
    fill_serially(out, g, [&](int64_t k) {
      if constexpr (std::is_same_v<T, float>)
        return g.uniform_float(0, 1) < pv[k];
      else
        return g.uniform_double(0, 1) < pv[k];
    });
  });
  return out;
}

// y_k = [u_k < p], u_k uniform in double.
Tensor bernoulli(const Tensor& x, double p, Generator* gen) {
  check(p >= 0 && p <= 1, "bernoulli: expected a probability in [0, 1], got ", p);
  Tensor out = empty(shape_of(x), x.dtype());
  Generator& g = generator_or_default(gen);
  fill_serially(out, g, [&](int64_t) { return g.uniform_double(0, 1) < p; });
  return out;
}

const Tensor& bernoulli_(const Tensor& x, double p, Generator* gen) {
  return write_into(x, bernoulli(x, p, gen));
}

const Tensor& bernoulli_(const Tensor& x, const Tensor& p, Generator* gen) {
  Tensor probs = empty(shape_of(x), p.dtype());
  kernels::copy(probs, p);  // broadcast to x's shape
  return write_into(x, bernoulli(probs, gen));
}

// y_k = -log(1 - u_k) / lambda, u_k uniform in double.
const Tensor& exponential_(const Tensor& x, double lambda, Generator* gen) {
  check(x.is_floating_point(), "exponential_: expected a floating tensor, got ", x.dtype());
  check(lambda > 0, "exponential_: expected lambda > 0, got ", lambda);
  Tensor out = empty(shape_of(x), x.dtype());
  Generator& g = generator_or_default(gen);
  fill_serially(out, g,
                [&](int64_t) { return -1.0 / lambda * std::log(1.0 - g.uniform_double(0, 1)); });
  return write_into(x, out);
}

namespace {

// One row of weights w (n categories): k draws with replacement. The normalised cumulative sum
// in T, its last entry forced to 1; each draw a double uniform u, the first category whose
// cumulative weight reaches u (binary search), as PyTorch's kernel.
template <typename T>
void with_replacement(const T* w, int64_t n, int64_t k, Generator& g, int64_t* out) {
  std::vector<T> cum(n);
  T sum = 0;
  for (int64_t j = 0; j < n; ++j) cum[j] = sum += w[j];
  for (T& c : cum) c /= sum;
  cum[n - 1] = 1;
  for (int64_t s = 0; s < k; ++s) {
    double u = g.uniform_double(0, 1);
    out[s] = std::lower_bound(cum.begin(), cum.end(), u, [](T c, double v) { return c < v; }) -
             cum.begin();
  }
}

// Without replacement (or one draw): the exponential race. With e_j ~ Exp(1), the categories in
// decreasing order of w_j / e_j are a draw without replacement weighted by w (the Gumbel top-k
// trick, exponentiated); the first k are the sample. `keys` holds w_j / e_j for the whole tensor.
template <typename T>
void race(const T* keys, int64_t n, int64_t k, int64_t* out) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    return keys[a] > keys[b] || (keys[a] == keys[b] && a < b);
  });
  std::copy_n(order.begin(), k, out);
}

void check_weights(const Tensor& w, int64_t rows, int64_t n) {
  visit_floating(w.dtype(), "multinomial", [&]<typename T>() {
    const T* v = w.data_ptr<T>();
    for (int64_t r = 0; r < rows; ++r) {
      T sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        T x = v[r * n + j];
        if (!(x >= 0 && std::isfinite(x)))
          fail("multinomial: the probability tensor ", shape_str(w.sizes()),
               " contains inf, nan or an element < 0 (", x, " in row ", r, ")");
        sum += x;
      }
      check(sum > 0, "multinomial: row ", r, " of ", shape_str(w.sizes()),
            " sums to 0: no category can be drawn");
    }
  });
}

}  // namespace

Tensor multinomial(const Tensor& weights, int64_t num_samples, bool replacement, Generator* gen) {
  check(weights.dim() == 1 || weights.dim() == 2,
        "multinomial: expected a 1-D or 2-D tensor of weights, got ", shape_str(weights.sizes()));
  check(weights.is_floating_point(), "multinomial: expected floating weights, got ",
        weights.dtype());
  int64_t n = weights.size(-1), rows = weights.dim() == 2 ? weights.size(0) : 1;
  check(n > 0 && n <= (int64_t{1} << 24), "multinomial: the number of categories must be in ",
        "[1, 2^24], got ", n);
  check(num_samples > 0, "multinomial: expected num_samples > 0, got ", num_samples);
  check(replacement || num_samples <= n, "multinomial: cannot draw ", num_samples,
        " samples without replacement from ", n, " categories");
  Tensor w = kernels::contiguous(weights);
  check_weights(w, rows, n);
  Shape shape = weights.dim() == 2 ? Shape{rows, num_samples} : Shape{num_samples};
  Tensor out = empty(shape, kInt64);
  int64_t* o = out.data_ptr<int64_t>();
  Generator& g = generator_or_default(gen);
  if (replacement && num_samples > 1) {
    std::lock_guard lock(g.mutex());
    visit_floating(w.dtype(), "multinomial", [&]<typename T>() {
      for (int64_t r = 0; r < rows; ++r)
        with_replacement(w.data_ptr<T>() + r * n, n, num_samples, g, o + r * num_samples);
    });
    return out;
  }
  Tensor keys = empty(shape_of(w), w.dtype());
  exponential_(keys, 1.0, &g);
  visit_floating(w.dtype(), "multinomial", [&]<typename T>() {
    T* kv = keys.data_ptr<T>();
    const T* wv = w.data_ptr<T>();
    for (int64_t j = 0; j < w.numel(); ++j) kv[j] = wv[j] / kv[j];
    for (int64_t r = 0; r < rows; ++r) race(kv + r * n, n, num_samples, o + r * num_samples);
  });
  return out;
}

}  // namespace ember

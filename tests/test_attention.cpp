// The paper's layers: the equivalence of efficient and dot-product attention under scaling
// normalization, the (real) difference under softmax, gradients, parity with the reference
// PyTorch modules (memory growth: test_attention_memory.cpp).
#include <cmath>
#include <map>

#include "helpers.h"

using namespace ember;
namespace F = ember::nn::functional;
using ember::testing::values;
using nn::Normalization;

namespace {

// Naive twins of both attentions for one (batch, head): explicit loops over positions and
// channels, straight from the definitions. q: (dk, n), k: (dk, n), v: (dv, n) as row-major vectors.
std::vector<double> naive_efficient(const std::vector<double>& q, const std::vector<double>& k,
                                    const std::vector<double>& v, int64_t dk, int64_t dv,
                                    int64_t n) {
  std::vector<double> rk(dk * n), rq(dk * n), out(dv * n, 0.0);
  for (int64_t c = 0; c < dk; ++c) {  // each key channel: softmax over the positions
    double m = -INFINITY, s = 0;
    for (int64_t p = 0; p < n; ++p) m = std::max(m, k[c * n + p]);
    for (int64_t p = 0; p < n; ++p) s += std::exp(k[c * n + p] - m);
    for (int64_t p = 0; p < n; ++p) rk[c * n + p] = std::exp(k[c * n + p] - m) / s;
  }
  for (int64_t p = 0; p < n; ++p) {  // each query: softmax over its channels
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < dk; ++c) m = std::max(m, q[c * n + p]);
    for (int64_t c = 0; c < dk; ++c) s += std::exp(q[c * n + p] - m);
    for (int64_t c = 0; c < dk; ++c) rq[c * n + p] = std::exp(q[c * n + p] - m) / s;
  }
  for (int64_t e = 0; e < dv; ++e)
    for (int64_t p = 0; p < n; ++p)
      for (int64_t c = 0; c < dk; ++c) {
        double context = 0;  // sum over positions of rk[c, j] v[e, j]
        for (int64_t j = 0; j < n; ++j) context += rk[c * n + j] * v[e * n + j];
        out[e * n + p] += context * rq[c * n + p];
      }
  return out;
}

std::vector<double> naive_dot(const std::vector<double>& q, const std::vector<double>& k,
                              const std::vector<double>& v, int64_t dk, int64_t dv, int64_t n) {
  std::vector<double> out(dv * n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> a(n);
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < n; ++j) {
      double dotp = 0;
      for (int64_t c = 0; c < dk; ++c) dotp += q[c * n + i] * k[c * n + j];
      a[j] = dotp / std::sqrt(double(dk));
      m = std::max(m, a[j]);
    }
    for (int64_t j = 0; j < n; ++j) s += std::exp(a[j] - m);
    for (int64_t e = 0; e < dv; ++e)
      for (int64_t j = 0; j < n; ++j) out[e * n + i] += v[e * n + j] * std::exp(a[j] - m) / s;
  }
  return out;
}

}  // namespace

TEST_CASE("with scaling normalization, efficient attention equals dot-product attention") {
  manual_seed(1);
  struct Case {
    int64_t batch, heads, dk, dv, nq, nk;
    bool masked;
  };
  for (const Case& c : {Case{1, 1, 4, 4, 9, 9, false}, Case{2, 4, 8, 3, 16, 16, false},
                        Case{3, 2, 5, 7, 30, 30, true}, Case{2, 3, 4, 6, 5, 11, false},
                        Case{2, 2, 6, 2, 7, 13, true}}) {
    CAPTURE(c.batch);
    CAPTURE(c.nq);
    CAPTURE(c.nk);
    Tensor q = randn({c.batch, c.heads, c.dk, c.nq}, kFloat64);
    Tensor k = randn({c.batch, c.heads, c.dk, c.nk}, kFloat64);
    Tensor v = randn({c.batch, c.heads, c.dv, c.nk}, kFloat64);
    Tensor mask = c.masked ? to(gt(rand({c.batch, c.nk}, kFloat64), 0.7), kInt64) : Tensor();
    Tensor efficient = F::efficient_attention(q, k, v, Normalization::Scaling, mask);
    Tensor dot = F::dot_product_attention(q, k, v, Normalization::Scaling, mask);
    CHECK_CLOSE_ABS(efficient, dot, 1e-12, 1e-12);
  }
}

TEST_CASE("with scaling normalization, the 2-D modules agree when they share weights") {
  manual_seed(2);
  for (int64_t heads : {1, 2, 4}) {
    CAPTURE(heads);
    nn::AttentionConfig o{.in_channels = 6,
                          .key_channels = 8,
                          .value_channels = 4,
                          .head_count = heads,
                          .normalization = Normalization::Scaling};
    nn::EfficientAttention2d efficient(o);
    nn::DotProductAttention2d dot(o);
    efficient->to(kFloat64);
    dot->to(kFloat64);
    dot->load_state_dict(efficient->state_dict());
    Tensor x = randn({3, 6, 5, 4}, kFloat64);
    CHECK_CLOSE_ABS(efficient(x), dot(x), 1e-12, 1e-12);
  }
}

// Scaling normalization from the paper's definitions, one batch element and head, keys j with
// keep[j] (the mask's complement), n = the kept keys:
//   dot-product: out[e, i] = Σ_j v[e, j] (Σ_c k[c, j] q[c, i]) / n          (an n_k x n_q map)
//   efficient:   context[c, e] = Σ_j (k[c, j] / √n) v[e, j];  out[e, i] = Σ_c context[c, e] q[c, i]
//   / √n
std::vector<double> naive_scaled_dot(const std::vector<double>& q, const std::vector<double>& k,
                                     const std::vector<double>& v, const std::vector<bool>& keep,
                                     int64_t dk, int64_t dv, int64_t nq, int64_t nk) {
  double n = 0;
  for (bool kept : keep) n += kept;
  std::vector<double> out(dv * nq, 0.0);
  for (int64_t i = 0; i < nq; ++i)
    for (int64_t j = 0; j < nk; ++j) {
      if (!keep[j]) continue;
      double a = 0;
      for (int64_t c = 0; c < dk; ++c) a += k[c * nk + j] * q[c * nq + i];
      for (int64_t e = 0; e < dv; ++e) out[e * nq + i] += v[e * nk + j] * a / n;
    }
  return out;
}

std::vector<double> naive_scaled_efficient(const std::vector<double>& q,
                                           const std::vector<double>& k,
                                           const std::vector<double>& v,
                                           const std::vector<bool>& keep, int64_t dk, int64_t dv,
                                           int64_t nq, int64_t nk) {
  double n = 0;
  for (bool kept : keep) n += kept;
  std::vector<double> context(dk * dv, 0.0), out(dv * nq, 0.0);
  for (int64_t c = 0; c < dk; ++c)
    for (int64_t e = 0; e < dv; ++e)
      for (int64_t j = 0; j < nk; ++j)
        if (keep[j]) context[c * dv + e] += k[c * nk + j] / std::sqrt(n) * v[e * nk + j];
  for (int64_t e = 0; e < dv; ++e)
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t c = 0; c < dk; ++c)
        out[e * nq + i] += context[c * dv + e] * q[c * nq + i] / std::sqrt(n);
  return out;
}

TEST_CASE("scaling normalization: each functional equals its definition, masks and n_q != n_k") {
  manual_seed(13);
  int64_t b = 2, heads = 2, dk = 3, dv = 2, nq = 5, nk = 7;
  Tensor q = randn({b, heads, dk, nq}, kFloat64), k = randn({b, heads, dk, nk}, kFloat64),
         v = randn({b, heads, dv, nk}, kFloat64);
  Tensor mask = tensor({{0, 1, 0, 0, 1, 0, 0}, {0, 0, 0, 0, 0, 0, 1}}, kInt64);
  for (bool masked : {false, true}) {
    CAPTURE(masked);
    Tensor m = masked ? mask : Tensor();
    auto got_dot = values(F::dot_product_attention(q, k, v, Normalization::Scaling, m));
    auto got_eff = values(F::efficient_attention(q, k, v, Normalization::Scaling, m));
    auto qv = values(q), kv = values(k), vv = values(v), mv = values(mask);
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t h = 0; h < heads; ++h) {
        int64_t slice = bi * heads + h;
        std::vector<double> qs(qv.begin() + slice * dk * nq, qv.begin() + (slice + 1) * dk * nq);
        std::vector<double> ks(kv.begin() + slice * dk * nk, kv.begin() + (slice + 1) * dk * nk);
        std::vector<double> vs(vv.begin() + slice * dv * nk, vv.begin() + (slice + 1) * dv * nk);
        std::vector<bool> keep(nk, true);
        for (int64_t j = 0; masked && j < nk; ++j) keep[j] = mv[bi * nk + j] == 0;
        auto want_dot = naive_scaled_dot(qs, ks, vs, keep, dk, dv, nq, nk);
        auto want_eff = naive_scaled_efficient(qs, ks, vs, keep, dk, dv, nq, nk);
        for (int64_t i = 0; i < dv * nq; ++i) {
          CHECK(got_dot[slice * dv * nq + i] == doctest::Approx(want_dot[i]).epsilon(1e-12));
          CHECK(got_eff[slice * dv * nq + i] == doctest::Approx(want_eff[i]).epsilon(1e-12));
        }
      }
  }
}

TEST_CASE("with softmax normalization they differ, and each matches its own definition") {
  manual_seed(3);
  int64_t dk = 4, dv = 3, n = 10;
  Tensor q = randn({1, 1, dk, n}, kFloat64), k = randn({1, 1, dk, n}, kFloat64),
         v = randn({1, 1, dv, n}, kFloat64);
  Tensor efficient = F::efficient_attention(q, k, v);
  Tensor dot = F::dot_product_attention(q, k, v);
  // Each equals the loop written from its definition...
  auto want_eff = naive_efficient(values(q), values(k), values(v), dk, dv, n);
  auto want_dot = naive_dot(values(q), values(k), values(v), dk, dv, n);
  auto got_eff = values(efficient), got_dot = values(dot);
  for (size_t i = 0; i < want_eff.size(); ++i) {
    CHECK(got_eff[i] == doctest::Approx(want_eff[i]).epsilon(1e-12));
    CHECK(got_dot[i] == doctest::Approx(want_dot[i]).epsilon(1e-12));
  }
  // ...and the two are different functions: the paper's softmax form is not an equivalence.
  double diff = amax(abs(efficient - dot), {}).item<double>();
  double scale = amax(abs(dot), {}).item<double>();
  MESSAGE("softmax normalization: max |efficient - dot| = ", diff, " (output scale ", scale, ")");
  CHECK(diff > 0.05 * scale);
}

TEST_CASE("masked key positions are ignored") {
  manual_seed(4);
  Tensor q = randn({2, 2, 3, 6}, kFloat64), k = randn({2, 2, 3, 8}, kFloat64),
         v = randn({2, 2, 5, 8}, kFloat64);
  Tensor mask = tensor({{0, 0, 0, 0, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 0, 1, 1}}, kInt64);
  for (auto norm : {Normalization::Softmax, Normalization::Scaling}) {
    // Masking the last two keys equals dropping them.
    Tensor k6 = narrow(k, 3, 0, 6), v6 = narrow(v, 3, 0, 6);
    CHECK_CLOSE_ABS(F::efficient_attention(q, k, v, norm, mask),
                    F::efficient_attention(q, k6, v6, norm), 1e-12, 1e-13);
    CHECK_CLOSE_ABS(F::dot_product_attention(q, k, v, norm, mask),
                    F::dot_product_attention(q, k6, v6, norm), 1e-12, 1e-13);
  }
  CHECK_THROWS_WITH_AS(
      F::efficient_attention(q, k, v, Normalization::Softmax, zeros({2, 7}, kInt64)),
      doctest::Contains("efficient_attention: mask must be bool or int64 (B, n_k) = (2, 8)"),
      Error);
  CHECK_THROWS_WITH_AS(F::dot_product_attention(q, k, randn({2, 2, 5, 7}, kFloat64)),
                       doctest::Contains("dot_product_attention: expected q (..., d_k, n_q)"),
                       Error);
}

TEST_CASE("blocked dot-product attention equals the full map: values, gradients, masks") {
  manual_seed(21);
  // 7 queries against 9 keys; batch dims x n_k = 36 values per query, so these budgets give
  // blocks of 1, 2 (and a partial last block) and all 7 queries.
  Tensor q0 = randn({2, 2, 3, 7}, kFloat64), k0 = randn({2, 2, 3, 9}, kFloat64),
         v0 = randn({2, 2, 4, 9}, kFloat64), g = randn({2, 2, 4, 7}, kFloat64);
  Tensor mask = tensor({{0, 1, 0, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 1}}, kInt64);
  for (auto norm : {Normalization::Softmax, Normalization::Scaling})
    for (bool masked : {false, true})
      for (int64_t budget : {36, 72, 1000}) {
        CAPTURE(norm == Normalization::Softmax);
        CAPTURE(masked);
        CAPTURE(budget);
        Tensor m = masked ? mask : Tensor();
        auto run = [&](bool blocked) {
          Tensor q = clone(q0).requires_grad_(), k = clone(k0).requires_grad_(),
                 v = clone(v0).requires_grad_();
          Tensor out = blocked ? F::blocked_dot_product_attention(q, k, v, norm, m, budget)
                               : F::dot_product_attention(q, k, v, norm, m);
          out.backward(g);
          return std::vector<Tensor>{out, q.grad(), k.grad(), v.grad()};
        };
        std::vector<Tensor> want = run(false), got = run(true);
        for (size_t i = 0; i < want.size(); ++i) {
          CAPTURE(i);
          CHECK_CLOSE_ABS(got[i], want[i], 1e-12, 1e-13);
        }
      }
  // The module option picks it, with the same weights and result.
  nn::AttentionConfig o{.in_channels = 3, .key_channels = 4, .value_channels = 2, .head_count = 2};
  o.blocked = false;
  nn::DotProductAttention2d full(o);
  o.blocked = true;
  o.block_elements = 20;
  nn::DotProductAttention2d blocked(o);
  blocked->load_state_dict(full->state_dict());
  Tensor x = randn({2, 3, 3, 4});
  CHECK_CLOSE_ABS(blocked(x), full(x), 1e-5, 1e-6);
  CHECK_THROWS_WITH_AS(F::blocked_dot_product_attention(q0, k0, v0, Normalization::Softmax, {}, 0),
                       "blocked_dot_product_attention: block_elements must be positive, got 0",
                       Error);
}

TEST_CASE("gradcheck and gradgradcheck of the functionals and both modules") {
  manual_seed(5);
  Tensor mask = tensor({{0, 0, 1, 0, 0}, {1, 0, 0, 0, 0}}, kInt64);
  for (auto norm : {Normalization::Softmax, Normalization::Scaling}) {
    for (bool masked : {false, true}) {
      CAPTURE(masked);
      Tensor m = masked ? mask : Tensor();
      std::vector<Tensor> in{randn({2, 2, 3, 4}, kFloat64).requires_grad_(),
                             randn({2, 2, 3, 5}, kFloat64).requires_grad_(),
                             randn({2, 2, 2, 5}, kFloat64).requires_grad_()};
      auto eff = [&](const std::vector<Tensor>& x) {
        return F::efficient_attention(x[0], x[1], x[2], norm, m);
      };
      auto dot = [&](const std::vector<Tensor>& x) {
        return F::dot_product_attention(x[0], x[1], x[2], norm, m);
      };
      auto blocked = [&](const std::vector<Tensor>& x) {  // 2 queries per block, of 4
        return F::blocked_dot_product_attention(x[0], x[1], x[2], norm, m, 2 * 2 * 2 * 5);
      };
      for (auto fn :
           {autograd::TensorFn(eff), autograd::TensorFn(dot), autograd::TensorFn(blocked)}) {
        auto r1 = autograd::gradcheck(fn, in);
        CHECK_MESSAGE(r1.passed, r1.message);
        auto r2 = autograd::gradgradcheck(fn, in);
        CHECK_MESSAGE(r2.passed, r2.message);
      }
    }
  }
  // The modules, with respect to the input and every parameter: gradcheck perturbs copies of
  // its inputs, so fn rebuilds the block from those copies through the functionals (a twin that
  // is first checked to equal the module itself).
  nn::AttentionConfig o{.in_channels = 3, .key_channels = 4, .value_channels = 2, .head_count = 2};
  std::vector<std::shared_ptr<nn::Module>> modules{nn::EfficientAttention2d(o),
                                                   nn::DotProductAttention2d(o)};
  for (const auto& m : modules) {
    CAPTURE(m->name());
    m->to(kFloat64);
    bool efficient = m->name() == "EfficientAttention2d";
    std::vector<std::string> names;
    std::vector<Tensor> in{randn({2, 3, 2, 3}, kFloat64).requires_grad_()};
    for (auto& [name, p] : m->named_parameters()) {
      names.push_back(name);
      in.push_back(p);
    }
    auto fn = [&](const std::vector<Tensor>& x) {
      auto param = [&](const std::string& name) {
        return x[1 + (std::find(names.begin(), names.end(), name) - names.begin())];
      };
      auto conv = [&](const std::string& layer, const Tensor& t) {
        return F::conv2d(t, param(layer + ".weight"), param(layer + ".bias"));
      };
      const Tensor& input = x[0];
      int64_t n = input.size(0), h = input.size(2), w = input.size(3), heads = o.head_count;
      Tensor k = reshape(conv("keys", input), {n, heads, o.key_channels / heads, h * w});
      Tensor q = reshape(conv("queries", input), {n, heads, o.key_channels / heads, h * w});
      Tensor v = reshape(conv("values", input), {n, heads, o.value_channels / heads, h * w});
      Tensor att = efficient ? F::efficient_attention(q, k, v) : F::dot_product_attention(q, k, v);
      return conv("reprojection", reshape(att, {n, o.value_channels, h, w})) + input;
    };
    CHECK_CLOSE_ABS(fn(in), (*m)(in[0]), 1e-13, 1e-13);
    auto r1 = autograd::gradcheck(fn, in);
    CHECK_MESSAGE(r1.passed, r1.message);
    auto r2 = autograd::gradgradcheck(fn, in);
    CHECK_MESSAGE(r2.passed, r2.message);
  }
}

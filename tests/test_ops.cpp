// Forward values of the core ops against the naive reference loops of reference.h, on
// contiguous, transposed, sliced, broadcast and zero-size inputs.
#include <cmath>

#include "reference.h"

using namespace ember;
using ember::testing::shape;
using ember::testing::values;

namespace {

// The same values in several layouts: contiguous, a transposed copy seen back through a
// transpose, a strided slice of a larger tensor.
std::vector<Tensor> layouts(const Tensor& x) {
  std::vector<Tensor> out{x};
  if (x.dim() == 2) {
    out.push_back(transpose(transpose(x, 0, 1).contiguous(), 0, 1));
    Tensor wide = zeros({x.size(0), 2 * x.size(1)}, x.dtype());
    Tensor strided = slice(wide, 1, 0, 2 * x.size(1), 2);
    strided.copy_(x);
    out.push_back(strided);
  }
  return out;
}

void check_values(const Tensor& got, const std::vector<double>& want, const Shape& want_shape,
                  double rtol, double atol = 1e-12) {
  REQUIRE(shape(got) == want_shape);
  auto g = values(got);
  for (size_t i = 0; i < want.size(); ++i) {
    bool ok = (std::isnan(g[i]) && std::isnan(want[i])) ||
              std::abs(g[i] - want[i]) <= rtol * std::abs(want[i]) + atol;
    if (!ok) FAIL("element ", i, ": got ", g[i], ", want ", want[i]);
  }
}

}  // namespace

TEST_CASE("unary ops match the reference loop on every layout") {
  manual_seed(1);
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    std::function<double(double)> ref;
  };
  std::vector<Case> cases{
      {"neg", [](const Tensor& x) { return neg(x); }, [](double v) { return -v; }},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double v) { return std::abs(v); }},
      {"sign", [](const Tensor& x) { return sign(x); },
       [](double v) { return double((v > 0) - (v < 0)); }},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double v) { return std::exp(v); }},
      {"log", [](const Tensor& x) { return log(abs(x)); },
       [](double v) { return std::log(std::abs(v)); }},
      {"sqrt", [](const Tensor& x) { return sqrt(abs(x)); },
       [](double v) { return std::sqrt(std::abs(v)); }},
      {"rsqrt", [](const Tensor& x) { return rsqrt(abs(x)); },
       [](double v) { return 1 / std::sqrt(std::abs(v)); }},
      {"pow", [](const Tensor& x) { return pow(x, 3.0); }, [](double v) { return v * v * v; }},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double v) { return std::tanh(v); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); },
       [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double v) { return v > 0 ? v : 0; }},
      {"erf", [](const Tensor& x) { return erf(x); }, [](double v) { return std::erf(v); }},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); },
       [](double v) { return std::clamp(v, -0.5, 0.7); }},
      {"add scalar", [](const Tensor& x) { return x + 2.0; }, [](double v) { return v + 2; }},
      {"sub scalar", [](const Tensor& x) { return x - 2.0; }, [](double v) { return v - 2; }},
      {"rsub scalar", [](const Tensor& x) { return 2.0 - x; }, [](double v) { return 2 - v; }},
      {"mul scalar", [](const Tensor& x) { return x * 3.0; }, [](double v) { return v * 3; }},
      {"div scalar", [](const Tensor& x) { return x / 4.0; }, [](double v) { return v / 4; }},
  };
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor base = randn({5, 7}, dtype);
    for (const auto& c : cases) {
      for (const Tensor& x : layouts(base)) {
        CAPTURE(c.name);
        CAPTURE(dtype);
        std::vector<double> want;
        for (double v : values(x)) want.push_back(c.ref(dtype == kFloat32 ? double(float(v)) : v));
        check_values(c.op(x), want, shape(x), dtype == kFloat32 ? 1e-5 : 1e-12,
                     dtype == kFloat32 ? 1e-6 : 1e-12);
      }
    }
    CHECK(shape(exp(zeros({0, 3}, dtype))) == Shape{0, 3});
  }
}

TEST_CASE("binary ops broadcast like NumPy and match the reference loop") {
  manual_seed(2);
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&, const Tensor&)> op;
    std::function<double(double, double)> ref;
  };
  std::vector<Case> cases{
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, std::plus<double>()},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, std::minus<double>()},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, std::multiplies<double>()},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, std::divides<double>()},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(abs(a), b); },
       [](double a, double b) { return std::pow(std::abs(a), b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }},
      {"eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); },
       [](double a, double b) { return double(a == b); }},
      {"ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); },
       [](double a, double b) { return double(a != b); }},
      {"lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); },
       [](double a, double b) { return double(a < b); }},
      {"le", [](const Tensor& a, const Tensor& b) { return le(a, b); },
       [](double a, double b) { return double(a <= b); }},
      {"gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); },
       [](double a, double b) { return double(a > b); }},
      {"ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); },
       [](double a, double b) { return double(a >= b); }},
  };
  std::vector<std::pair<Shape, Shape>> shapes{{{4, 5}, {4, 5}},    {{4, 5}, {5}}, {{4, 1}, {1, 5}},
                                              {{2, 3, 4}, {3, 1}}, {{3}, {}},     {{0, 5}, {5}}};
  for (const auto& [sa, sb] : shapes) {
    Tensor a = randn(sa, kFloat64), b = randn(sb, kFloat64);
    for (const auto& c : cases) {
      for (const Tensor& x : layouts(a)) {
        CAPTURE(c.name);
        CAPTURE(shape_str(sa));
        CAPTURE(shape_str(sb));
        Shape out_shape;
        auto want = ember::reference::binary(x, b, c.ref, out_shape);
        check_values(c.op(x, b), want, out_shape, 1e-12);
      }
    }
  }
  // Ties: maximum and comparisons see equal values.
  Tensor t = tensor({1, 2, 3}, kFloat64);
  CHECK(values(eq(t, tensor({1, 0, 3}, kFloat64))) == std::vector<double>{1, 0, 1});
  CHECK(eq(t, t).dtype() == kBool);
  CHECK(values(ge(t, 2.0)) == std::vector<double>{0, 1, 1});
}

TEST_CASE("comparisons with a number or a one-element tensor: NaN, infinities, exact int64") {
  // Against plain C++ comparisons, element by element: each op with a number and with a
  // one-element tensor, on float64 with NaN and infinities on either side, and on int64 values
  // one apart beyond float64's 2^53 (a number that passed through a double would tie them).
  // One spelling for tensors (with a number or a tensor) and for plain C++ values.
  auto compare = [](std::string_view op, const auto& a, const auto& b) {
    if (op == "eq") return a == b;
    if (op == "ne") return a != b;
    if (op == "lt") return a < b;
    if (op == "le") return a <= b;
    if (op == "gt") return a > b;
    return a >= b;
  };
  const double nan = std::nan("");
  std::vector<double> xs{-INFINITY, -1.5, 0.0, 1.0, 2.0, INFINITY, nan};
  Tensor x = empty({7}, kFloat64);
  std::copy(xs.begin(), xs.end(), x.data_ptr<double>());
  const int64_t big = (int64_t{1} << 53) + 1;  // float64 rounds it to 2^53
  std::vector<int64_t> is{big - 1, big, big + 1, -big};
  Tensor xi = empty({4}, kInt64);
  std::copy(is.begin(), is.end(), xi.data_ptr<int64_t>());
  for (std::string_view op : {"eq", "ne", "lt", "le", "gt", "ge"}) {
    CAPTURE(op);
    for (double s : std::vector<double>{1.0, nan, INFINITY}) {
      CAPTURE(s);
      Tensor number = compare(op, x, Scalar(s)), broadcast = compare(op, x, tensor({s}, kFloat64));
      REQUIRE(number.dtype() == kBool);
      for (size_t i = 0; i < xs.size(); ++i) {
        CHECK(number.data_ptr<bool>()[i] == compare(op, xs[i], s));
        CHECK(broadcast.data_ptr<bool>()[i] == compare(op, xs[i], s));
      }
    }
    Tensor got = compare(op, xi, Scalar(big));
    for (size_t i = 0; i < is.size(); ++i)
      CHECK(got.data_ptr<bool>()[i] == compare(op, is[i], big));
  }
}

TEST_CASE("where selects elementwise with broadcasting") {
  Tensor cond = tensor({{1, 0, 1}}) != 0;
  Tensor a = tensor({{1, 2, 3}, {4, 5, 6}}, kFloat32);
  CHECK(values(where(cond, a, tensor({-1.0}))) == std::vector<double>{1, -1, 3, 4, -1, 6});
  CHECK(values(where(cond, a, 0.5)) == std::vector<double>{1, 0.5, 3, 4, 0.5, 6});
  CHECK_THROWS_WITH_AS(where(a, a, a),
                       "where: expected the condition to be a bool tensor, got float32", Error);
}

TEST_CASE("softmax and log_softmax along any dim are stable") {
  manual_seed(4);
  Tensor x = randn({3, 4, 5}, kFloat64) * 10.0;
  auto xv = values(x);
  Shape sizes{3, 4, 5}, strides{20, 5, 1};
  for (int64_t dim : {0, 1, 2, -1}) {
    int64_t d = (dim + 3) % 3;
    // The loop from the definition, in long double: e^(x_i - max) / Σ_j e^(x_j - max).
    std::vector<double> want(xv.size()), want_log(xv.size());
    for (int64_t i = 0; i < 60; ++i) {
      int64_t first = i - (i / strides[d] % sizes[d]) * strides[d];
      long double mx = -INFINITY, total = 0;
      for (int64_t k = 0; k < sizes[d]; ++k)
        mx = std::max<long double>(mx, xv[first + k * strides[d]]);
      for (int64_t k = 0; k < sizes[d]; ++k) total += std::exp(xv[first + k * strides[d]] - mx);
      want_log[i] = static_cast<double>(xv[i] - mx - std::log(total));
      want[i] = static_cast<double>(std::exp(xv[i] - mx) / total);
    }
    check_values(softmax(x, dim), want, sizes, 1e-12, 0);
    check_values(log_softmax(x, dim), want_log, sizes, 1e-12, 1e-14);
  }
  Tensor big = tensor({1000.0, 1001.0}, kFloat64);
  auto s = values(softmax(big, 0));
  CHECK(s[0] == doctest::Approx(1 / (1 + std::exp(1.0))));
  CHECK(std::isfinite(values(log_softmax(big, 0))[0]));
  CHECK_CLOSE(softmax(transpose(x, 0, 2), 1), transpose(softmax(x, 1), 0, 2), 1e-15);
}

TEST_CASE("matmul follows torch.matmul for every rank, layout and broadcast") {
  manual_seed(5);
  std::vector<std::pair<Shape, Shape>> cases{
      {{3, 4}, {4, 5}}, {{2, 3, 4}, {4, 5}}, {{2, 3, 4}, {2, 4, 5}}, {{2, 1, 3, 4}, {5, 4, 2}},
      {{1, 4}, {4, 1}}, {{3, 0}, {0, 2}},    {{0, 4}, {4, 3}},       {{7, 64}, {64, 9}}};
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const auto& [sa, sb] : cases) {
      Tensor a = randn(sa, dtype), b = randn(sb, dtype);
      Shape out_shape;
      auto want = ember::reference::matmul(a, b, out_shape);
      CAPTURE(shape_str(sa));
      CAPTURE(shape_str(sb));
      double tol = dtype == kFloat32 ? 1e-4 : 1e-12;
      check_values(matmul(a, b), want, out_shape, tol, tol);
      // The same product through transposed views (BLAS transpose flags, no copies).
      Tensor at = transpose(transpose(a, -1, -2).contiguous(), -1, -2);
      Tensor bt = transpose(transpose(b, -1, -2).contiguous(), -1, -2);
      check_values(matmul(at, bt), want, out_shape, tol, tol);
    }
  }
  // Vectors: (k)@(k), (k)@(k, n), (m, k)@(k), (B, m, k)@(k).
  Tensor v = tensor({1, 2, 3}, kFloat64), m = tensor({{1, 0}, {0, 1}, {1, 1}}, kFloat64);
  CHECK(matmul(v, v).dim() == 0);
  CHECK(matmul(v, v).item<double>() == 14);
  CHECK(values(matmul(v, m)) == std::vector<double>{4, 5});
  CHECK(values(matmul(t(m), v)) == std::vector<double>{4, 5});
  CHECK(shape(matmul(ones({2, 2, 3}, kFloat64), v)) == Shape{2, 2});
  // A strided slice (every other column) that BLAS cannot read directly is copied.
  Tensor wide = randn({4, 10}, kFloat64);
  Tensor every_other = slice(wide, 1, 0, 10, 2);
  CHECK_CLOSE(matmul(every_other, ones({5, 2}, kFloat64)),
              matmul(every_other.contiguous(), ones({5, 2}, kFloat64)), 1e-14);
  CHECK(shape(bmm(ones({2, 3, 4}), ones({2, 4, 5}))) == Shape{2, 3, 5});
  CHECK_THROWS_WITH_AS(bmm(ones({2, 3, 4}), ones({3, 4, 5})),
                       doctest::Contains("bmm: batch sizes differ"), Error);
  CHECK_THROWS_WITH_AS(matmul(ones({2, 3, 4}), ones({3, 4, 5})),
                       "matmul: shapes [2] and [3] cannot be broadcast (dim 0: 2 vs 3)", Error);
}

TEST_CASE("cat, stack, split and chunk") {
  Tensor a = tensor({{1, 2}, {3, 4}}, kFloat32), b = tensor({{5, 6}}, kFloat32);
  CHECK(values(cat({a, b}, 0)) == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(values(cat({a, transpose(a, 0, 1)}, 1)) == std::vector<double>{1, 2, 1, 3, 3, 4, 2, 4});
  CHECK(shape(stack({a, a, a}, 1)) == Shape{2, 3, 2});
  CHECK(values(stack({tensor({1, 2}), tensor({3, 4})}, 1)) == std::vector<double>{1, 3, 2, 4});
  auto parts = split(arange(0, 7, 1), 3);
  REQUIRE(parts.size() == 3);
  CHECK(values(parts[2]) == std::vector<double>{6});
  CHECK(parts[1].storage() == parts[0].storage());
  auto chunks = chunk(arange(0, 6, 1), 4);
  CHECK(chunks.size() == 3);
  CHECK(values(cat({zeros({0, 2}), a}, 0)) == values(a));
}

TEST_CASE("index_select, index_add, gather and scatter_add match the reference") {
  Tensor x = view(arange(0, 12, 1, kFloat64), {3, 4});
  Tensor idx = tensor({2, 0, 2}, kInt64);
  CHECK(values(index_select(x, 0, idx)) ==
        std::vector<double>{8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  CHECK(values(index_select(x, 1, tensor({3, 1}, kInt64))) ==
        std::vector<double>{3, 1, 7, 5, 11, 9});
  Tensor added = index_add(zeros({3, 4}, kFloat64), 0, idx, ones({3, 4}, kFloat64));
  CHECK(values(added) == std::vector<double>{1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2});
  Tensor gi = tensor({{3, 0}, {1, 1}, {0, 2}}, kInt64);
  CHECK(values(gather(x, 1, gi)) == std::vector<double>{3, 0, 5, 5, 8, 10});
  Tensor sc = scatter_add(zeros({3, 4}, kFloat64), 1, gi, ones({3, 2}, kFloat64));
  CHECK(values(sc) == std::vector<double>{1, 0, 0, 1, 0, 2, 0, 0, 1, 0, 1, 0});
  // src larger than index: as torch.scatter_add, only src[:3, :2] is read.
  Tensor big = view(arange(1, 16, 1, kFloat64), {3, 5});
  CHECK(values(scatter_add(zeros({3, 4}, kFloat64), 1, gi, big)) ==
        std::vector<double>{2, 0, 0, 1, 0, 13, 0, 0, 11, 0, 12, 0});
  CHECK_THROWS_WITH_AS(scatter_add(zeros({3, 4}, kFloat64), 1, gi, ones({3, 1}, kFloat64)),
                       "scatter_add: src [3, 1] is smaller than index [3, 2] in dim 1", Error);
  // gather on a transposed input reads through its strides.
  CHECK(values(gather(transpose(x, 0, 1), 0, tensor({{2, 1, 0}}, kInt64))) ==
        std::vector<double>{2, 5, 8});
  CHECK_THROWS_WITH_AS(gather(x, 1, view(tensor({4, 0, 0}, kInt64), {3, 1})),
                       "gather: index 4 is out of range for dim 1 of size 4", Error);
  CHECK_THROWS_WITH_AS(gather(x, 1, tensor({1}, kFloat32)),
                       "gather: index must be int64, got float32", Error);
}

namespace {

struct MatmulCase {
  const char* name;
  Tensor a, b;
};

// Each case's matmul against the naive loop, at 1 and 2 threads.
void check_matmul_at_1_and_2_threads(const std::vector<MatmulCase>& cases, double tol) {
  for (const MatmulCase& c : cases) {
    Shape want_shape;
    std::vector<double> want = reference::matmul(c.a, c.b, want_shape);
    for (int threads : {1, 2}) {
      CAPTURE(c.name);
      CAPTURE(threads);
      set_num_threads(threads);
      check_values(matmul(c.a, c.b), want, want_shape, tol, tol);
    }
  }
  set_num_threads(2);
}

}  // namespace

// The thread-count-invariant GEMM path (core/kernels/matmul.cpp): GEMMs above OpenBLAS's
// single-thread size split into panels fixed by their sizes. Against the naive loop, on shapes
// that reach each branch (panels of rows, panels of columns, transposed operands, a batch), at
// 1 and 2 threads.
TEST_CASE("thread-count-invariant matmul panels against a naive loop") {
  manual_seed(21);
  set_thread_count_invariant(true);
  for (DType dt : {kFloat32, kFloat64}) {
    check_matmul_at_1_and_2_threads(
        {
            {"rows >= 512", to(randn({601, 40}), dt), to(randn({40, 30}), dt)},
            {"columns", to(randn({30, 40}), dt), to(randn({40, 703}), dt)},
            {"a transposed", transpose(to(randn({40, 601}), dt), 0, 1), to(randn({40, 30}), dt)},
            {"b transposed", to(randn({30, 40}), dt), transpose(to(randn({703, 40}), dt), 0, 1)},
            {"batched", to(randn({3, 520, 20}), dt), to(randn({3, 20, 30}), dt)},
            {"broadcast b", to(randn({2, 300, 50}), dt), to(randn({50, 40}), dt)},
        },
        dt == kFloat32 ? 1e-4 : 1e-12);
  }
  set_thread_count_invariant(false);
}

// A single product with a long depth and a small output runs as panels of 64 rows or columns
// (core/kernels/matmul.cpp): against the naive loop, panels of rows and of columns (a partial
// last one), b transposed as a Linear layer's weight, at 1 and 2 threads, and the same bits at
// both.
TEST_CASE("long-depth matmul panels against a naive loop, the same bits at 1 and 2 threads") {
  manual_seed(22);
  std::vector<MatmulCase> cases = {
      {"rows", randn({130, 600}), randn({600, 40})},
      {"partial columns", randn({40, 1200}), randn({1200, 201})},
      {"linear", randn({64, 3136}), transpose(randn({128, 3136}), 0, 1)},
  };
  check_matmul_at_1_and_2_threads(cases, 1e-4);
  for (const MatmulCase& c : cases) {
    CAPTURE(c.name);
    set_num_threads(1);
    std::vector<double> one = testing::values(matmul(c.a, c.b));
    set_num_threads(2);
    CHECK(testing::values(matmul(c.a, c.b)) == one);
  }
}

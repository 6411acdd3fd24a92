// The vectorised math functions (core/kernels/vmath.h, SLEEF) against the C library's scalar
// ones, their special values, and softmax / log_softmax against a loop in long double.
#include <bit>
#include <cmath>
#include <cstring>

#include "helpers.h"

using namespace ember;

// ---------------------------------------------------------------------------------------------
// Vectorised math: within 2 ulp (float32) and 1e-15 relative (float64) of the C library

namespace {

// Distance in units in the last place between two finite floats of one sign convention.
int64_t ulp_distance(float a, float b) {
  if (a == b || (std::isnan(a) && std::isnan(b))) return 0;
  if (std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) return INT64_MAX;
  auto ordered = [](float f) {
    int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? int64_t{INT32_MIN} - i : int64_t{i};
  };
  return std::abs(ordered(a) - ordered(b));
}

// Inputs spread over [lo, hi]: a regular grid plus values near 0, and odd lengths so the vector
// tails are used.
template <typename T>
std::vector<T> inputs(double lo, double hi, int64_t count) {
  std::vector<T> v;
  for (int64_t i = 0; i < count; ++i) v.push_back(static_cast<T>(lo + (hi - lo) * i / (count - 1)));
  for (double tiny : {1e-30, -1e-30, 1e-7, -1e-7, 0.0, 1e-3, -1e-3})
    if (tiny >= lo && tiny <= hi) v.push_back(static_cast<T>(tiny));
  return v;
}

struct MathCase {
  std::string name;
  double lo, hi;
  Tensor (*op)(const Tensor&);
  double (*reference)(double);  // evaluated in T: see check_math
};

template <typename T>
void check_math(const MathCase& c, T (*scalar)(T)) {
  std::vector<T> in = inputs<T>(c.lo, c.hi, 20001);
  int64_t n = static_cast<int64_t>(in.size());
  Tensor x = empty({n}, dtype_of<T>());
  std::copy(in.begin(), in.end(), x.data_ptr<T>());
  // Contiguous, and strided (every other element of a wider tensor) through the gather path.
  Tensor wide = zeros({n, 2}, dtype_of<T>());
  Tensor strided = select(wide, 1, 0);
  strided.copy_(x);
  for (const Tensor& input : {x, strided}) {
    Tensor y = c.op(input);
    const T* yp = y.contiguous().data_ptr<T>();
    int64_t worst = 0;
    double worst_rel = 0, worst_at = 0;
    for (int64_t i = 0; i < n; ++i) {
      T want = scalar(in[i]);
      if constexpr (std::is_same_v<T, float>) {
        int64_t d = ulp_distance(yp[i], want);
        if (d > worst) worst = d, worst_at = in[i];
      } else {
        double rel = want == yp[i] ? 0 : std::abs(yp[i] - want) / std::abs(want);
        if (rel > worst_rel) worst_rel = rel, worst_at = in[i];
      }
    }
    if constexpr (std::is_same_v<T, float>)
      CHECK_MESSAGE(worst <= 2, c.name, " float32: worst ", worst, " ulp at x = ", worst_at);
    else
      CHECK_MESSAGE(worst_rel <= 1e-15, c.name, " float64: worst relative error ", worst_rel,
                    " at x = ", worst_at);
  }
}

}  // namespace

TEST_CASE("vectorised exp, log, tanh, sigmoid, erf match the C library") {
  MathCase cases[] = {
      {"exp", -87.0, 88.0, [](const Tensor& x) { return exp(x); }, nullptr},
      {"log", 1e-30, 1e30, [](const Tensor& x) { return log(x); }, nullptr},
      {"log near 1", 0.5, 2.0, [](const Tensor& x) { return log(x); }, nullptr},
      {"tanh", -20.0, 20.0, [](const Tensor& x) { return tanh(x); }, nullptr},
      {"sigmoid", -80.0, 80.0, [](const Tensor& x) { return sigmoid(x); }, nullptr},
      {"erf", -6.0, 6.0, [](const Tensor& x) { return erf(x); }, nullptr},
  };
  float (*f32[])(float) = {
      [](float v) { return std::exp(v); }, [](float v) { return std::log(v); },
      [](float v) { return std::log(v); }, [](float v) { return std::tanh(v); },
      // sigmoid has no C library function: its definition in double, rounded to float
      [](float v) { return static_cast<float>(1 / (1 + std::exp(-double{v}))); },
      [](float v) { return std::erf(v); }};
  double (*f64[])(double) = {
      [](double v) { return std::exp(v); },
      [](double v) { return std::log(v); },
      [](double v) { return std::log(v); },
      [](double v) { return std::tanh(v); },
      [](double v) { return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)); },
      [](double v) { return std::erf(v); }};
  for (size_t i = 0; i < std::size(cases); ++i) {
    check_math<float>(cases[i], f32[i]);
    check_math<double>(cases[i], f64[i]);
  }
}

TEST_CASE("vectorised math keeps the special values") {
  for (DType dt : {kFloat32, kFloat64}) {
    double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
    Tensor x = to(tensor({-inf, inf, nan, 0.0, -0.0, -1.0}), dt);
    auto e = testing::values(exp(x));
    CHECK(e[0] == 0.0);
    CHECK(e[1] == inf);
    CHECK(std::isnan(e[2]));
    CHECK(e[3] == 1.0);
    auto l = testing::values(log(x));
    CHECK(l[1] == inf);
    CHECK(l[3] == -inf);
    CHECK(std::isnan(l[5]));
    auto t = testing::values(tanh(x));
    CHECK(t[0] == -1.0);
    CHECK(t[1] == 1.0);
    auto s = testing::values(sigmoid(x));
    CHECK(s[0] == 0.0);
    CHECK(s[1] == 1.0);
    auto r = testing::values(erf(x));
    CHECK(r[0] == -1.0);
    CHECK(r[1] == 1.0);
  }
}

TEST_CASE("softmax and log_softmax against a loop in long double") {
  manual_seed(3);
  for (DType dt : {kFloat32, kFloat64}) {
    for (int64_t dim : {0, 1, 2}) {
      Tensor x = to(randn({3, 37, 5}) * 6.0, dt);
      auto xv = testing::values(x);
      auto sm = testing::values(softmax(x, dim)), lsm = testing::values(log_softmax(x, dim));
      int64_t sizes[3] = {3, 37, 5}, strides[3] = {185, 5, 1};
      double worst_sm = 0, worst_lsm = 0;
      for (int64_t i = 0; i < 3 * 37 * 5; ++i) {
        int64_t base = i - (i / strides[dim] % sizes[dim]) * strides[dim];
        long double mx = -INFINITY, total = 0;
        for (int64_t k = 0; k < sizes[dim]; ++k)
          mx = std::max<long double>(mx, xv[base + k * strides[dim]]);
        for (int64_t k = 0; k < sizes[dim]; ++k)
          total += std::exp((long double)xv[base + k * strides[dim]] - mx);
        long double want_lsm = xv[i] - mx - std::log(total), want_sm = std::exp(want_lsm);
        worst_sm = std::max(worst_sm, double(std::abs(sm[i] - want_sm) / want_sm));
        worst_lsm = std::max(worst_lsm, double(std::abs(lsm[i] - want_lsm)));
      }
      CAPTURE(dim);
      double tol = dt == kFloat32 ? 2e-6 : 1e-14;
      CHECK_MESSAGE(worst_sm <= tol, dtype_name(dt), " softmax worst relative error ", worst_sm);
      CHECK_MESSAGE(worst_lsm <= tol * 10, dtype_name(dt), " log_softmax worst error ", worst_lsm);
    }
  }
}

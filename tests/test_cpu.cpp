// The CPU underneath: which OpenBLAS kernels ember loads, flush-to-zero reaching every thread,
// and the vectorised math functions against the C library's scalar ones.
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include <ember/core/kernels/capability.h>

#include "helpers.h"

using namespace ember;

namespace {

// ---------------------------------------------------------------------------------------------
// Which OpenBLAS core

blas::CpuFeatures avx512(bool bf16) {
  blas::CpuFeatures f;
  f.avx = f.avx2 = f.fma = true;
  f.avx512f = f.avx512dq = f.avx512cd = f.avx512bw = f.avx512vl = true;
  f.avx512_bf16 = bf16;
  return f;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Runs one skipped test case of this binary (the "child" cases below) with `env` prepended;
// returns what it printed.
std::string run_child(const std::string& env, const std::string& test_case = "blas child*") {
  std::string cmd = "env " + env + " /proc/" + std::to_string(getpid()) +
                    "/exe --no-skip --test-case='" + test_case + "' --no-intro --no-version 2>&1";
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  pclose(pipe);
  return out;
}

}  // namespace

TEST_CASE("blas: the OpenBLAS core ember asks for, by CPU features") {
  blas::CpuFeatures intel_avx512 = avx512(false), sapphire = avx512(true), zen4 = avx512(true);
  intel_avx512.intel = sapphire.intel = true;
  intel_avx512.family = sapphire.family = 6;
  zen4.amd = true;
  zen4.family = 0x19;
  blas::CpuFeatures zen5 = zen4;
  zen5.family = 0x1a;
  CHECK(blas::openblas_core_for(intel_avx512) == "SkylakeX");
  CHECK(blas::openblas_core_for(sapphire) == "Cooperlake");
  CHECK(blas::openblas_core_for(zen4) == "Haswell");     // measured fastest on Zen 4
  CHECK(blas::openblas_core_for(zen5) == "Cooperlake");  // measured fastest on Zen 5
  zen5.avx512_bf16 = false;
  CHECK(blas::openblas_core_for(zen5) == "SkylakeX");
  blas::CpuFeatures partial = intel_avx512;  // AVX-512F without BW/VL (Knights Landing): AVX2
  partial.avx512bw = partial.avx512vl = false;
  CHECK(blas::openblas_core_for(partial) == "Haswell");
  blas::CpuFeatures haswell;
  haswell.intel = haswell.avx = haswell.avx2 = haswell.fma = true;
  CHECK(blas::openblas_core_for(haswell) == "Haswell");
  blas::CpuFeatures zen = haswell;
  zen.intel = false;
  zen.amd = true;
  zen.family = 0x19;  // Zen 3
  CHECK(blas::openblas_core_for(zen) == "Zen");
  blas::CpuFeatures sandy;  // AVX without AVX2: OpenBLAS's own detection is right there
  sandy.intel = sandy.avx = true;
  CHECK(blas::openblas_core_for(sandy) == "");
  CHECK(blas::openblas_core_for(blas::CpuFeatures{}) == "");
}

TEST_CASE("blas: a user's OPENBLAS_CORETYPE always wins") {
  bool by_user = false;
  CHECK(blas::choose_openblas_core(avx512(true), "Haswell", &by_user) == "Haswell");
  CHECK(by_user);
  CHECK(blas::choose_openblas_core(avx512(true), "", &by_user) == "Cooperlake");
  CHECK_FALSE(by_user);
  CHECK(blas::choose_openblas_core(avx512(false), nullptr, &by_user) == "SkylakeX");
  CHECK_FALSE(by_user);
}

TEST_CASE("capability: ember's own kernels by CPU features and EMBER_CPU_CAPABILITY") {
  using kernels::Capability;
  blas::CpuFeatures haswell;
  haswell.avx = haswell.avx2 = haswell.fma = true;
  blas::CpuFeatures no_fma = haswell;
  no_fma.fma = false;
  blas::CpuFeatures knights = avx512(false);  // AVX-512F without BW and VL
  knights.avx512bw = knights.avx512vl = false;
  CHECK(kernels::capability_for(avx512(true), nullptr) == Capability::avx512);
  CHECK(kernels::capability_for(avx512(false), "") == Capability::avx512);
  CHECK(kernels::capability_for(knights, nullptr) == Capability::avx2);
  CHECK(kernels::capability_for(haswell, nullptr) == Capability::avx2);
  CHECK(kernels::capability_for(no_fma, nullptr) == Capability::baseline);
  CHECK(kernels::capability_for(blas::CpuFeatures{}, nullptr) == Capability::baseline);
  // The user's setting caps the choice and never goes past what the CPU has.
  CHECK(kernels::capability_for(avx512(true), "avx2") == Capability::avx2);
  CHECK(kernels::capability_for(avx512(true), "default") == Capability::baseline);
  CHECK(kernels::capability_for(haswell, "avx512") == Capability::avx2);
  CHECK(std::string(kernels::name(Capability::baseline)) == "default");
  CHECK_THROWS_WITH_AS(kernels::capability_for(haswell, "sse9"),
                       "EMBER_CPU_CAPABILITY: expected default, avx2 or avx512, got 'sse9'", Error);
  // On this machine: what the CPU has, unless EMBER_CPU_CAPABILITY (the CTest runs of the
  // convolution suites under avx2 and default) asks for less.
  CHECK(kernels::cpu_capability() ==
        kernels::capability_for(blas::cpu_features(), std::getenv("EMBER_CPU_CAPABILITY")));
}

TEST_CASE("blas: the kernels loaded fit this CPU") {
  Tensor c = matmul(randn({64, 64}), randn({64, 64}));
  BlasInfo info = blas_info();
  MESSAGE(to_string(info));
  CHECK(info.config.rfind("OpenBLAS", 0) == 0);
  CHECK(info.threads == get_num_threads());
  const char* user = std::getenv("OPENBLAS_CORETYPE");
  if (user && *user) {
    CHECK(lower(info.core) == lower(user));
    CHECK(info.chosen_by == "user (OPENBLAS_CORETYPE)");
  } else {
    CHECK(info.chosen_by == "ember");
    CHECK(info.core == blas::openblas_core_for(blas::cpu_features()));
    if (blas::cpu_features().avx2) {
      std::set<std::string> avx2_or_newer{"Haswell", "Zen", "SkylakeX", "Cooperlake",
                                          "SapphireRapids"};
      CHECK_MESSAGE(avx2_or_newer.count(info.core), "core ", info.core, " on an AVX2 CPU");
    }
  }
}

// Run only as a child process of the next test (doctest skips it otherwise).
TEST_CASE("blas child: report the core" * doctest::skip()) {
  BlasInfo info = blas_info();
  std::printf("core=%s chosen_by=%s env=%s\n", info.core.c_str(), info.chosen_by.c_str(),
              std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "(unset)");
}

TEST_CASE("blas: a child process honours OPENBLAS_CORETYPE, and ember leaves it unset") {
  std::string user = run_child("OPENBLAS_CORETYPE=Haswell");
  CHECK_MESSAGE(user.find("core=Haswell chosen_by=user (OPENBLAS_CORETYPE) env=Haswell") !=
                    std::string::npos,
                user);
  if (blas::cpu_features().avx2) {
    std::string chosen = run_child("-u OPENBLAS_CORETYPE");
    std::string want = "core=" + blas::openblas_core_for(blas::cpu_features()) +
                       " chosen_by=ember env=(unset)";
    CHECK_MESSAGE(chosen.find(want) != std::string::npos, chosen);
  }
}

// ---------------------------------------------------------------------------------------------
// Flush-to-zero in every thread

namespace {

constexpr float kDenormal = 1e-39f;  // below float32's smallest normal, 1.18e-38

// Restores the setting a test case found, however it ends.
struct FlushGuard {
  bool before = flush_denormal();
  ~FlushGuard() { set_flush_denormal(before); }
};

}  // namespace

TEST_CASE("flush denormal: the calling thread and oneTBB's workers") {
  FlushGuard restore;
  REQUIRE(get_num_threads() >= 2);
  for (bool on : {true, false, true}) {
    CAPTURE(on);
    set_flush_denormal(on);
    CHECK(flush_denormal() == on);
    volatile float tiny = kDenormal;
    CHECK((tiny * 1.0f == 0.0f) == on);
    // Chunks of a parallel_for until two threads have run some; each multiplies a denormal.
    std::mutex m;
    std::set<std::thread::id> threads;
    bool all_flushed = true, none_flushed = true;
    for (int attempt = 0; attempt < 200 && threads.size() < 2; ++attempt) {
      parallel_for(0, 64, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          volatile float x = kDenormal;
          bool flushed = x * 1.0f == 0.0f;
          std::lock_guard lock(m);
          threads.insert(std::this_thread::get_id());
          all_flushed = all_flushed && flushed;
          none_flushed = none_flushed && !flushed;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      });
    }
    CHECK(threads.size() >= 2);
    CHECK((on ? all_flushed : none_flushed));
  }
}

TEST_CASE("flush denormal: OpenBLAS's threads, before and after a change") {
  FlushGuard restore;
  REQUIRE(get_num_threads() >= 2);
  // A GEMM far above OpenBLAS's threading threshold: every thread computes some rows of
  // a (denormal) @ identity. With denormals-are-zero each output is 0; without, it is a.
  int64_t n = 512;
  Tensor a = empty({n, n}), eye_n = eye(n);
  std::fill_n(a.data_ptr<float>(), n * n, kDenormal);  // stores, no arithmetic: nothing flushed
  for (bool on : {false, true, false, true}) {
    CAPTURE(on);
    set_flush_denormal(on);
    auto c = testing::values(matmul(a, eye_n));
    int64_t zeros = 0;
    for (double v : c) zeros += v == 0.0;
    CHECK(zeros == (on ? n * n : 0));
  }
}

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
      [](float v) { return std::exp(v); },  [](float v) { return std::log(v); },
      [](float v) { return std::log(v); },  [](float v) { return std::tanh(v); },
      // sigmoid has no C library function: its definition in double, rounded to float
      [](float v) { return static_cast<float>(1 / (1 + std::exp(-double{v}))); },
      [](float v) { return std::erf(v); }};
  double (*f64[])(double) = {
      [](double v) { return std::exp(v); },  [](double v) { return std::log(v); },
      [](double v) { return std::log(v); },  [](double v) { return std::tanh(v); },
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
        for (int64_t k = 0; k < sizes[dim]; ++k) mx = std::max<long double>(mx, xv[base + k * strides[dim]]);
        for (int64_t k = 0; k < sizes[dim]; ++k) total += std::exp((long double)xv[base + k * strides[dim]] - mx);
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

// ---------------------------------------------------------------------------------------------
// One thread count for oneTBB and OpenBLAS

namespace {

// How many distinct threads run the chunks of a parallel_for, over up to 100 tries.
size_t threads_seen() {
  std::mutex m;
  std::set<std::thread::id> seen;
  for (int attempt = 0; attempt < 100 && seen.size() < 2; ++attempt)
    parallel_for(0, 64, 1, [&](int64_t, int64_t) {
      {
        std::lock_guard lock(m);
        seen.insert(std::this_thread::get_id());
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    });
  return seen.size();
}

}  // namespace

TEST_CASE("set_num_threads reaches oneTBB and OpenBLAS together") {
  for (int n : {1, 2, 1, 2}) {
    CAPTURE(n);
    set_num_threads(n);
    CHECK(get_num_threads() == n);
    CHECK(blas_info().threads == n);
    CHECK(threads_seen() == static_cast<size_t>(n));
  }
}

TEST_CASE("threads child: report the thread counts" * doctest::skip()) {
  std::printf("ember=%d blas=%d tbb=%zu\n", get_num_threads(), blas_info().threads,
              threads_seen());
}

TEST_CASE("EMBER_NUM_THREADS reaches oneTBB and OpenBLAS together") {
  for (const char* n : {"1", "2"}) {
    std::string out = run_child("EMBER_NUM_THREADS=" + std::string(n), "threads child*");
    std::string want = std::string("ember=") + n + " blas=" + n + " tbb=" + n;
    CHECK_MESSAGE(out.find(want) != std::string::npos, out);
  }
}

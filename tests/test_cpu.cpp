// The CPU underneath: which OpenBLAS kernels ember loads, flush-to-zero reaching every thread,
// and one thread count for oneTBB and OpenBLAS (the vectorised math: test_vmath.cpp).
#include <ember/core/kernels/capability.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

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
  CHECK_MESSAGE(
      user.find("core=Haswell chosen_by=user (OPENBLAS_CORETYPE) env=Haswell") != std::string::npos,
      user);
  if (blas::cpu_features().avx2) {
    std::string chosen = run_child("-u OPENBLAS_CORETYPE");
    std::string want =
        "core=" + blas::openblas_core_for(blas::cpu_features()) + " chosen_by=ember env=(unset)";
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
  std::printf("ember=%d blas=%d tbb=%zu\n", get_num_threads(), blas_info().threads, threads_seen());
}

TEST_CASE("EMBER_NUM_THREADS reaches oneTBB and OpenBLAS together") {
  for (const char* n : {"1", "2"}) {
    std::string out = run_child("EMBER_NUM_THREADS=" + std::string(n), "threads child*");
    std::string want = std::string("ember=") + n + " blas=" + n + " tbb=" + n;
    CHECK_MESSAGE(out.find(want) != std::string::npos, out);
  }
}

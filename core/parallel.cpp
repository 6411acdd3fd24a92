// oneTBB and OpenBLAS thread control; see parallel.h.
#include "parallel.h"

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <xmmintrin.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "error.h"
#include "kernels/gemm.h"

namespace ember {
namespace {

thread_local bool t_in_parallel = false;

// Flush-to-zero (denormal results become 0) and denormals-are-zero (denormal inputs read as 0):
// bits 15 and 6 of MXCSR, the SSE/AVX control register, which every thread has its own copy of.
constexpr unsigned kFlushDenormalBits = 0x8040;

// The process-wide setting. Every thread sets its MXCSR to it before doing ember's work
// (sync_fp_mode): at each parallel_for chunk and each BLAS call. NOTE: checking a cached
// per-thread flag is not enough, because oneTBB itself sets a worker's MXCSR to the one it
// captured when its task arena was made, before every task.
std::atomic<bool>& flush_setting() {
  static std::atomic<bool> on = [] {
    const char* env = std::getenv("EMBER_FLUSH_DENORMAL");
    if (!env) return true;
    std::string v = env;
    check(v == "0" || v == "1", "EMBER_FLUSH_DENORMAL: expected 0 or 1, got '", v, "'");
    return v == "1";
  }();
  return on;
}

void sync_fp_mode() {
  unsigned csr = _mm_getcsr();
  unsigned want = flush_setting().load(std::memory_order_relaxed) ? csr | kFlushDenormalBits
                                                                  : csr & ~kFlushDenormalBits;
  if (want != csr) _mm_setcsr(want);
}

struct ThreadState {
  std::atomic<int> threads{1};
  std::unique_ptr<tbb::global_control> control;

  ThreadState() {
    int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (const char* env = std::getenv("EMBER_NUM_THREADS")) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      check(end != env && *end == '\0' && v >= 1 && v <= kMaxThreads,
            "EMBER_NUM_THREADS: expected a whole number from 1 to ", kMaxThreads, ", got '", env,
            "'");
      n = static_cast<int>(v);
    }
    sync_fp_mode();  // before OpenBLAS loads: its threads inherit this thread's mode
    apply(n);
  }

  void apply(int n) {
    threads = n;
    control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<size_t>(n));
    if (serial_blas_scopes == 0) kernels::blas_library().set_num_threads(n);
  }

  // OpenBLAS's thread count is process-wide. While any parallel_for_blas runs it is 1; a GEMM
  // large enough for OpenBLAS to thread, called outside one, waits until none runs (and holds
  // new ones off), so it always runs with ember's count. Guarded by g_mutex.
  int serial_blas_scopes = 0;
  int threaded_blas_calls = 0;
};

ThreadState& state() {
  static ThreadState s;
  return s;
}

std::mutex g_mutex;
std::condition_variable g_blas_changed;
thread_local bool t_serial_blas = false;  // running a parallel_for_blas body

// Holds OpenBLAS to the calling thread while alive (nested and concurrent scopes count).
class SerialBlasScope {
 public:
  SerialBlasScope() {
    std::unique_lock lock(g_mutex);
    g_blas_changed.wait(lock, [] { return state().threaded_blas_calls == 0; });
    if (state().serial_blas_scopes++ == 0) kernels::blas_library().set_num_threads(1);
  }
  ~SerialBlasScope() {
    std::lock_guard lock(g_mutex);
    if (--state().serial_blas_scopes == 0) {
      kernels::blas_library().set_num_threads(state().threads);
      g_blas_changed.notify_all();
    }
  }
  SerialBlasScope(const SerialBlasScope&) = delete;
  SerialBlasScope& operator=(const SerialBlasScope&) = delete;
};

}  // namespace

void set_num_threads(int n) {
  check(n >= 1 && n <= kMaxThreads, "set_num_threads: expected 1 to ", kMaxThreads,
        " threads, got ", n);
  std::lock_guard lock(g_mutex);
  state().apply(n);
}

namespace {
std::atomic<bool> g_thread_count_invariant{false};
}  // namespace

void set_thread_count_invariant(bool on) { g_thread_count_invariant = on; }

bool thread_count_invariant() { return g_thread_count_invariant.load(std::memory_order_relaxed); }

int get_num_threads() { return state().threads.load(std::memory_order_relaxed); }

bool in_parallel_region() { return t_in_parallel; }

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body) {
  if (end <= begin) return;
  sync_fp_mode();
  grain = std::max<int64_t>(grain, 1);
  if (end - begin <= grain || t_in_parallel || get_num_threads() == 1) {
    body(begin, end);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(begin, end, grain),
                    [&](const tbb::blocked_range<int64_t>& r) {
                      struct Flag {  // restored even if the body throws
                        bool outer = std::exchange(t_in_parallel, true);
                        ~Flag() { t_in_parallel = outer; }
                      } flag;
                      sync_fp_mode();
                      body(r.begin(), r.end());
                    });
}

void parallel_for_blas(int64_t begin, int64_t end, int64_t grain,
                       const std::function<void(int64_t, int64_t)>& body) {
  if (end <= begin) return;
  if (t_serial_blas) {  // nested: OpenBLAS is serial already
    parallel_for(begin, end, grain, body);
    return;
  }
  SerialBlasScope serial;
  parallel_for(begin, end, grain, [&](int64_t lo, int64_t hi) {
    struct Flag {  // restored even if the body throws
      bool outer = std::exchange(t_serial_blas, true);
      ~Flag() { t_serial_blas = outer; }
    } flag;
    body(lo, hi);
  });
}

bool set_flush_denormal(bool on) {
  state();  // OpenBLAS loaded, and its threads started, before the restart below
  std::lock_guard lock(g_mutex);
  flush_setting() = on;
  sync_fp_mode();
  // OpenBLAS's threads took the mode of the thread that started them, and ember cannot reach
  // into them: stop them, and OpenBLAS starts them anew, from a thread of ember's, at its next
  // threaded call.
  if (state().serial_blas_scopes == 0 && state().threaded_blas_calls == 0 &&
      kernels::blas_library().shutdown_threads)
    kernels::blas_library().shutdown_threads();
  return true;
}

bool flush_denormal() { return flush_setting().load(); }

BlasCall::BlasCall(int64_t multiply_adds) {
  sync_fp_mode();
  if (t_serial_blas || multiply_adds <= kSerialBlasWork) return;
  std::unique_lock lock(g_mutex);
  g_blas_changed.wait(lock, [] { return state().serial_blas_scopes == 0; });
  ++state().threaded_blas_calls;
  counted_ = true;
}

BlasCall::~BlasCall() {
  if (!counted_) return;
  std::lock_guard lock(g_mutex);
  if (--state().threaded_blas_calls == 0) g_blas_changed.notify_all();
}

}  // namespace ember

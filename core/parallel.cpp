// oneTBB and OpenBLAS thread control; see parallel.h.
#include "parallel.h"

#include <cblas.h>
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "error.h"

namespace ember {
namespace {

thread_local bool t_in_parallel = false;

struct ThreadState {
  std::atomic<int> threads{1};
  std::unique_ptr<tbb::global_control> control;

  ThreadState() {
    int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (const char* env = std::getenv("EMBER_NUM_THREADS")) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      check(end != env && *end == '\0' && v >= 1 && v <= 1024,
            "EMBER_NUM_THREADS: expected a whole number from 1 to 1024, got '", env, "'");
      n = static_cast<int>(v);
    }
    apply(n);
  }

  void apply(int n) {
    threads = n;
    control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<size_t>(n));
    openblas_set_num_threads(n);
  }
};

ThreadState& state() {
  static ThreadState s;
  return s;
}

std::mutex g_mutex;

}  // namespace

void set_num_threads(int n) {
  check(n >= 1, "set_num_threads: expected at least 1 thread, got ", n);
  std::lock_guard lock(g_mutex);
  state().apply(n);
}

int get_num_threads() { return state().threads.load(std::memory_order_relaxed); }

bool in_parallel_region() { return t_in_parallel; }

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body) {
  if (end <= begin) return;
  grain = std::max<int64_t>(grain, 1);
  if (end - begin <= grain || t_in_parallel || get_num_threads() == 1) {
    body(begin, end);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(begin, end, grain),
                    [&](const tbb::blocked_range<int64_t>& r) {
                      bool outer = t_in_parallel;
                      t_in_parallel = true;
                      body(r.begin(), r.end());
                      t_in_parallel = outer;
                    });
}

}  // namespace ember

// Threads through one header: the thread count that drives oneTBB and OpenBLAS together, and
// parallel_for, the loop every kernel splits its work with. Only parallel.cpp includes oneTBB.
// GEMMs inside a parallel region either are small enough that OpenBLAS runs them on the calling
// thread (kernels/matmul.cpp) or run under parallel_for_blas, so the two never compete for cores.
// Read next: kernels/loop.h, which builds the elementwise iteration on top of parallel_for.
#pragma once

#include <cstdint>
#include <functional>

namespace ember {

/// Sets the threads used by ember's kernels (oneTBB) and by OpenBLAS; n >= 1.
void set_num_threads(int n);
/// The most threads set_num_threads and EMBER_NUM_THREADS accept.
constexpr int kMaxThreads = 1024;
/// The current thread count: EMBER_NUM_THREADS if set, else all cores, until set_num_threads.
int get_num_threads();

/// Whether results must not depend on the thread count (default off). Every ember kernel gives
/// the same bits at every thread count; the exception is a GEMM too large for one thread, which
/// OpenBLAS threads itself and whose last bits then depend on the thread count. When on, such
/// GEMMs are split into panels fixed by their sizes, each run by single-thread OpenBLAS on ember's
/// threads: thread-count invariant, but slower on large square products (bench/bench_matmul).
void set_thread_count_invariant(bool on);
bool thread_count_invariant();

/// Flushes denormal floats to zero (FTZ and DAZ) in every thread that does ember's work: the
/// calling thread, oneTBB's workers and OpenBLAS's threads; PyTorch's torch.set_flush_denormal.
/// On by default (EMBER_FLUSH_DENORMAL=0 turns it off): arithmetic on denormals (|x| < 1.2e-38
/// in float32) is 10-100x slower on many x86 CPUs, and a training run that makes them slows
/// down silently. Returns true (x86-64 always supports it). Call it while no ember work runs.
bool set_flush_denormal(bool on);
bool flush_denormal();

/// True on a thread that is running the body of a parallel_for (GEMMs there stay serial).
bool in_parallel_region();

/// Calls body(chunk_begin, chunk_end) over [begin, end) split into chunks of at least `grain`
/// iterations. Small ranges, a single thread, or a call from inside another parallel region run
/// inline on the calling thread. Bodies must write disjoint outputs.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body);

/// parallel_for for bodies that call BLAS (one GEMM per sample, say): for its duration OpenBLAS
/// runs every call on the calling thread, so the bodies share the cores through oneTBB alone and
/// each GEMM gives the same bits whichever thread runs it and however many there are.
void parallel_for_blas(int64_t begin, int64_t end, int64_t grain,
                       const std::function<void(int64_t, int64_t)>& body);

/// OpenBLAS runs a GEMM of at most this many multiply-adds on the calling thread (its
/// GEMM_MULTITHREAD_THRESHOLD); larger ones it threads itself.
inline constexpr int64_t kSerialBlasWork = int64_t{64} * 64 * 64;

/// Held around every BLAS call ember makes (kernels/matmul.cpp). In a parallel_for_blas body it
/// does nothing. Elsewhere, a call large enough for OpenBLAS to thread waits until no
/// parallel_for_blas runs and holds new ones off while it runs: it always gets ember's thread
/// count, so its result never depends on what other threads are doing.
class BlasCall {
 public:
  explicit BlasCall(int64_t multiply_adds);
  ~BlasCall();
  BlasCall(const BlasCall&) = delete;
  BlasCall& operator=(const BlasCall&) = delete;

 private:
  bool counted_ = false;
};

/// Elementwise work below this many elements runs inline: threads cost more than they save.
inline constexpr int64_t kGrainElements = 32768;

}  // namespace ember

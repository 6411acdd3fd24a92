// Threads through one header: the thread count that drives oneTBB and OpenBLAS together, and
// parallel_for, the loop every kernel splits its work with. Only parallel.cpp includes oneTBB.
// GEMMs inside a parallel region are kept small enough that OpenBLAS runs them on the calling
// thread (kernels/matmul.cpp), so the two never compete for cores.
// Read next: kernels/loop.h, which builds the elementwise iteration on top of parallel_for.
#pragma once

#include <cstdint>
#include <functional>

namespace ember {

/// Sets the threads used by ember's kernels (oneTBB) and by OpenBLAS; n >= 1.
void set_num_threads(int n);
/// The current thread count: EMBER_NUM_THREADS if set, else all cores, until set_num_threads.
int get_num_threads();

/// True on a thread that is running the body of a parallel_for (GEMMs there stay serial).
bool in_parallel_region();

/// Calls body(chunk_begin, chunk_end) over [begin, end) split into chunks of at least `grain`
/// iterations. Small ranges, a single thread, or a call from inside another parallel region run
/// inline on the calling thread. Bodies must write disjoint outputs.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body);

/// Elementwise work below this many elements runs inline: threads cost more than they save.
inline constexpr int64_t kGrainElements = 32768;

}  // namespace ember

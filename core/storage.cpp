// The tracking allocator behind Storage; see storage.h.
#include "storage.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "error.h"

namespace ember {
namespace {

constexpr size_t kAlignment = 64;
// Buffers above glibc's largest mmap threshold (32 MiB) come fresh from the kernel on every
// allocation; they are aligned to 2 MiB and offered as huge pages, so a new 64 MiB output costs
// 32 page faults instead of 16384. Smaller buffers are recycled by malloc (see tune_malloc).
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugeFrom = size_t{32} << 20;
// Refuse single allocations past this many bytes with an error instead of asking the OS:
// a corrupt header must not be able to request terabytes.
constexpr size_t kMaxAllocation = size_t{1} << 40;

std::atomic<int64_t> g_current{0};
std::atomic<int64_t> g_peak{0};
std::atomic<int64_t> g_allocations{0};

void raise_peak(int64_t now) {
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

// A training step allocates and frees the same few hundred buffers every time. glibc serves
// buffers above its mmap threshold (128 KiB, raised as such buffers are freed) with fresh pages
// from the kernel and returns the top of its heap to the kernel beyond its trim threshold, so
// without this every step pays a page fault and a page clearing per 4 KiB it touches (10-17% of
// an attention block's time, measured with perf). Fixing both thresholds keeps freed buffers
// below 32 MiB for reuse, and gives memory back once 64 MiB lie free at the top of the heap.
// NOTE: it is process-wide; a user's own MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or
// GLIBC_TUNABLES setting wins.
void tune_malloc() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") ||
      (tunables && std::strstr(tunables, "malloc")))
    return;
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kHugeFrom));
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace

MemoryStats memory_stats() { return {g_current.load(), g_peak.load(), g_allocations.load()}; }

void reset_peak_memory_stats() { g_peak.store(g_current.load()); }

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  static const bool tuned = (tune_malloc(), true);
  (void)tuned;
  check(nbytes <= kMaxAllocation, "storage: refusing to allocate ", nbytes, " bytes (limit ",
        kMaxAllocation, ")");
  size_t align = nbytes >= kHugeFrom ? kHugePage : kAlignment;
  size_t rounded = (std::max<size_t>(nbytes, 1) + align - 1) / align * align;
  // NOTE: not aligned_alloc. glibc serves an aligned request from a larger chunk and frees the
  // slack on either side apart, so a freed buffer is too small for the next aligned request of
  // its own size, and the heap grows instead: a 2048 x 2048 matmul output came from fresh pages
  // (a page fault per 4 KiB) on every call. A plain malloc of the size plus the alignment, with
  // the aligned start kept inside it, is reused exactly.
  block_ = std::malloc(rounded + align);
  check(block_ != nullptr, "storage: out of memory allocating ", nbytes, " bytes");
  auto start = (reinterpret_cast<uintptr_t>(block_) + align - 1) / align * align;
  data_ = reinterpret_cast<void*>(start);
  if (align == kHugePage) ::madvise(data_, rounded, MADV_HUGEPAGE);  // a hint; failure is fine
  int64_t now = g_current.fetch_add(static_cast<int64_t>(nbytes)) + static_cast<int64_t>(nbytes);
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  raise_peak(now);
}

Storage::~Storage() {
  std::free(block_);
  g_current.fetch_sub(static_cast<int64_t>(nbytes_));
}

}  // namespace ember

// The tracking allocator behind Storage; see storage.h.
#include "storage.h"

#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include "error.h"

namespace ember {
namespace {

constexpr size_t kAlignment = 64;
// Buffers above glibc's largest mmap threshold (32 MiB) come fresh from the kernel when first
// made; they are aligned to 2 MiB and offered as huge pages, so a new 64 MiB output costs 32
// page faults instead of 16384, and kept for reuse when freed (LargeBlocks). Smaller buffers
// are recycled by malloc (see tune_malloc).
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

// Buffers of kHugeFrom bytes and more: glibc maps each one from the kernel and unmaps it when
// freed, and the kernel clears every page of a new mapping: in efficient attention at 768²,
// 34% of the time was clear_page (perf). Freed ones are kept here and handed to the next
// request of the same size; a request that matches none frees them all first, so the blocks
// kept never add to the most memory the program would hold without them.
class LargeBlocks {
 public:
  void* take(size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < blocks_.size(); ++i)
      if (blocks_[i].size == size) {
        void* block = blocks_[i].block;
        blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i));
        cached_ -= size;
        return block;
      }
    release_locked();
    return nullptr;
  }
  void keep(void* block, size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    blocks_.push_back({size, block});
    cached_ += size;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_locked();
  }
  int64_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int64_t>(cached_);
  }

 private:
  struct Block {
    size_t size;
    void* block;
  };
  void release_locked() {
    for (const Block& b : blocks_) std::free(b.block);
    blocks_.clear();
    cached_ = 0;
  }
  std::mutex mutex_;
  std::vector<Block> blocks_;
  size_t cached_ = 0;
};

// Never destroyed: storage can be freed by other static destructors at exit.
LargeBlocks& large_blocks() {
  static LargeBlocks* blocks = new LargeBlocks;
  return *blocks;
}

// The block malloc is asked for: the size rounded to the alignment, plus room to align.
size_t block_size(size_t nbytes, size_t align) {
  return (std::max<size_t>(nbytes, 1) + align - 1) / align * align + align;
}

}  // namespace

MemoryStats memory_stats() {
  return {g_current.load(), g_peak.load(), g_allocations.load(), large_blocks().cached()};
}

void empty_cache() { large_blocks().release(); }

void reset_peak_memory_stats() { g_peak.store(g_current.load()); }

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  static const bool tuned = (tune_malloc(), true);
  (void)tuned;
  check(nbytes <= kMaxAllocation, "storage: refusing to allocate ", nbytes, " bytes (limit ",
        kMaxAllocation, ")");
  size_t align = nbytes >= kHugeFrom ? kHugePage : kAlignment;
  size_t size = block_size(nbytes, align);
  // NOTE: not aligned_alloc. glibc serves an aligned request from a larger chunk and frees the
  // slack on either side apart, so a freed buffer is too small for the next aligned request of
  // its own size, and the heap grows instead: a 2048 x 2048 matmul output came from fresh pages
  // (a page fault per 4 KiB) on every call. A plain malloc of the size plus the alignment, with
  // the aligned start kept inside it, is reused exactly.
  bool large = align == kHugePage;
  block_ = large ? large_blocks().take(size) : nullptr;
  bool fresh = block_ == nullptr;
  if (fresh) block_ = std::malloc(size);
  check(block_ != nullptr, "storage: out of memory allocating ", nbytes, " bytes");
  auto start = (reinterpret_cast<uintptr_t>(block_) + align - 1) / align * align;
  data_ = reinterpret_cast<void*>(start);
  if (large && fresh) ::madvise(data_, size - align, MADV_HUGEPAGE);  // a hint; failure is fine
  int64_t now = g_current.fetch_add(static_cast<int64_t>(nbytes)) + static_cast<int64_t>(nbytes);
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  raise_peak(now);
}

Storage::~Storage() {
  if (nbytes_ >= kHugeFrom)
    large_blocks().keep(block_, block_size(nbytes_, kHugePage));
  else
    std::free(block_);
  g_current.fetch_sub(static_cast<int64_t>(nbytes_));
}

}  // namespace ember

// The tracking allocator behind Storage; see storage.h.
#include "storage.h"

#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <new>
#include <utility>

#include "error.h"

namespace ember {
namespace {

constexpr size_t kAlignment = 64;
// Buffers above glibc's largest mmap threshold (32 MiB) come fresh from the kernel when first
// made; they are aligned to 2 MiB and offered as huge pages, so a new 64 MiB output costs 32
// page faults instead of 16384. Buffers of kCacheFrom bytes and more are kept for reuse when
// freed (BlockCache); smaller ones are recycled by malloc (see tune_malloc).
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugeFrom = size_t{32} << 20;
constexpr size_t kCacheFrom = size_t{1} << 20;
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
// (Buffers of 1 MiB and more do not reach malloc again while BlockCache keeps them.)
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

// Freed buffers of kCacheFrom bytes and more, kept for the next request of the same size. A
// training step frees and makes the same buffers again; given back to malloc, they return to the
// kernel (unmapped, or trimmed from the top of the heap once a step's activations are freed) and
// the next step pays a page fault and a page clearing per 4 KiB: 30-50% of a ViT step (perf),
// 34% of efficient attention at 768^2 (clear_page).
// The rule that keeps the cache from costing memory: the bytes in use plus the bytes kept never
// exceed the peak in use (memory_stats().peak). A request that matches no kept block frees kept
// blocks, the longest kept first, until the request fits under the peak (all of them when the
// request makes a new peak), so keeping blocks never raises the memory a program reaches, only
// delays giving it back. Longest kept first: after training at batch 64, evaluation at batch 256
// needs other sizes; the training blocks, kept and never asked for again, must go before the
// evaluation's own, which a largest-first rule freed instead while the stale ones stayed (the
// evaluation then ran on fresh pages, 6x slower, in some runs; perf: page faults in every
// batch_norm and conv2d output).
class BlockCache {
 public:
  // `in_use_after`: the bytes in use once this request is served; `peak`: the peak so far.
  void* take(size_t size, int64_t in_use_after, int64_t peak) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = by_size_.find(size); it != by_size_.end()) {
      void* block = it->second->block;
      kept_.erase(it->second);
      by_size_.erase(it);
      cached_ -= size;
      return block;
    }
    int64_t limit = std::max(peak, in_use_after);
    while (!kept_.empty() && in_use_after + static_cast<int64_t>(cached_) > limit) {
      const Kept& oldest = kept_.front();
      auto entry = by_size_.find(oldest.size);
      while (entry->second != kept_.begin()) ++entry;  // this very block's, among its size
      by_size_.erase(entry);
      std::free(oldest.block);
      cached_ -= oldest.size;
      kept_.pop_front();
    }
    return nullptr;
  }
  void keep(void* block, size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    kept_.push_back({size, block});
    by_size_.emplace(size, std::prev(kept_.end()));
    cached_ += size;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Kept& k : kept_) std::free(k.block);
    kept_.clear();
    by_size_.clear();
    cached_ = 0;
  }
  int64_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int64_t>(cached_);
  }

 private:
  struct Kept {
    size_t size;
    void* block;
  };
  std::mutex mutex_;
  std::list<Kept> kept_;                                      // the longest kept first
  std::multimap<size_t, std::list<Kept>::iterator> by_size_;  // block size -> its entry
  size_t cached_ = 0;
};

// Never destroyed: storage can be freed by other static destructors at exit.
BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache;
  return *cache;
}

// Where a buffer of nbytes starts: on a huge page from kHugeFrom on, else on 64 bytes.
size_t alignment(size_t nbytes) { return nbytes >= kHugeFrom ? kHugePage : kAlignment; }

// The block malloc is asked for: the size rounded to the alignment, plus room to align.
size_t block_size(size_t nbytes) {
  size_t align = alignment(nbytes);
  return (std::max<size_t>(nbytes, 1) + align - 1) / align * align + align;
}

}  // namespace

MemoryStats memory_stats() {
  return {g_current.load(), g_peak.load(), g_allocations.load(), block_cache().cached()};
}

void empty_cache() { block_cache().release(); }

void reset_peak_memory_stats() { g_peak.store(g_current.load()); }

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  static const bool tuned = (tune_malloc(), true);
  (void)tuned;
  check(nbytes <= kMaxAllocation, "storage: refusing to allocate ", nbytes, " bytes (limit ",
        kMaxAllocation, ")");
  size_t align = alignment(nbytes), size = block_size(nbytes);
  // NOTE: not aligned_alloc. glibc serves an aligned request from a larger chunk and frees the
  // slack on either side apart, so a freed buffer is too small for the next aligned request of
  // its own size, and the heap grows instead: a 2048 x 2048 matmul output came from fresh pages
  // (a page fault per 4 KiB) on every call. A plain malloc of the size plus the alignment, with
  // the aligned start kept inside it, is reused exactly.
  if (nbytes >= kCacheFrom)
    block_ =
        block_cache().take(size, g_current.load() + static_cast<int64_t>(nbytes), g_peak.load());
  bool fresh = block_ == nullptr;
  if (fresh) block_ = std::malloc(size);
  check(block_ != nullptr, "storage: out of memory allocating ", nbytes, " bytes");
  auto start = (reinterpret_cast<uintptr_t>(block_) + align - 1) / align * align;
  data_ = reinterpret_cast<void*>(start);
  if (align == kHugePage && fresh) ::madvise(data_, size - align, MADV_HUGEPAGE);  // a hint
  int64_t now = g_current.fetch_add(static_cast<int64_t>(nbytes)) + static_cast<int64_t>(nbytes);
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  raise_peak(now);
}

Storage::Storage(void* data, size_t nbytes, std::function<void(void*)> deleter)
    : data_(data), nbytes_(nbytes), deleter_(std::move(deleter)) {}

Storage::~Storage() {
  if (block_ == nullptr) {  // from_blob: the owner's memory
    if (deleter_) deleter_(data_);
    return;
  }
  if (nbytes_ >= kCacheFrom)
    block_cache().keep(block_, block_size(nbytes_));
  else
    std::free(block_);
  g_current.fetch_sub(static_cast<int64_t>(nbytes_));
}

}  // namespace ember

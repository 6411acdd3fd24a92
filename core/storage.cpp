// The tracking allocator behind Storage; see storage.h.
#include "storage.h"

#include <cstdlib>
#include <new>

#include "error.h"

namespace ember {
namespace {

constexpr size_t kAlignment = 64;
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

}  // namespace

MemoryStats memory_stats() { return {g_current.load(), g_peak.load(), g_allocations.load()}; }

void reset_peak_memory_stats() { g_peak.store(g_current.load()); }

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  check(nbytes <= kMaxAllocation, "storage: refusing to allocate ", nbytes, " bytes (limit ",
        kMaxAllocation, ")");
  size_t rounded = (std::max<size_t>(nbytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  data_ = std::aligned_alloc(kAlignment, rounded);
  check(data_ != nullptr, "storage: out of memory allocating ", nbytes, " bytes");
  int64_t now = g_current.fetch_add(static_cast<int64_t>(nbytes)) + static_cast<int64_t>(nbytes);
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  raise_peak(now);
}

Storage::~Storage() {
  std::free(data_);
  g_current.fetch_sub(static_cast<int64_t>(nbytes_));
}

}  // namespace ember

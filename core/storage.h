// Storage: one 64-byte aligned buffer shared by a tensor and all its views, allocated through the
// tracking allocator so that memory_stats() is exact. Also holds the version counter that
// autograd uses to detect in-place writes to tensors saved for backward.
// Read next: tensor.h.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace ember {

/// Bytes of tensor storage held now and at peak since the last reset, and the number of
/// allocations ever made. Exact and deterministic: storage is the only thing counted.
struct MemoryStats {
  int64_t current = 0;
  int64_t peak = 0;
  int64_t allocations = 0;
  int64_t cached = 0;  // bytes of freed buffers kept for reuse (not counted in current)
};

MemoryStats memory_stats();
/// Sets the peak to the bytes held now, so the next peak measures only what follows.
void reset_peak_memory_stats();
/// Returns the freed buffers kept for reuse to the system (torch.cuda.empty_cache's role).
/// Buffers of 1 MiB and more are kept when freed and handed to the next request of their size;
/// the bytes in use plus the bytes kept never exceed the peak in use (a request that matches
/// none first frees kept buffers, largest first, until it fits under the peak), so keeping them
/// never raises the memory a program reaches, only delays giving it back.
void empty_cache();

class Storage {
 public:
  /// Allocates `nbytes` (uninitialised), 64-byte aligned; throws ember::Error if it cannot.
  explicit Storage(size_t nbytes);
  /// Memory ember did not allocate (from_blob): not counted by memory_stats; `deleter`, if set,
  /// is called with `data` when the last tensor using it goes.
  Storage(void* data, size_t nbytes, std::function<void(void*)> deleter);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }

  /// Incremented by every in-place write; saved tensors compare it at backward time.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_ = nullptr;   // aligned, inside the block malloc returned
  void* block_ = nullptr;  // null for memory ember did not allocate
  size_t nbytes_ = 0;
  std::function<void(void*)> deleter_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace ember

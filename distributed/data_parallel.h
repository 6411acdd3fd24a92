// DistributedDataParallel: every rank holds a replica of the model and trains it on its own shard
// of each batch; gradients are averaged across ranks during backward, so every replica takes the
// same optimizer step. As PyTorch's DDP: rank 0's parameters and buffers are broadcast at the
// start; gradients travel in buckets (1 MiB by default where PyTorch's is 25 MiB: measured, README
// "Gradient buckets"), in reverse registration order (roughly the order backward produces them),
// each all-reduced without blocking as soon as all of its gradients are ready, so the transfer
// overlaps the rest of backward.
//   distributed::DistributedDataParallel ddp(model);
//   Tensor loss = F::cross_entropy(ddp(x), y);  loss.backward();  // grads averaged
//   { auto guard = ddp.no_sync(); ... backward ... }               // accumulate locally
// Read next: sync_batch_norm.h.
#pragma once

#include <chrono>
#include <memory>

#include "../nn/module.h"
#include "process_group.h"

namespace ember::distributed {

struct DistributedDataParallelOptions {
  double bucket_cap_mb = 1.0;  // a bucket closes once it holds this many MiB
  /// Copies rank 0's buffers (running statistics) to every rank before each training forward.
  bool broadcast_buffers = true;
  /// > 0: each bucket also costs the time a ring all-reduce over a link of this many Gbit/s
  /// would take (2(N-1)/N of its bytes), to show how much of a slow link backward hides.
  double simulated_link_gbps = 0;
};

/// Communication figures since construction (or reset_stats()).
struct CommunicationStats {
  int64_t steps = 0;             // synchronised backward passes
  int64_t bytes = 0;             // gradient bytes all-reduced (per rank, before the ring's factor)
  double exposed_seconds = 0;    // time backward's end waited for transfers it did not hide
  double simulated_seconds = 0;  // the simulated link's transfer time (simulated_link_gbps)
};

class DistributedDataParallel : public nn::Module {
 public:
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module,
                                   const DistributedDataParallelOptions& options = {});
  Tensor forward(const Tensor& x) override;

  /// While alive, backward accumulates gradients locally; the next synchronised backward
  /// averages the accumulated sums (gradient accumulation, as PyTorch's no_sync()).
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
  };
  NoSync no_sync() { return NoSync(*this); }

  CommunicationStats stats() const;
  void reset_stats();

  std::shared_ptr<nn::Module> module;
  struct State;  // buckets and their transfers, shared with the gradient hooks

 private:
  std::shared_ptr<State> state_;
  DistributedDataParallelOptions options_;
};

}  // namespace ember::distributed

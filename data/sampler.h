// Samplers: which dataset indices an epoch visits, in which order, as torch.utils.data's. The
// DataLoader shuffles by itself; a sampler replaces that order, e.g. to give each process of a
// data-parallel job its own shard (DistributedSampler). It knows nothing of MPI: the process's
// rank and the number of processes are plain numbers, as in PyTorch.
// Read next: dataset.h (DataLoaderConfig::sampler).
#pragma once

#include <cstdint>
#include <vector>

namespace ember::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  /// The indices epoch `epoch` visits, in order.
  virtual std::vector<int64_t> indices(int64_t epoch) const = 0;
};

struct DistributedSamplerOptions {
  int64_t num_replicas = 1, rank = 0;
  bool shuffle = true;
  uint64_t seed = 0;
  bool drop_last = false;  // drop the tail that does not divide evenly instead of padding
  bool pad = true;         // ember's addition: false gives unequal shards, each index once
};

/// Rank `rank`'s shard of every epoch, as torch.utils.data.DistributedSampler: the epoch's order
/// is torch.randperm(n) from a generator seeded with seed + epoch (or 0..n-1 without shuffle),
/// padded by repeating its start to a multiple of num_replicas (or cut, with drop_last), then
/// every num_replicas-th index from position rank. Shards are disjoint apart from the padding.
class DistributedSampler : public Sampler {
 public:
  DistributedSampler(int64_t dataset_size, const DistributedSamplerOptions& options);
  std::vector<int64_t> indices(int64_t epoch) const override;
  /// Indices per epoch on this rank.
  int64_t num_samples() const;

 private:
  int64_t size_;
  DistributedSamplerOptions options_;
};

}  // namespace ember::data

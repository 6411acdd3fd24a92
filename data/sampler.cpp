// DistributedSampler; see sampler.h.
#include "sampler.h"

#include "../autograd/ops.h"

namespace ember::data {

DistributedSampler::DistributedSampler(int64_t dataset_size,
                                       const DistributedSamplerOptions& options)
    : size_(dataset_size), options_(options) {
  if (options.num_replicas < 1 || options.rank < 0 || options.rank >= options.num_replicas)
    fail("DistributedSampler: rank ", options.rank, " is not in [0, ", options.num_replicas,
         ") replicas");
  if (dataset_size < 0) fail("DistributedSampler: dataset size ", dataset_size, " is negative");
}

int64_t DistributedSampler::num_samples() const {
  int64_t n = size_, r = options_.num_replicas;
  if (!options_.pad) return (n - options_.rank + r - 1) / r;
  if (options_.drop_last && n % r != 0) return (n - r + r - 1) / r;  // ceil((n - r) / r)
  return (n + r - 1) / r;
}

std::vector<int64_t> DistributedSampler::indices(int64_t epoch) const {
  std::vector<int64_t> order(size_);
  if (options_.shuffle) {
    Generator gen(options_.seed + static_cast<uint64_t>(epoch));
    Tensor perm = randperm(size_, &gen);
    order.assign(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + size_);
  } else {
    for (int64_t i = 0; i < size_; ++i) order[i] = i;
  }
  int64_t total = options_.pad ? num_samples() * options_.num_replicas : size_;
  if (total > size_ && size_ > 0)  // pad by repeating the order from its start
    for (int64_t i = size_; i < total; ++i) order.push_back(order[i % size_]);
  order.resize(total);
  std::vector<int64_t> shard;
  for (int64_t i = options_.rank; i < total; i += options_.num_replicas) shard.push_back(order[i]);
  return shard;
}

}  // namespace ember::data

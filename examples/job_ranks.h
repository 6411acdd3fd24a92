// The main job across processes (--distributed): started by `mpirun -np N`, one process per
// rank. Each rank trains its shard of every global batch through DistributedDataParallel, with
// SyncBatchNorm; rank 0 alone prints and writes files; per-epoch figures are summed over ranks.
// Without --distributed this is one rank of one, and MPI is never started.
#pragma once

#include <ember/data/sampler.h>
#include <ember/ember.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#ifdef EMBER_WITH_DISTRIBUTED
#include <ember/distributed/data_parallel.h>
#include <ember/distributed/sync_batch_norm.h>
#endif

namespace ember::examples {

class Ranks {
 public:
  /// `timeout_s`: how long a collective may wait for the other ranks (--collective-timeout).
  Ranks(bool distributed, double timeout_s) : distributed_(distributed) {
    if (!distributed) return;
#ifdef EMBER_WITH_DISTRIBUTED
    ember::distributed::init_process_group(std::chrono::duration<double>(timeout_s));
    rank_ = ember::distributed::get_rank();
    world_ = ember::distributed::get_world_size();
#else
    (void)timeout_s;
    ember::fail("--distributed: this build has no ember::distributed (configure with Open MPI)");
#endif
  }
  ~Ranks() {
#ifdef EMBER_WITH_DISTRIBUTED
    if (distributed_) ember::distributed::destroy_process_group();
#endif
  }
  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;

  int rank() const { return rank_; }
  int world() const { return world_; }
  bool lead() const { return rank_ == 0; }

  /// Sums each value over the ranks.
  void sum(std::vector<double>& values) const {
#ifdef EMBER_WITH_DISTRIBUTED
    if (!distributed_) return;
    ember::Tensor t = ember::from_vector(values, {static_cast<int64_t>(values.size())});
    ember::distributed::all_reduce(t);
    for (size_t i = 0; i < values.size(); ++i) values[i] = t.data_ptr<double>()[i];
#else
    (void)values;
#endif
  }

  /// Fails on every rank unless every rank has the same `facts` (name, value): ranks whose
  /// datasets differ in size would run different numbers of batches, and the one with more
  /// would wait forever for the others in its next collective.
  void agree(const std::vector<std::pair<std::string, int64_t>>& facts) const {
#ifdef EMBER_WITH_DISTRIBUTED
    if (!distributed_ || world_ == 1) return;
    std::vector<double> mine;
    for (const auto& fact : facts) mine.push_back(static_cast<double>(fact.second));
    std::vector<ember::Tensor> all = ember::distributed::all_gather(
        ember::from_vector(mine, {static_cast<int64_t>(mine.size())}));
    auto value = [&](int r, size_t i) { return all[r].data_ptr<double>()[i]; };
    bool same = true;
    for (int r = 1; r < world_; ++r)
      for (size_t i = 0; i < facts.size(); ++i) same = same && value(r, i) == value(0, i);
    if (same) return;
    std::ostringstream table;
    for (int r = 0; r < world_; ++r) {
      table << (r ? "; rank " : "rank ") << r << ":";
      for (size_t i = 0; i < facts.size(); ++i)
        table << " " << static_cast<int64_t>(value(r, i)) << " " << facts[i].first
              << (i + 1 < facts.size() ? "," : "");
    }
    ember::fail("--distributed: the ranks' data differ (", table.str(),
                "); every rank must read the same dataset");
#else
    (void)facts;
#endif
  }

  /// This rank's share of n samples: a shuffled, padded shard for training (as PyTorch's
  /// DistributedSampler), each index once for evaluation; null (the loader's own order) alone.
  std::shared_ptr<const ember::data::Sampler> shard(int64_t n, bool training, uint64_t seed) const {
    if (!distributed_) return nullptr;
    return std::make_shared<ember::data::DistributedSampler>(
        n, ember::data::DistributedSamplerOptions{.num_replicas = world_,
                                                  .rank = rank_,
                                                  .shuffle = training,
                                                  .seed = seed,
                                                  .pad = training});
  }

  /// The module to train with: the model itself, or (distributed) the model with SyncBatchNorm
  /// inside DistributedDataParallel. The model keeps its names, so checkpoints are the same.
  /// Gradients travel in buckets of `bucket_mb` MiB.
  std::shared_ptr<ember::nn::Module> for_training(std::shared_ptr<ember::nn::Module> model,
                                                  double simulated_link_gbps,
                                                  double bucket_mb) const {
#ifdef EMBER_WITH_DISTRIBUTED
    if (!distributed_) return model;
    ember::distributed::convert_sync_batchnorm(*model);
    ddp_ = std::make_shared<ember::distributed::DistributedDataParallel>(
        model, ember::distributed::DistributedDataParallelOptions{
                   .bucket_cap_mb = bucket_mb,
                   .broadcast_buffers = false,  // SyncBatchNorm keeps them equal on every rank
                   .simulated_link_gbps = simulated_link_gbps});
    return ddp_;
#else
    (void)simulated_link_gbps;
    (void)bucket_mb;
    return model;
#endif
  }

  /// "communication: ..." per step since the last call, or "" alone.
  std::string communication_report(int64_t steps) const {
#ifdef EMBER_WITH_DISTRIBUTED
    if (!ddp_ || steps == 0) return "";
    auto s = ddp_->stats();
    ddp_->reset_stats();
    char line[200];
    std::snprintf(line, sizeof line,
                  "communication per step: %.1f KiB all-reduced, %.2f ms not hidden by backward"
                  "%s",
                  s.bytes / 1024.0 / steps, 1e3 * s.exposed_seconds / steps,
                  s.simulated_seconds > 0 ? " (including the simulated link)" : "");
    return line;
#else
    (void)steps;
    return "";
#endif
  }

  /// Ends the job on every rank with `message` naming this rank (distributed), or prints it.
  int fail_job(const std::string& message) const {
#ifdef EMBER_WITH_DISTRIBUTED
    if (distributed_) ember::distributed::abort(message);
#endif
    std::fprintf(stderr, "error: %s\n", message.c_str());
    return 1;
  }

 private:
  bool distributed_;
  int rank_ = 0, world_ = 1;
#ifdef EMBER_WITH_DISTRIBUTED
  mutable std::shared_ptr<ember::distributed::DistributedDataParallel> ddp_;
#endif
};

}  // namespace ember::examples

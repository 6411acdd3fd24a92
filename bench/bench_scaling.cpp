// Data parallel beyond one machine, measured and modelled. Run it on 2 ranks of two hosts:
//   tools/two_hosts.sh build/bench/bench_scaling --model fashionnet   (or --model scenes)
// (or mpirun over real hosts). It measures, on these ranks:
//   1. compute: one training step (forward, loss, backward, Adam) of the model on one rank, at
//      every per-rank batch the global batch splits into (rank 0 alone, the others waiting);
//   2. the transport: all-reduce time against message size, 1 KiB to 16 MiB, fitted to the cost
//      of an all-reduce over N ranks (Rabenseifner's reduce-scatter + all-gather, as Open MPI's
//      for large messages; Thakur, Rabenseifner & Gropp 2005):
//          c(N, S) = 2 ceil(log2 N) alpha + 2 (N-1)/N S / beta     (2 ranks: 2 alpha + S / beta)
//      where alpha is one message's latency and beta the link's bandwidth;
//   3. the data-parallel step as the main job takes it (SyncBatchNorm, DistributedDataParallel),
//      at several gradient bucket sizes (--bucket-mb).
// Then the model of a step on N ranks,
//          T(N) = compute(B / N) + sum over buckets c(N, bucket) + sum over SyncBatchNorm c(N,
//          stats)
// (no overlap of transfers with backward assumed: an upper bound), its 2-rank prediction checked
// against measurement 3, and its predictions for 4 to 64 ranks on 10 and 100 Gbit/s networks
// (beta replaced by the link's rate, alpha as fitted): strong scaling (the global batch of the
// main job split further) and weak scaling (each rank keeps that batch).
#include <ember/distributed/data_parallel.h>
#include <ember/distributed/sync_batch_norm.h>
#include <ember/ember.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "../examples/fashion_net.h"
#include "../examples/scene_net.h"
#include "harness.h"

using namespace ember;
namespace dist = ember::distributed;

namespace {

// The main job's recipe for `model` at a batch of `batch` on one rank: inputs, targets, loss.
struct Workload {
  std::string model;
  int64_t global_batch;  // the main job's default batch
  std::shared_ptr<nn::Module> make() const {
    manual_seed(0);
    if (model == "scenes") return std::make_shared<examples::SceneNet>("efficient");
    return std::make_shared<examples::FashionNet>("efficient");
  }
  Tensor input(int64_t b) const {
    return model == "scenes" ? randn({b, 1, 64, 64}) : randn({b, 1, 28, 28});
  }
  Tensor target(int64_t b) const {
    return model == "scenes" ? randint(0, 3, {b, 64, 64}) : randint(0, 10, {b});
  }
};

// Training steps of `module` (a model, or one inside DDP) at a batch of `b`: forward, loss,
// backward, Adam.
struct Training {
  Training(const Workload& w, std::shared_ptr<nn::Module> m, int64_t b)
      : module(std::move(m)),
        adam(module->parameters(), {.lr = 1e-3}),
        x(w.input(b)),
        y(w.target(b)) {}
  void step() {
    adam.zero_grad();
    nn::functional::cross_entropy((*module)(x), y).backward();
    adam.step();
  }
  std::shared_ptr<nn::Module> module;
  optim::Adam adam;
  Tensor x, y;
};

// Median seconds of a step of each of `trainings`, taken in turn (as bench/harness.h does, so
// that all see the same load; the order rotates, as one step's traffic can slow the next) after two
// warm-up steps, the slowest rank's; every rank runs the same number of steps, as collectives
// require.
std::vector<double> step_seconds(std::vector<Training>& trainings, int steps) {
  for (int i = 0; i < 2; ++i)
    for (Training& t : trainings) t.step();
  std::vector<std::vector<double>> times(trainings.size());
  for (int i = 0; i < steps; ++i)  // each round starts with the next one: no fixed neighbours
    for (size_t j = 0; j < trainings.size(); ++j) {
      size_t k = (i + j) % trainings.size();
      times[k].push_back(bench::seconds_of([&] { trainings[k].step(); }));
    }
  std::vector<double> medians;
  for (const auto& t : times) medians.push_back(bench::median(t));
  if (dist::get_world_size() > 1) {
    Tensor worst = from_vector(medians, {static_cast<int64_t>(medians.size())});
    dist::all_reduce(worst, dist::ReduceOp::Max);
    for (size_t k = 0; k < medians.size(); ++k) medians[k] = worst.data_ptr<double>()[k];
  }
  return medians;
}

struct Link {
  double alpha_s, beta_bytes_per_s;
};

// One all-reduce of `bytes` over `n` ranks on `link` (the formula at the top).
double collective_seconds(int n, double bytes, Link link) {
  if (n <= 1) return 0;
  return 2 * std::ceil(std::log2(n)) * link.alpha_s +
         2.0 * (n - 1) / n * bytes / link.beta_bytes_per_s;
}

// The messages of one step: each gradient bucket once, and each SyncBatchNorm layer's statistics
// in forward (sum, sum of squares, count) and backward (two sums), float64.
std::vector<double> step_messages(const nn::Module& model, double bucket_mb) {
  std::vector<double> messages;
  double cap = bucket_mb * 1024 * 1024, bucket = 0;
  auto params = model.parameters();
  for (auto it = params.rbegin(); it != params.rend(); ++it) {  // as DDP fills its buckets
    if (bucket >= cap) {
      messages.push_back(bucket);
      bucket = 0;
    }
    bucket += static_cast<double>(it->numel()) * 4;
  }
  messages.push_back(bucket);
  for (const auto& [name, buffer] : model.named_buffers())
    if (name.size() > 12 && name.substr(name.size() - 12) == "running_mean") {
      double channels = static_cast<double>(buffer.numel());
      messages.push_back((2 * channels + 1) * 8);
      messages.push_back(2 * channels * 8);
    }
  return messages;
}

double sync_seconds(int n, const std::vector<double>& messages, Link link) {
  double s = 0;
  for (double m : messages) s += collective_seconds(n, m, link);
  return s;
}

// Median seconds of an all-reduce of `bytes` (float32) on every rank.
double all_reduce_seconds(int64_t bytes) {
  Tensor t = ones({bytes / 4});
  auto once = [&] { dist::all_reduce(t, dist::ReduceOp::Sum, /*check_shapes=*/false); };
  for (int i = 0; i < 3; ++i) once();
  int reps = static_cast<int>(std::clamp<int64_t>((int64_t{64} << 20) / bytes, 8, 200));
  std::vector<double> t_s;
  for (int i = 0; i < reps; ++i) {
    dist::barrier();
    t_s.push_back(bench::seconds_of(once));
  }
  Tensor median = tensor({bench::median(t_s)}, kFloat64);  // rank 0's is printed; take the max
  dist::all_reduce(median, dist::ReduceOp::Max);
  return median.item<double>();
}

}  // namespace

int main(int argc, char** argv) {
  Workload w{"fashionnet", 64};
  std::vector<double> buckets{0.01, 1, 25};  // about a parameter each, the default, PyTorch's
  int steps = 15;
  CLI::App app{"Data parallel across hosts: measured, modelled and predicted"};
  app.add_option("--model", w.model, "fashionnet (global batch 64) or scenes (32)")
      ->check(CLI::IsMember({"fashionnet", "scenes"}));
  app.add_option("--buckets", buckets, "gradient bucket sizes to measure, MiB")->delimiter(',');
  app.add_option("--steps", steps, "timed steps per measurement (median)");
  CLI11_PARSE(app, argc, argv);
  if (w.model == "scenes") w.global_batch = 32;
  dist::init_process_group();
  const int rank = dist::get_rank(), n = dist::get_world_size();
  if (n < 2 || w.global_batch % n != 0) {
    if (rank == 0)
      std::fprintf(stderr,
                   "bench_scaling: needs 2 or more ranks that split the global batch of %lld "
                   "(tools/two_hosts.sh starts 2), got %d\n",
                   (long long)w.global_batch, n);
    dist::destroy_process_group();
    return 2;
  }
  set_num_threads(1);
  auto say = [&](const char* format, auto... args) {
    if (rank == 0) std::printf(format, args...);
    std::fflush(stdout);
  };
  say("# %s, %d ranks x 1 thread; %s\n", w.model.c_str(), n, to_string(blas_info()).c_str());

  // 1. Compute per step at each per-rank batch (rank 0; the others wait).
  std::vector<std::pair<int64_t, double>> compute;  // (per-rank batch, seconds)
  if (rank == 0)
    for (int64_t b = w.global_batch; b >= 1; b /= 2) {
      Training alone(w, w.make(), b);  // timed here, not by step_seconds: no collective inside
      for (int i = 0; i < 2; ++i) alone.step();
      std::vector<double> t;
      for (int i = 0; i < steps; ++i) t.push_back(bench::seconds_of([&] { alone.step(); }));
      double s = bench::median(t);
      compute.emplace_back(b, s);
      say("compute_ms batch=%lld %.3f\n", (long long)b, 1e3 * s);
    }
  dist::barrier();
  // The same per-rank step on every rank at once, without communication: what sharing one
  // machine's cores, caches and memory costs (nothing on hosts of their own). The model's check
  // against the step measured here uses this figure; its predictions for real hosts the above.
  double compute_shared = 0;
  {
    std::vector<Training> each{Training(w, w.make(), w.global_batch / n)};
    compute_shared = step_seconds(each, steps)[0];
    say("compute_ms batch=%lld on every rank at once %.3f\n", (long long)(w.global_batch / n),
        1e3 * compute_shared);
  }

  // 2. The transport: all-reduce against size, and the fit t = a + S c, least squares in
  // relative error (weights 1/t^2), so that small messages' latency counts as much as large
  // messages' bandwidth.
  std::vector<double> sizes, times;
  for (int64_t bytes = 1024; bytes <= (int64_t{16} << 20); bytes *= 4) {
    sizes.push_back(static_cast<double>(bytes));
    times.push_back(all_reduce_seconds(bytes));
    say("allreduce_ms bytes=%lld %.4f  (%.2f Gbit/s of payload)\n", (long long)bytes,
        1e3 * times.back(), bytes * 8 / times.back() / 1e9);
  }
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    double weight = 1 / (times[i] * times[i]);
    sw += weight;
    sx += weight * sizes[i];
    sy += weight * times[i];
    sxx += weight * sizes[i] * sizes[i];
    sxy += weight * sizes[i] * times[i];
  }
  double c = (sw * sxy - sx * sy) / (sw * sxx - sx * sx), a = (sy - c * sx) / sw;
  Link fitted{a / (2 * std::ceil(std::log2(std::max(n, 2)))),
              2.0 * (std::max(n, 2) - 1) / std::max(n, 2) / c};
  say("fit: alpha %.1f us per message, beta %.2f Gbit/s\n", 1e6 * fitted.alpha_s,
      fitted.beta_bytes_per_s * 8 / 1e9);
  for (size_t i = 0; i < sizes.size(); ++i)
    say("  fit check bytes=%lld measured %.4f ms, fitted %.4f ms\n", (long long)sizes[i],
        1e3 * times[i], 1e3 * collective_seconds(std::max(n, 2), sizes[i], fitted));

  // 3. The data-parallel step at each bucket size, as the main job runs it.
  const int64_t per_rank = w.global_batch / n;
  std::vector<Training> ddps;
  std::vector<std::shared_ptr<dist::DistributedDataParallel>> wrappers;
  for (double mb : buckets) {
    auto model = w.make();
    dist::convert_sync_batchnorm(*model);
    wrappers.push_back(std::make_shared<dist::DistributedDataParallel>(
        model,
        dist::DistributedDataParallelOptions{.bucket_cap_mb = mb, .broadcast_buffers = false}));
    ddps.emplace_back(w, wrappers.back(), per_rank);
  }
  std::vector<double> measured = step_seconds(ddps, steps);
  for (size_t k = 0; k < buckets.size(); ++k) {
    auto stats = wrappers[k]->stats();
    say("ddp_step_ms bucket_mb=%g %.3f  (%zu messages; %.2f ms per step not hidden by backward)\n",
        buckets[k], 1e3 * measured[k], step_messages(*wrappers[k]->module, buckets[k]).size(),
        1e3 * stats.exposed_seconds / std::max<int64_t>(stats.steps, 1));
  }

  // 4. The model: checked against the measured step, then predicted for more ranks.
  if (rank == 0) {
    auto model = w.make();
    auto compute_at = [&](int64_t b) {
      for (auto [batch, s] : compute)
        if (batch == b) return s;
      return std::nan("");
    };
    for (size_t i = 0; i < buckets.size(); ++i) {
      double predicted =
          compute_shared + sync_seconds(n, step_messages(*model, buckets[i]), fitted);
      say("check bucket_mb=%g: predicted %.3f ms, measured %.3f ms (measured/predicted %.2f)\n",
          buckets[i], 1e3 * predicted, 1e3 * measured[i], measured[i] / predicted);
    }
    std::vector<double> messages = step_messages(*model, 1.0);
    say("\npredicted step on N ranks (1 thread each, bucket 1 MiB, alpha %.0f us as fitted):\n",
        1e6 * fitted.alpha_s);
    say("| ranks | link | strong: batch/rank | step ms | img/s | efficiency | weak: step ms | "
        "img/s "
        "| efficiency |\n|---|---|---|---|---|---|---|---|---|\n");
    const double one_rank = w.global_batch / compute_at(w.global_batch);
    for (double gbit : {10.0, 100.0})
      for (int ranks : {4, 8, 16, 32, 64}) {
        Link link{fitted.alpha_s, gbit * 1e9 / 8};
        double sync = sync_seconds(ranks, messages, link);
        int64_t b = w.global_batch / ranks;
        double weak = compute_at(w.global_batch) + sync;
        double weak_rate = ranks * w.global_batch / weak;
        if (b >= 1) {
          double strong = compute_at(b) + sync;
          double strong_rate = w.global_batch / strong;
          say("| %d | %g Gbit/s | %lld | %.2f | %.0f | %.2f | %.2f | %.0f | %.2f |\n", ranks, gbit,
              (long long)b, 1e3 * strong, strong_rate, strong_rate / (ranks * one_rank), 1e3 * weak,
              weak_rate, weak_rate / (ranks * one_rank));
        } else {
          say("| %d | %g Gbit/s | (batch %lld < %d ranks) | | | | %.2f | %.0f | %.2f |\n", ranks,
              gbit, (long long)w.global_batch, ranks, 1e3 * weak, weak_rate,
              weak_rate / (ranks * one_rank));
        }
      }
  }
  dist::destroy_process_group();
  return 0;
}

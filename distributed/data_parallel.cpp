// DistributedDataParallel; see data_parallel.h.
//
// How one backward goes: each parameter's post-accumulate hook copies its gradient into its
// bucket's flat buffer. A bucket whose gradients are all in is ready; ready buckets are launched
// (MPI_Iallreduce) strictly in bucket order, so every rank issues the same collectives in the
// same order. When the last parameter's gradient arrives, backward is done with everything else:
// wait for the transfers still in flight (the exposed communication), divide by the world size
// and copy each average back into its parameter's .grad().
#include "data_parallel.h"

#include <thread>

#include "../autograd/ops.h"

namespace ember::distributed {

namespace {
using Clock = std::chrono::steady_clock;
}

struct DistributedDataParallel::State {
  struct Bucket {
    std::vector<int64_t> params;  // indices into `params`
    std::vector<int64_t> offsets;
    Tensor buffer;  // flat, contiguous, the params' dtype
    int64_t ready = 0;
    Work work;
    Clock::time_point simulated_done;
  };
  std::vector<Tensor> params;
  std::vector<std::pair<int64_t, int64_t>> where;  // param -> (bucket, offset)
  std::vector<Bucket> buckets;
  std::vector<bool> arrived;
  int64_t arrived_count = 0, next_launch = 0;
  bool sync = true;
  double link_bytes_per_second = 0;
  Clock::time_point link_free;
  CommunicationStats stats;

  void on_gradient(int64_t i);
  void launch_ready_buckets();
  void finish();
};

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> m,
                                                 const DistributedDataParallelOptions& options)
    : Module("DistributedDataParallel"), module(std::move(m)), options_(options) {
  if (!module) fail("DistributedDataParallel: no module");
  if (!is_initialized())
    fail("DistributedDataParallel: call distributed::init_process_group() first");
  register_module("module", module);
  {
    NoGradGuard no_grad;  // every replica starts from rank 0's weights
    for (const Tensor& p : module->parameters()) broadcast(p, 0);
    for (const Tensor& b : module->buffers()) broadcast(b, 0);
  }
  state_ = std::make_shared<State>();
  State& s = *state_;
  for (const Tensor& p : module->parameters())
    if (p.requires_grad()) s.params.push_back(p);
  s.where.resize(s.params.size());
  s.arrived.assign(s.params.size(), false);
  // Buckets in reverse registration order, closed at the size cap or a change of dtype.
  auto cap = static_cast<int64_t>(options.bucket_cap_mb * 1024 * 1024);
  int64_t bytes = 0;
  for (auto i = static_cast<int64_t>(s.params.size()) - 1; i >= 0; --i) {
    const Tensor& p = s.params[i];
    bool new_bucket = s.buckets.empty() || bytes >= cap ||
                      s.params[s.buckets.back().params.front()].dtype() != p.dtype();
    if (new_bucket) {
      s.buckets.emplace_back();
      bytes = 0;
    }
    State::Bucket& b = s.buckets.back();
    int64_t offset = b.offsets.empty() ? 0 : b.offsets.back() + s.params[b.params.back()].numel();
    b.params.push_back(i);
    b.offsets.push_back(offset);
    s.where[i] = {static_cast<int64_t>(s.buckets.size()) - 1, offset};
    bytes += p.numel() * static_cast<int64_t>(element_size(p.dtype()));
  }
  for (State::Bucket& b : s.buckets) {
    const Tensor& last = s.params[b.params.back()];
    b.buffer = zeros({b.offsets.back() + last.numel()}, last.dtype());
  }
  if (options.simulated_link_gbps > 0)
    s.link_bytes_per_second = options.simulated_link_gbps * 1e9 / 8;
  std::weak_ptr<State> weak = state_;  // hooks must not keep the state (or the model) alive
  for (size_t i = 0; i < s.params.size(); ++i)
    s.params[i].register_post_accumulate_grad_hook([weak, i](const Tensor&) {
      if (auto state = weak.lock()) state->on_gradient(static_cast<int64_t>(i));
    });
}

Tensor DistributedDataParallel::forward(const Tensor& x) {
  State& s = *state_;
  if (s.arrived_count != 0) {
    int64_t missing = 0;
    for (size_t i = 0; i < s.params.size(); ++i) missing += !s.arrived[i];
    fail("DistributedDataParallel: ", missing, " of ", s.params.size(),
         " parameters got no gradient in the last backward on rank ", get_rank(),
         "; every parameter must take part in the loss");
  }
  if (options_.broadcast_buffers && is_training() && get_world_size() > 1) {
    NoGradGuard no_grad;
    for (const Tensor& b : module->buffers()) broadcast(b, 0, /*check_shapes=*/false);
  }
  return (*module)(x);
}

void DistributedDataParallel::State::on_gradient(int64_t i) {
  if (!sync) return;
  if (arrived[i])
    fail("DistributedDataParallel: parameter ", i, " received two gradients in one backward");
  arrived[i] = true;
  ++arrived_count;
  auto [b, offset] = where[i];
  Bucket& bucket = buckets[b];
  {
    NoGradGuard no_grad;
    const Tensor& p = params[i];
    narrow(bucket.buffer, 0, offset, p.numel()).copy_(reshape(p.grad(), {-1}));
  }
  if (++bucket.ready == static_cast<int64_t>(bucket.params.size())) launch_ready_buckets();
  for (int64_t k = 0; k < next_launch; ++k) buckets[k].work.test();  // let MPI progress
  if (arrived_count == static_cast<int64_t>(params.size())) finish();
}

void DistributedDataParallel::State::launch_ready_buckets() {
  while (next_launch < static_cast<int64_t>(buckets.size()) &&
         buckets[next_launch].ready == static_cast<int64_t>(buckets[next_launch].params.size())) {
    Bucket& b = buckets[next_launch++];
    b.work = Work(b.buffer);
    int64_t bytes = b.buffer.numel() * static_cast<int64_t>(element_size(b.buffer.dtype()));
    stats.bytes += bytes;
    if (link_bytes_per_second > 0) {  // a ring moves 2(N-1)/N of the bytes over each link
      int world = get_world_size();
      double seconds =
          2.0 * (world - 1) / world * static_cast<double>(bytes) / link_bytes_per_second;
      auto duration =
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
      link_free = std::max(link_free, Clock::now()) + duration;
      b.simulated_done = link_free;
      stats.simulated_seconds += seconds;
    }
  }
}

void DistributedDataParallel::State::finish() {
  auto start = Clock::now();
  double scale = 1.0 / get_world_size();
  NoGradGuard no_grad;
  for (Bucket& b : buckets) {
    b.work.wait();
    if (link_bytes_per_second > 0) std::this_thread::sleep_until(b.simulated_done);
    b.buffer.mul_(scale);  // the sums become averages, once per bucket
    for (size_t k = 0; k < b.params.size(); ++k) {
      const Tensor& p = params[b.params[k]];
      p.grad().copy_(reshape(narrow(b.buffer, 0, b.offsets[k], p.numel()), shape_of(p)));
    }
    b.ready = 0;
    b.work = Work();
  }
  stats.exposed_seconds += std::chrono::duration<double>(Clock::now() - start).count();
  ++stats.steps;
  std::fill(arrived.begin(), arrived.end(), false);
  arrived_count = 0;
  next_launch = 0;
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp) {
  ddp_.state_->sync = false;
}

DistributedDataParallel::NoSync::~NoSync() { ddp_.state_->sync = true; }

CommunicationStats DistributedDataParallel::stats() const { return state_->stats; }

void DistributedDataParallel::reset_stats() { state_->stats = {}; }

}  // namespace ember::distributed

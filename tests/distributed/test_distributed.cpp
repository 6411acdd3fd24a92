// ember::distributed under `mpirun -np 2` (tests/CMakeLists.txt): collectives against values each
// rank can compute alone, DistributedDataParallel's averaged gradients against every rank's own
// gradients gathered, no_sync accumulation, and SyncBatchNorm against one BatchNorm2d over the
// whole batch.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <ember/distributed/data_parallel.h>
#include <ember/distributed/sync_batch_norm.h>
#include <ember/ember.h>

#include <thread>

#include "../helpers.h"

using namespace ember;
namespace dist = ember::distributed;
using ember::testing::values;

namespace {

int rank() { return dist::get_rank(); }
int world() { return dist::get_world_size(); }

// The same small network on every rank, from rank-independent weights.
nn::Sequential small_net() {
  manual_seed(7);
  return nn::Sequential{
      nn::Conv2d({.in_channels = 2, .out_channels = 4, .kernel_size = 3, .padding = 1}),
      nn::BatchNorm2d(4), nn::ReLU(), nn::Flatten(), nn::Linear(4 * 5 * 5, 3)};
}

}  // namespace

TEST_CASE("collectives: all_reduce, broadcast, all_gather, barrier, and mismatches as errors") {
  REQUIRE(world() == 2);
  double r = rank();
  Tensor f = full({2, 3}, r + 1.0);
  dist::all_reduce(f);
  CHECK(values(f) == std::vector<double>(6, 3.0));
  Tensor d = full({4}, r * 2.0 + 1.0, kFloat64);
  dist::all_reduce(d, dist::ReduceOp::Average);
  CHECK(values(d) == std::vector<double>(4, 2.0));
  Tensor i = tensor({r, -r, 5}, kInt64);
  dist::all_reduce(i, dist::ReduceOp::Max);
  CHECK(values(i) == std::vector<double>{1, 0, 5});
  Tensor strided = transpose(full({3, 2}, r + 1.0), 0, 1);  // not contiguous
  dist::all_reduce(strided);
  CHECK(values(strided) == std::vector<double>(6, 3.0));
  Tensor b = full({3}, r + 10.0);
  dist::broadcast(b, 1);
  CHECK(values(b) == std::vector<double>(3, 11.0));
  auto gathered = dist::all_gather(tensor({r, r * 10}));
  REQUIRE(gathered.size() == 2);
  CHECK(values(gathered[1]) == std::vector<double>{1, 10});
  dist::barrier();
  // Different shapes on the two ranks: both ranks throw, naming both shapes; neither hangs.
  CHECK_THROWS_WITH_AS(dist::all_reduce(zeros({2 + rank()})),
                       doctest::Contains("rank 0: float32 [2], rank 1: float32 [3]"), Error);
  CHECK_THROWS_WITH_AS(dist::broadcast(zeros({1}), 5), doctest::Contains("root 5"), Error);
}

// A tensor of 2^31 elements or more goes in pieces of at most 2^30 (an MPI count is an int);
// with pieces of 7 elements the same code runs on small tensors, against values each rank knows.
TEST_CASE("collectives in pieces: every element reduced, broadcast and gathered once") {
  dist::detail::set_max_elements_per_call(7);
  double r = rank();
  Tensor sum = arange(0, 100, 1, kFloat64) + r;  // 100 = 14 pieces of 7 and one of 2
  dist::all_reduce(sum);
  CHECK_EQUAL_TENSOR(sum, arange(0, 100, 1, kFloat64) * 2.0 + 1.0);
  Tensor max = tensor({r, 1 - r, 2 * r, 3, 4, 5, 6, 7, r}, kInt64);  // 7 and 2
  dist::all_reduce(max, dist::ReduceOp::Max);
  CHECK(values(max) == std::vector<double>{1, 1, 2, 3, 4, 5, 6, 7, 1});
  Tensor from_one = full({15}, r + 1.0);
  from_one.data_ptr<float>()[14] = 100 + r;  // the last piece's only element
  dist::broadcast(from_one, 1);
  std::vector<double> expected(15, 2.0);
  expected[14] = 101;
  CHECK(values(from_one) == expected);
  Tensor mine = arange(0, 23, 1, kFloat32) + 100 * r;
  auto rows = dist::all_gather(mine);
  REQUIRE(rows.size() == 2);
  CHECK_EQUAL_TENSOR(rows[0], arange(0, 23, 1, kFloat32));
  CHECK_EQUAL_TENSOR(rows[1], arange(0, 23, 1, kFloat32) + 100.0);
  Tensor bucket = full({50}, r + 1.0);  // DistributedDataParallel's non-blocking all-reduce
  dist::Work work(bucket);
  work.wait();
  CHECK(values(bucket) == std::vector<double>(50, 3.0));
  dist::detail::set_max_elements_per_call(int64_t{1} << 30);
}

// Rank 1 comes to the barrier 1.5 s late; rank 0's timeout is 0.3 s. Rank 0 fails naming the
// collective and rank 1; rank 1's late barrier then completes the one rank 0 started, so the
// group is in step again for the tests after this one.
TEST_CASE("a collective past the timeout fails naming the ranks that did not arrive") {
  if (rank() == 0) {
    dist::set_timeout(std::chrono::milliseconds(300));
    CHECK_THROWS_WITH_AS(
        dist::barrier(),
        doctest::Contains("did not complete within the 0.3 s timeout on rank 0: rank 1 did not "
                          "arrive; the process group cannot go on"),
        Error);
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    dist::barrier();
  }
  dist::set_timeout(dist::kDefaultTimeout);
  CHECK(dist::get_timeout() == dist::kDefaultTimeout);
  dist::barrier();  // in step: both ranks reach this one
  CHECK_THROWS_WITH_AS(dist::set_timeout(std::chrono::seconds(0)),
                       doctest::Contains("expected a positive number of seconds, got 0"), Error);
}

TEST_CASE("DistributedDataParallel averages gradients across ranks, bucket by bucket") {
  for (double cap : {1.0, 1e-4}) {  // one bucket, then one per parameter or so
    CAPTURE(cap);
    auto net = small_net();
    if (rank() == 1) {  // rank 1 starts elsewhere: the broadcast must replace its weights
      NoGradGuard no_grad;
      for (Tensor& p : net->parameters()) p.fill_(0.5);
    }
    dist::DistributedDataParallel ddp(net, {.bucket_cap_mb = cap});
    manual_seed(100 + rank());  // each rank its own batch
    Tensor x = randn({3, 2, 5, 5}), y = randint(0, 3, {3});
    // Each rank's own gradients, without communication, then everybody's.
    {
      auto no_sync = ddp.no_sync();
      nn::functional::cross_entropy(ddp(x), y).backward();
    }
    std::vector<Tensor> expected;
    for (const Tensor& p : net->parameters()) {
      auto all = dist::all_gather(p.grad());
      expected.push_back((all[0] + all[1]) * 0.5);
    }
    net->zero_grad();
    nn::functional::cross_entropy(ddp(x), y).backward();
    auto params = net->parameters();
    for (size_t k = 0; k < params.size(); ++k) {
      CAPTURE(k);
      CHECK_CLOSE(params[k].grad(), expected[k], 1e-6);
    }
    // Weights equal on both ranks, and no_sync accumulation: two local backwards, then a
    // synchronised one, averages the sums.
    auto w = dist::all_gather(params[0]);
    CHECK(values(w[0]) == values(w[1]));
    net->zero_grad();
    {
      auto no_sync = ddp.no_sync();
      nn::functional::cross_entropy(ddp(x), y).backward();
    }
    nn::functional::cross_entropy(ddp(x), y).backward();
    CHECK_CLOSE(params[0].grad(), expected[0] * 2.0, 1e-6);
    CHECK(ddp.stats().steps == 2);
    CHECK(ddp.stats().bytes > 0);
  }
}

TEST_CASE("DistributedDataParallel: a parameter without a gradient is an error at the next step") {
  auto net = small_net();
  dist::DistributedDataParallel ddp(net);
  Tensor x = randn({2, 2, 5, 5});
  sum(ddp(x)).backward();
  // Backward through the convolution only: the linear layer's parameters get no gradient.
  sum((*(*net)[0])(x)).backward();
  CHECK_THROWS_WITH_AS(ddp(x), doctest::Contains("got no gradient in the last backward"), Error);
}

TEST_CASE("SyncBatchNorm on 2 ranks equals BatchNorm2d over both ranks' samples") {
  manual_seed(3);
  Tensor whole = randn({4, 3, 2, 2}, kFloat64) * 2.0 + 1.0;  // the same on both ranks
  Tensor gout = randn({4, 3, 2, 2}, kFloat64);
  nn::BatchNorm2d reference({.num_features = 3, .momentum = 0.3});
  reference->to(kFloat64);
  {
    NoGradGuard no_grad;
    reference->weight.copy_(tensor({0.5, -1.0, 2.0}, kFloat64));
  }
  Tensor x_all = whole.detach().requires_grad_();
  Tensor y_all = reference(x_all);
  (y_all * gout).sum().backward();

  // Each rank holds half the batch; the loss is each rank's part of sum(y * gout).
  dist::SyncBatchNorm sync(reference->options);
  sync.to(kFloat64);
  {
    NoGradGuard no_grad;
    sync.weight.copy_(tensor({0.5, -1.0, 2.0}, kFloat64));
  }
  Tensor x = narrow(whole, 0, 2 * rank(), 2).detach().requires_grad_();
  Tensor y = sync(x);
  (y * narrow(gout, 0, 2 * rank(), 2)).sum().backward();
  CHECK_CLOSE(y, narrow(y_all, 0, 2 * rank(), 2), 1e-12);
  CHECK_CLOSE(x.grad(), narrow(x_all.grad(), 0, 2 * rank(), 2), 1e-12);
  CHECK_CLOSE(sync.running_mean, reference->running_mean, 1e-12);
  CHECK_CLOSE(sync.running_var, reference->running_var, 1e-12);
  // The weight gradient: each rank's part, summed over ranks, is the whole batch's.
  Tensor dw = sync.weight.grad().clone();
  dist::all_reduce(dw);
  CHECK_CLOSE(dw, reference->weight.grad(), 1e-12);

  // convert_sync_batchnorm: the same tensors, now synchronised.
  auto net = small_net();
  Tensor bn_weight = net->parameters()[2];
  dist::convert_sync_batchnorm(*net);
  auto converted = std::dynamic_pointer_cast<dist::SyncBatchNorm>((*net)[1]);
  REQUIRE(converted);
  CHECK(converted->weight.is_same(bn_weight));
  CHECK(net->state_dict().count("1.running_mean") == 1);
}

// gradcheck across ranks: both ranks hold the same x and perturb the same element at the same
// time, so the global statistics are those of x alone and the numerical derivative is the local
// function's; the analytical one goes through both all-reduces (a dropped one halves a sum).
TEST_CASE("sync_batch_norm passes gradcheck in float64 with its all-reduces") {
  manual_seed(9);  // the same numbers on both ranks
  Tensor x = randn({3, 2, 2, 2}, kFloat64).requires_grad_();
  Tensor w = randn({2}, kFloat64).requires_grad_(), b = randn({2}, kFloat64).requires_grad_();
  auto result = autograd::gradcheck(
      [](const std::vector<Tensor>& in) {
        return dist::sync_batch_norm(in[0], {}, {}, in[1], in[2]) * 2.0;
      },
      {x, w, b});
  CHECK_MESSAGE(result.passed, result.message);
}

int main(int argc, char** argv) {
  dist::init_process_group();
  doctest::Context context(argc, argv);
  int failed = context.run();
  // Any rank's failure fails the job on every rank.
  Tensor status = tensor({double(failed != 0)}, kInt64);
  dist::all_reduce(status, dist::ReduceOp::Max);
  dist::destroy_process_group();
  return status.item<int64_t>() != 0 ? 1 : 0;
}

// ember::distributed: training on several processes (and machines) over MPI, as
// torch.distributed with its MPI backend. One process per rank, started by `mpirun -np N`;
// every rank runs the same program on its own shard of the data, and collectives keep the ranks'
// tensors in step. This file: the process group (MPI's world communicator) and the collectives
// on tensors. Read next: data_parallel.h (DistributedDataParallel), sync_batch_norm.h.
#pragma once

#include <mpi.h>

#include <chrono>
#include <string>
#include <vector>

#include "../core/tensor.h"

namespace ember::distributed {

enum class ReduceOp { Sum, Average, Max, Min };

/// How long a collective may wait for the other ranks: 30 minutes, as torch.distributed's.
inline constexpr std::chrono::seconds kDefaultTimeout{1800};

/// Starts MPI once per process (later calls only set the timeout). Errors in collectives then
/// come back as ember::Error instead of ending the process. A collective that has not completed
/// after `timeout` (a rank stalled, or ranks in different collectives) throws an ember::Error
/// naming it and the ranks that did not arrive; the group cannot be used after that: end the job
/// with abort().
void init_process_group(std::chrono::duration<double> timeout = kDefaultTimeout);
void set_timeout(std::chrono::duration<double> timeout);
std::chrono::duration<double> get_timeout();
bool is_initialized();
/// Ends MPI; call once at the end of main on every rank.
void destroy_process_group();
int get_rank();
int get_world_size();
/// The rank among the processes on this machine (Open MPI's OMPI_COMM_WORLD_LOCAL_RANK).
int get_local_rank();

/// Combines `t` across ranks, in place: every rank ends with the same result. Tensors of 2^31
/// elements or more (MPI counts are ints) go in pieces. Shapes and dtypes
/// must agree on all ranks; a mismatch is an ember::Error on every rank naming both (one small
/// extra collective; ember's own layers, whose tensors agree by construction, pass
/// check_shapes = false).
void all_reduce(const Tensor& t, ReduceOp op = ReduceOp::Sum, bool check_shapes = true);
/// Copies rank `root`'s `t` into every rank's `t`.
void broadcast(const Tensor& t, int root = 0, bool check_shapes = true);
/// Every rank's `t`, in rank order.
std::vector<Tensor> all_gather(const Tensor& t);
void barrier();
/// Ends the whole job: prints "rank R: message" and calls MPI_Abort, which stops every rank
/// (none is left waiting in a collective).
[[noreturn]] void abort(const std::string& message, int exit_code = 1);

/// An all-reduce in flight over a contiguous buffer (MPI_Iallreduce), summing in place.
class Work {
 public:
  Work() = default;
  explicit Work(const Tensor& buffer);
  /// Lets MPI progress the transfer; true once it has completed.
  bool test();
  /// Blocks until the transfer has completed, or throws after the group's timeout.
  void wait();
  const Tensor& buffer() const { return buffer_; }

 private:
  Tensor buffer_;
  uint64_t sequence_ = 0;              // the collective's number, for a timeout's message
  std::vector<MPI_Request> requests_;  // one per piece
};

namespace detail {
/// The most elements one MPI call carries (default 2^30); tests set it small to exercise the
/// pieces a tensor of 2^31 elements is sent in.
void set_max_elements_per_call(int64_t n);
}  // namespace detail

}  // namespace ember::distributed

// ember::distributed: training on several processes (and machines) over MPI, as
// torch.distributed with its MPI backend. One process per rank, started by `mpirun -np N`;
// every rank runs the same program on its own shard of the data, and collectives keep the ranks'
// tensors in step. This file: the process group (MPI's world communicator) and the collectives
// on tensors. Read next: data_parallel.h (DistributedDataParallel), sync_batch_norm.h.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "../core/tensor.h"

namespace ember::distributed {

enum class ReduceOp { Sum, Average, Max, Min };

/// Starts MPI once per process (later calls do nothing). Errors in collectives then come back
/// as ember::Error instead of ending the process.
void init_process_group();
bool is_initialized();
/// Ends MPI; call once at the end of main on every rank.
void destroy_process_group();
int get_rank();
int get_world_size();
/// The rank among the processes on this machine (Open MPI's OMPI_COMM_WORLD_LOCAL_RANK).
int get_local_rank();

/// Combines `t` across ranks, in place: every rank ends with the same result. Shapes and dtypes
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
  /// Blocks until the transfer has completed.
  void wait();
  const Tensor& buffer() const { return buffer_; }

 private:
  Tensor buffer_;
  MPI_Request request_ = MPI_REQUEST_NULL;
};

}  // namespace ember::distributed

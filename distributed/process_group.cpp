// The process group and collectives over MPI; see process_group.h.
#include "process_group.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "../autograd/ops.h"

namespace ember::distributed {
namespace {

// Turns an MPI return code into an ember::Error naming the call.
void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail("distributed: ", what, " failed on rank ", get_rank(), ": ", std::string(text, length));
}

void require_initialized(const char* op) {
  if (!is_initialized())
    fail("distributed::", op, ": the process group is not initialised (call ",
         "distributed::init_process_group() first, and start the program with mpirun)");
}

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case kFloat32:
      return MPI_FLOAT;
    case kFloat64:
      return MPI_DOUBLE;
    case kInt64:
      return MPI_INT64_T;
  }
  fail("distributed: unsupported dtype ", dtype);
}

// Every rank's (dtype, rank of the shape, sizes...) side by side: the tensors of one collective
// must agree, and each rank sees the same table, so all of them fail together, none hangs.
void check_same_tensor(const Tensor& t, const char* op) {
  constexpr int kFields = 10;  // dtype, dim, up to 8 sizes (further dims folded into the last)
  std::vector<int64_t> mine(kFields, -1);
  mine[0] = static_cast<int64_t>(t.dtype());
  mine[1] = t.dim();
  for (int64_t d = 0; d < t.dim(); ++d) {
    int64_t slot = std::min<int64_t>(d, kFields - 3) + 2;
    mine[slot] = d <= kFields - 3 ? t.size(d) : mine[slot] * t.size(d);
  }
  int world = get_world_size();
  std::vector<int64_t> all(static_cast<size_t>(kFields) * world);
  check_mpi(MPI_Allgather(mine.data(), kFields, MPI_INT64_T, all.data(), kFields, MPI_INT64_T,
                          MPI_COMM_WORLD),
            op);
  for (int r = 1; r < world; ++r) {
    if (std::equal(all.begin(), all.begin() + kFields, all.begin() + r * kFields)) continue;
    std::ostringstream shapes;
    for (int q = 0; q < world; ++q) {
      const int64_t* row = all.data() + q * kFields;
      shapes << (q ? ", " : "") << "rank " << q << ": " << static_cast<DType>(row[0]) << " [";
      for (int64_t d = 0; d < std::min<int64_t>(row[1], kFields - 2); ++d)
        shapes << (d ? ", " : "") << row[d + 2];
      shapes << "]";
    }
    fail("distributed::", op, ": the ranks' tensors differ (", shapes.str(), ")");
  }
}

// The collective runs on a contiguous tensor: `t` itself when it is one, else a copy whose
// result is copied back.
template <typename Fn>
void on_contiguous(const Tensor& t, Fn&& fn) {
  Tensor dense = t.contiguous();
  fn(dense);
  if (!dense.is_same(t)) t.copy_(dense);
}

}  // namespace

void init_process_group() {
  if (is_initialized()) return;
  int provided = 0;
  // Collectives are called by the thread that runs backward, one at a time.
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
    fail("distributed::init_process_group: MPI_Init_thread failed");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

bool is_initialized() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

void destroy_process_group() {
  if (is_initialized()) MPI_Finalize();
}

int get_rank() {
  if (!is_initialized()) return 0;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int get_world_size() {
  if (!is_initialized()) return 1;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

int get_local_rank() {
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  return local ? std::atoi(local) : 0;
}

void all_reduce(const Tensor& t, ReduceOp op, bool check_shapes) {
  require_initialized("all_reduce");
  if (check_shapes) check_same_tensor(t, "all_reduce");
  MPI_Op mpi_op = op == ReduceOp::Max ? MPI_MAX : op == ReduceOp::Min ? MPI_MIN : MPI_SUM;
  if (op == ReduceOp::Average && !t.is_floating_point())
    fail("distributed::all_reduce: Average needs a floating-point tensor, got ", t.dtype());
  on_contiguous(t, [&](const Tensor& dense) {
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, dense.raw_data(), static_cast<int>(dense.numel()),
                            mpi_type(dense.dtype()), mpi_op, MPI_COMM_WORLD),
              "all_reduce");
    if (op == ReduceOp::Average) {
      NoGradGuard no_grad;
      dense.copy_(dense / static_cast<double>(get_world_size()));
    }
  });
}

void broadcast(const Tensor& t, int root, bool check_shapes) {
  require_initialized("broadcast");
  if (root < 0 || root >= get_world_size())
    fail("distributed::broadcast: root ", root, " is not a rank of ", get_world_size());
  if (check_shapes) check_same_tensor(t, "broadcast");
  on_contiguous(t, [&](const Tensor& dense) {
    check_mpi(MPI_Bcast(dense.raw_data(), static_cast<int>(dense.numel()), mpi_type(dense.dtype()),
                        root, MPI_COMM_WORLD),
              "broadcast");
  });
}

std::vector<Tensor> all_gather(const Tensor& t) {
  require_initialized("all_gather");
  check_same_tensor(t, "all_gather");
  int world = get_world_size();
  Tensor dense = t.contiguous();
  Shape stacked = shape_of(t);
  stacked.insert(stacked.begin(), world);
  Tensor out = empty(stacked, t.dtype());
  check_mpi(MPI_Allgather(dense.raw_data(), static_cast<int>(dense.numel()),
                          mpi_type(dense.dtype()), out.raw_data(), static_cast<int>(dense.numel()),
                          mpi_type(dense.dtype()), MPI_COMM_WORLD),
            "all_gather");
  std::vector<Tensor> parts;
  for (int r = 0; r < world; ++r) parts.push_back(select(out, 0, r));
  return parts;
}

void barrier() {
  require_initialized("barrier");
  check_mpi(MPI_Barrier(MPI_COMM_WORLD), "barrier");
}

void abort(const std::string& message, int exit_code) {
  std::fprintf(stderr, "error: rank %d of %d: %s\n", get_rank(), get_world_size(), message.c_str());
  std::fflush(stderr);
  if (is_initialized()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

Work::Work(const Tensor& buffer) : buffer_(buffer) {
  check(buffer.is_contiguous(), "distributed::Work: the buffer must be contiguous");
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buffer.raw_data(), static_cast<int>(buffer.numel()),
                           mpi_type(buffer.dtype()), MPI_SUM, MPI_COMM_WORLD, &request_),
            "all_reduce (non-blocking)");
}

bool Work::test() {
  if (request_ == MPI_REQUEST_NULL) return true;
  int done = 0;
  check_mpi(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), "all_reduce (test)");
  return done != 0;
}

void Work::wait() {
  if (request_ != MPI_REQUEST_NULL)
    check_mpi(MPI_Wait(&request_, MPI_STATUS_IGNORE), "all_reduce (wait)");
}

}  // namespace ember::distributed

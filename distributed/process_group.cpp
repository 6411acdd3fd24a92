// The process group and collectives over MPI; see process_group.h.
#include "process_group.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <sstream>
#include <thread>

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
    case kInt32:
      return MPI_INT32_T;
    case kUInt8:
      return MPI_UINT8_T;
    case kBool:
      return MPI_C_BOOL;
  }
  fail("distributed: unsupported dtype ", dtype);
}

// ---- the group's state: the timeout, the collectives' sequence numbers, and the notices
// NOTE: a collective that never completes cannot say who is missing, since MPI does not tell.
// So a rank that has waited `patience` in collective k sends every other rank a notice "I am
// in k" on a communicator of its own; when the timeout comes, the notices that arrived tell
// which ranks reached k. Nothing is sent while collectives complete quickly.
struct Group {
  std::chrono::duration<double> timeout = kDefaultTimeout;
  uint64_t sequence = 0;  // collectives started by this rank, the same count on every rank
  MPI_Comm notices = MPI_COMM_NULL;
  std::vector<uint64_t> last_notice;  // per rank: the latest collective it said it waits in
  std::deque<std::pair<uint64_t, MPI_Request>> sends;  // notices in flight, with their buffers
  int64_t max_elements = int64_t{1} << 30;             // per MPI call: its counts are ints
};

Group& group() {
  static Group g;
  return g;
}

constexpr int kNoticeTag = 1;

// Takes in every notice that has arrived, and forgets the sends that have completed.
void read_notices() {
  Group& g = group();
  for (;;) {
    int arrived = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kNoticeTag, g.notices, &arrived, &status);
    if (!arrived) break;
    uint64_t seq = 0;
    MPI_Recv(&seq, 1, MPI_UINT64_T, status.MPI_SOURCE, kNoticeTag, g.notices, MPI_STATUS_IGNORE);
    uint64_t& last = g.last_notice[status.MPI_SOURCE];
    last = std::max(last, seq);
  }
  while (!g.sends.empty()) {
    int done = 0;
    MPI_Test(&g.sends.front().second, &done, MPI_STATUS_IGNORE);
    if (!done) break;
    g.sends.pop_front();
  }
}

void send_notices(uint64_t seq) {
  Group& g = group();
  for (int r = 0; r < get_world_size(); ++r) {
    if (r == get_rank()) continue;
    auto& [value, request] = g.sends.emplace_back(seq, MPI_REQUEST_NULL);
    MPI_Isend(&value, 1, MPI_UINT64_T, r, kNoticeTag, g.notices, &request);
  }
}

[[noreturn]] void fail_timeout(const char* op, uint64_t seq) {
  Group& g = group();
  read_notices();
  std::ostringstream missing;
  int count = 0;
  for (int r = 0; r < get_world_size(); ++r) {
    if (r == get_rank() || g.last_notice[r] >= seq) continue;
    missing << (count++ ? ", " : "") << r;
    if (g.last_notice[r] > 0)
      missing << " (last seen waiting in collective " << g.last_notice[r] << ")";
  }
  std::string who = count == 0
                        ? "every rank reached it (are they in different collectives?)"
                        : (count == 1 ? "rank " : "ranks ") + missing.str() + " did not arrive";
  fail("distributed::", op, ": collective ", seq, " did not complete within the ",
       g.timeout.count(), " s timeout on rank ", get_rank(), ": ", who,
       "; the process group cannot go on");
}

// Completes the requests of collective `seq` (its pieces), or fails after the timeout.
void complete(std::vector<MPI_Request>& requests, const char* op, uint64_t seq) {
  using Clock = std::chrono::steady_clock;
  Group& g = group();
  const auto start = Clock::now();
  const auto patience =
      std::min<std::chrono::duration<double>>(std::chrono::seconds(1), g.timeout / 4);
  bool noticed = false;
  for (int64_t polls = 0;; ++polls) {
    int done = 0;
    check_mpi(
        MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE),
        op);
    if (done) return;
    auto waited = Clock::now() - start;
    if (!noticed && waited > patience) {
      send_notices(seq);
      noticed = true;
    }
    if (noticed) read_notices();
    if (waited > g.timeout) fail_timeout(op, seq);
    // Spin first (a collective usually completes in microseconds), then yield the core.
    if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// The element ranges one collective is sent in: at most max_elements each.
std::vector<std::pair<int64_t, int>> pieces(int64_t n) {
  std::vector<std::pair<int64_t, int>> out;
  int64_t most = group().max_elements;
  for (int64_t at = 0; at < n || (n == 0 && out.empty()); at += most)
    out.emplace_back(at, static_cast<int>(std::min(most, n - at)));
  return out;
}

// Collective `op` over `n` elements of `type`: `post(offset, count, request)` starts one piece;
// all are posted, then completed under the timeout.
template <typename Post>
void run_pieces(const char* op, int64_t n, Post&& post) {
  uint64_t seq = ++group().sequence;
  std::vector<MPI_Request> requests;
  for (auto [at, count] : pieces(n)) post(at, count, &requests.emplace_back(MPI_REQUEST_NULL));
  complete(requests, op, seq);
}

// Every rank's n elements of `type` at `send`, into `receive` in rank order (world x n), piece
// by piece: each rank's piece lands at its own row's offset, through a receive type whose
// extent is one row (so rank r's piece starts r rows in).
void gather(const void* send, int64_t n, MPI_Datatype type, void* receive, const char* op) {
  int bytes = 0;
  MPI_Type_size(type, &bytes);
  for (auto [at, count] : pieces(n)) {
    MPI_Datatype piece, row;
    MPI_Type_contiguous(count, type, &piece);
    MPI_Type_create_resized(piece, 0, static_cast<MPI_Aint>(n * bytes), &row);
    MPI_Type_commit(&row);
    uint64_t seq = ++group().sequence;
    std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
    check_mpi(MPI_Iallgather(static_cast<const char*>(send) + at * bytes, count, type,
                             static_cast<char*>(receive) + at * bytes, 1, row, MPI_COMM_WORLD,
                             request.data()),
              op);
    complete(request, op, seq);
    MPI_Type_free(&row);
    MPI_Type_free(&piece);
  }
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
  gather(mine.data(), kFields, MPI_INT64_T, all.data(), op);
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

void init_process_group(std::chrono::duration<double> timeout) {
  set_timeout(timeout);
  if (is_initialized()) return;
  int provided = 0;
  // Collectives are called by the thread that runs backward, one at a time.
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
    fail("distributed::init_process_group: MPI_Init_thread failed");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  Group& g = group();
  MPI_Comm_dup(MPI_COMM_WORLD, &g.notices);
  g.last_notice.assign(get_world_size(), 0);
}

void set_timeout(std::chrono::duration<double> timeout) {
  if (!(timeout.count() > 0))
    fail("distributed::set_timeout: expected a positive number of seconds, got ", timeout.count());
  group().timeout = timeout;
}

std::chrono::duration<double> get_timeout() { return group().timeout; }

bool is_initialized() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

void destroy_process_group() {
  if (!is_initialized()) return;
  Group& g = group();
  for (auto& [value, request] : g.sends) MPI_Wait(&request, MPI_STATUS_IGNORE);
  g.sends.clear();
  MPI_Comm_free(&g.notices);
  MPI_Finalize();
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
  if (t.dtype() == kBool)  // MPI reduces no logical type with SUM, MAX or MIN
    fail(
        "distributed::all_reduce: a bool tensor cannot be reduced; convert it to an integer "
        "dtype first");
  on_contiguous(t, [&](const Tensor& dense) {
    auto* base = static_cast<char*>(dense.raw_data());
    size_t bytes = element_size(dense.dtype());
    run_pieces("all_reduce", dense.numel(), [&](int64_t at, int count, MPI_Request* request) {
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, base + at * bytes, count, mpi_type(dense.dtype()),
                               mpi_op, MPI_COMM_WORLD, request),
                "all_reduce");
    });
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
    auto* base = static_cast<char*>(dense.raw_data());
    size_t bytes = element_size(dense.dtype());
    run_pieces("broadcast", dense.numel(), [&](int64_t at, int count, MPI_Request* request) {
      check_mpi(MPI_Ibcast(base + at * bytes, count, mpi_type(dense.dtype()), root, MPI_COMM_WORLD,
                           request),
                "broadcast");
    });
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
  gather(dense.raw_data(), dense.numel(), mpi_type(dense.dtype()), out.raw_data(), "all_gather");
  std::vector<Tensor> parts;
  for (int r = 0; r < world; ++r) parts.push_back(select(out, 0, r));
  return parts;
}

void barrier() {
  require_initialized("barrier");
  run_pieces("barrier", 1, [&](int64_t, int, MPI_Request* request) {
    check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, request), "barrier");
  });
}

void abort(const std::string& message, int exit_code) {
  std::fprintf(stderr, "error: rank %d of %d: %s\n", get_rank(), get_world_size(), message.c_str());
  std::fflush(stderr);
  if (is_initialized()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

Work::Work(const Tensor& buffer) : buffer_(buffer), sequence_(++group().sequence) {
  check(buffer.is_contiguous(), "distributed::Work: the buffer must be contiguous");
  auto* base = static_cast<char*>(buffer.raw_data());
  size_t bytes = element_size(buffer.dtype());
  for (auto [at, count] : pieces(buffer.numel()))
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, base + at * bytes, count, mpi_type(buffer.dtype()),
                             MPI_SUM, MPI_COMM_WORLD, &requests_.emplace_back(MPI_REQUEST_NULL)),
              "all_reduce (non-blocking)");
}

bool Work::test() {
  if (requests_.empty()) return true;
  int done = 0;
  check_mpi(
      MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE),
      "all_reduce (test)");
  return done != 0;
}

void Work::wait() {
  if (!requests_.empty()) complete(requests_, "all_reduce (non-blocking)", sequence_);
}

namespace detail {
void set_max_elements_per_call(int64_t n) {
  check(n >= 1 && n <= INT32_MAX, "distributed::detail::set_max_elements_per_call: expected 1 to ",
        INT32_MAX, ", got ", n);
  group().max_elements = n;
}
}  // namespace detail

}  // namespace ember::distributed

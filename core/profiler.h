// The profiler: which ops, which kernels and which backward formulas a piece of code spent its
// time in, as PyTorch's torch.profiler reports it.
//   ember::profiler::Profile profile;            // records from here...
//   loss = model(x); loss.backward();
//   profile.stop();                               // ...to here
//   std::cout << profile.table();                 // one row per name, by self time
// Code marks what it wants to appear with a Scope, as PyTorch's RecordFunction:
//   Tensor conv2d(...) { profiler::Scope scope("conv2d"); ... }
// ember marks its ops, its kernels (named "kernels::..."), each backward formula the engine runs
// (named "<op> backward"), each Module call (by the module's name) and each optimizer step.
// A scope may count the work it does (Work: FLOPs and bytes, as torch.profiler's with_flops), and
// the table then shows its rate and its share of the machine's FMA peak (fma_peak_gflops).
// A Scope costs one relaxed atomic load when no Profile records. Times are wall-clock on the
// thread that ran the scope; a scope's self time is its time minus that of the scopes it opened.
// While recording, the profiler allocates nothing from malloc's heap (its log lives in pages of
// its own), so that it does not move the buffers of the program it measures.
// Read next: autograd/engine.cpp (where backward formulas are marked).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace ember::profiler {

/// The work a scope does: the arithmetic of the operation as defined, whatever algorithm runs it
/// (a 3x3 convolution counts the direct method's 2·N·Co·Ho·Wo·(Ci/groups)·9 FLOPs, Winograd or
/// not; a multiply-add is 2 FLOPs), and the bytes its operands and results take, each counted
/// once. Only the outermost scope that counts owns the work: a GEMM inside a convolution, or a
/// kernel inside a parallel_for body, adds nothing, so FLOPs are never counted twice.
struct Work {
  int64_t flops = 0;
  int64_t bytes = 0;
  bool empty() const { return flops == 0 && bytes == 0; }
};

/// One closed scope.
struct Event {
  std::string name;
  int64_t start_ns = 0;  // from the Profile's start
  int64_t duration_ns = 0;
  int64_t self_ns = 0;  // duration minus the durations of the scopes opened directly inside
  int thread = 0;       // 0 for the thread that started the Profile, then 1, 2, ... as seen
  int depth = 0;        // 0 for a scope opened outside any other on its thread
  Work work;            // zero unless this scope counted its work
};

/// One row of Profile::averages(): every event of one name.
struct Summary {
  std::string name;
  int64_t calls = 0;
  int64_t total_ns = 0;  // sum of durations (a name nested in itself counts twice)
  int64_t self_ns = 0;
  Work work;  // summed over the calls; the rate divides it by total_ns
};

/// The machine's float32 FMA peak in GFLOP/s on `threads` cores: threads x clock (the highest
/// "cpu MHz" of /proc/cpuinfo) x FLOPs per cycle (32 with AVX2's two FMA pipes, 64 where AVX-512
/// runs at full width: Intel, and AMD from Zen 5). 0 where the clock cannot be read.
double fma_peak_gflops(int threads);

namespace detail {
extern std::atomic<bool> recording;
}

/// Marks a region of code under a name, while a Profile records. A `const char*` name must live
/// until the program ends (a string literal); `suffix` is appended with a space ("matmul
/// backward"). Any other name (a Module's) is passed as a std::string and copied once per
/// distinct name.
class Scope {
 public:
  explicit Scope(const char* name, const char* suffix = nullptr) {
    if (detail::recording.load(std::memory_order_relaxed)) open(name, suffix);
  }
  explicit Scope(const std::string& name) {
    if (detail::recording.load(std::memory_order_relaxed)) open(intern(name), nullptr);
  }
  /// Says what work this scope does, once its sizes are known, before it opens inner scopes:
  ///   profiler::Scope scope("kernels::gemm (BLAS)");
  ///   scope.count({.flops = 2 * m * n * k, .bytes = 4 * (m * k + k * n + m * n)});
  void count(const Work& work) {
    if (open_) own(work);
  }
  /// The same for the innermost scope open on this thread, from code that opens none (the
  /// elementwise loops count for the op that called them: "add", "exp", ...).
  static void count_innermost(const Work& work) {
    if (detail::recording.load(std::memory_order_relaxed)) own(work);
  }
  ~Scope() {
    if (open_) close();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  static const char* intern(const std::string& name);
  void open(const char* name, const char* suffix);
  static void own(const Work& work);
  void close();
  bool open_ = false;
  int64_t session_ = 0;
};

/// Records every Scope, on every thread, from construction to stop() (or destruction). One
/// Profile records at a time: a second one is an ember::Error.
class Profile {
 public:
  Profile();
  ~Profile();
  Profile(const Profile&) = delete;
  Profile& operator=(const Profile&) = delete;

  /// Stops recording; scopes still open then are left out. Called by the destructor.
  void stop();
  /// The closed scopes, in the order they opened (by thread, then time).
  const std::vector<Event>& events() const { return events_; }
  /// The work every counting scope did, summed.
  Work total_work() const;
  /// Nanoseconds from construction to stop().
  int64_t wall_ns() const { return wall_ns_; }
  /// One row per name, the largest self time first.
  std::vector<Summary> averages() const;
  /// averages() as a table: calls, self and total milliseconds, each name's share of all self
  /// time and, for scopes that count their work, GFLOP/s and GB/s over their total time and
  /// the GFLOP/s as a share of fma_peak_gflops at the current thread count; at most `rows`
  /// rows, then one line for the rest, then the counted work over the profile's wall time.
  /// Times of scopes on several threads add up (CPU time): profile on one thread to read
  /// shares of a step's wall time.
  std::string table(size_t rows = 20) const;
  /// The events as a Chrome trace (JSON), for chrome://tracing or ui.perfetto.dev.
  void export_chrome_trace(const std::string& path) const;

 private:
  std::vector<Event> events_;
  int64_t wall_ns_ = 0;  // from construction to stop()
  bool stopped_ = false;
};

}  // namespace ember::profiler

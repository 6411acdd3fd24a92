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

/// One closed scope.
struct Event {
  std::string name;
  int64_t start_ns = 0;  // from the Profile's start
  int64_t duration_ns = 0;
  int64_t self_ns = 0;  // duration minus the durations of the scopes opened directly inside
  int thread = 0;       // 0 for the thread that started the Profile, then 1, 2, ... as seen
  int depth = 0;        // 0 for a scope opened outside any other on its thread
};

/// One row of Profile::averages(): every event of one name.
struct Summary {
  std::string name;
  int64_t calls = 0;
  int64_t total_ns = 0;  // sum of durations (a name nested in itself counts twice)
  int64_t self_ns = 0;
};

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
  ~Scope() {
    if (open_) close();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  static const char* intern(const std::string& name);
  void open(const char* name, const char* suffix);
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
  /// One row per name, the largest self time first.
  std::vector<Summary> averages() const;
  /// averages() as a table: calls, self and total milliseconds and each name's share of all
  /// self time; at most `rows` rows, then one line for the rest. Times of scopes on several
  /// threads add up (CPU time): profile on one thread to read shares of a step's wall time.
  std::string table(size_t rows = 20) const;
  /// The events as a Chrome trace (JSON), for chrome://tracing or ui.perfetto.dev.
  void export_chrome_trace(const std::string& path) const;

 private:
  std::vector<Event> events_;
  bool stopped_ = false;
};

}  // namespace ember::profiler

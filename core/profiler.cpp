// The profiler's bookkeeping. Each thread keeps a stack of its open scopes, so that closing one
// knows how much of its time went to the scopes it opened (its self time is the rest); closed
// scopes go to one shared log under a mutex, only while a Profile records.
// The log is written into 1 MiB blocks mapped from the kernel, not into a growing vector: a
// first version kept std::string names in a std::vector, and its steady trickle of heap
// allocations pushed the program's own large buffers onto fresh pages (page faults, by perf),
// which made one copy in FashionNet's step take 9-16 ms instead of 0.2 ms every few steps
// (those steps 30-60% slower), only while profiled.
#include "profiler.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_set>

#include "atomic_file.h"
#include "blas.h"
#include "error.h"
#include "parallel.h"

namespace ember::profiler {

namespace detail {
std::atomic<bool> recording{false};
}

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A closed scope as recorded: names stay pointers until the Profile stops.
struct Record {
  const char* name;
  const char* suffix;
  int64_t start_ns, duration_ns, self_ns;
  int thread, depth;
  Work work;
};

// Records in blocks of pages of their own (mmap), returned with clear().
class RecordLog {
 public:
  ~RecordLog() {
    for (Record* block : blocks_) ::munmap(block, kBlockBytes);
  }
  void push(const Record& r) {
    if (blocks_.empty() || used_ == kPerBlock) {
      void* block =
          ::mmap(nullptr, kBlockBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (block == MAP_FAILED) return;  // out of memory: the profile misses events, not the program
      blocks_.push_back(static_cast<Record*>(block));
      used_ = 0;
    }
    blocks_.back()[used_++] = r;
  }
  template <typename F>
  void for_each(F f) const {
    for (size_t b = 0; b < blocks_.size(); ++b)
      for (size_t i = 0, n = b + 1 == blocks_.size() ? used_ : kPerBlock; i < n; ++i)
        f(blocks_[b][i]);
  }
  // Empties the log and makes room for the block list up front (1,024 blocks: 22 million
  // records), so that recording allocates nothing from the heap until then.
  void clear() {
    for (Record* block : blocks_) ::munmap(block, kBlockBytes);
    blocks_.clear();
    blocks_.reserve(1024);
    used_ = 0;
  }

 private:
  static constexpr size_t kBlockBytes = size_t{1} << 20, kPerBlock = kBlockBytes / sizeof(Record);
  std::vector<Record*> blocks_;
  size_t used_ = 0;
};

struct Frame {
  const char* name;
  const char* suffix;
  int64_t start_ns;
  int64_t child_ns = 0;  // time spent in the scopes opened directly inside this one
  Work work;             // counted: no enclosing scope on this thread counts, no parallel body
};

// What every thread shares: the events of the recording Profile.
struct Session {
  std::mutex mutex;
  std::atomic<int64_t> id{0};  // incremented by each Profile: a scope can tell whose it is
  int64_t start_ns = 0;
  int next_thread = 0;
  RecordLog log;
  std::unordered_set<std::string> names;  // copies of the names passed as std::string
};
Session& session() {
  static Session s;
  return s;
}

// What each thread keeps for itself.
struct ThreadState {
  std::vector<Frame> stack;
  int counting = 0;      // open frames of this thread that own their work (0 or 1)
  int64_t session = -1;  // the session `index` was given in
  int index = 0;
};
thread_local ThreadState this_thread;

}  // namespace

double fma_peak_gflops(int threads) {
  static const double mhz = [] {  // the highest clock any core reports
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    double best = 0;
    while (std::getline(in, line))
      if (line.rfind("cpu MHz", 0) == 0)
        best = std::max(best, std::atof(line.c_str() + line.find(':') + 1));
    return best;
  }();
  blas::CpuFeatures f = blas::cpu_features();
  bool full_avx512 = f.avx512f && (f.intel || (f.amd && f.family >= 0x1a));
  return threads * mhz * (full_avx512 ? 64 : 32) / 1e3;
}

const char* Scope::intern(const std::string& name) {
  Session& s = session();
  std::lock_guard lock(s.mutex);
  return s.names.insert(name).first->c_str();  // set elements never move
}

void Scope::open(const char* name, const char* suffix) {
  session_ = session().id.load(std::memory_order_relaxed);
  this_thread.stack.push_back({name, suffix, now_ns(), 0, {}});
  open_ = true;
}

void Scope::own(const Work& work) {
  if (this_thread.stack.empty() || !this_thread.stack.back().work.empty())
    return;  // no scope to own it, or the scope counted already
  if (this_thread.counting != 0 || in_parallel_region() || work.empty())
    return;  // an enclosing scope, or the parallel_for around this body, counts it
  this_thread.stack.back().work = work;
  ++this_thread.counting;
}

void Scope::close() {
  int64_t end = now_ns();
  Frame frame = this_thread.stack.back();
  this_thread.stack.pop_back();
  this_thread.counting -= !frame.work.empty();
  int64_t duration = end - frame.start_ns;
  if (!this_thread.stack.empty()) this_thread.stack.back().child_ns += duration;
  Session& s = session();
  std::lock_guard lock(s.mutex);
  if (!detail::recording.load(std::memory_order_relaxed) || session_ != s.id) return;
  if (this_thread.session != s.id) {
    this_thread.session = s.id;
    this_thread.index = s.next_thread++;
  }
  s.log.push({frame.name, frame.suffix, frame.start_ns - s.start_ns, duration,
              duration - frame.child_ns, this_thread.index,
              static_cast<int>(this_thread.stack.size()), frame.work});
}

Profile::Profile() {
  Session& s = session();
  std::lock_guard lock(s.mutex);
  if (detail::recording.load()) fail("profiler: a Profile is already recording");
  ++s.id;
  s.start_ns = now_ns();
  wall_ns_ = -s.start_ns;
  s.log.clear();
  s.next_thread = 1;
  this_thread.session = s.id;  // the starting thread is thread 0
  this_thread.index = 0;
  detail::recording.store(true);
}

Profile::~Profile() { stop(); }

void Profile::stop() {
  if (stopped_) return;
  stopped_ = true;
  Session& s = session();
  {
    std::lock_guard lock(s.mutex);
    detail::recording.store(false);
    wall_ns_ += now_ns();
    s.log.for_each([&](const Record& r) {
      events_.push_back({r.suffix ? std::string(r.name) + " " + r.suffix : r.name, r.start_ns,
                         r.duration_ns, r.self_ns, r.thread, r.depth, r.work});
    });
    s.log.clear();
  }
  std::stable_sort(events_.begin(), events_.end(), [](const Event& a, const Event& b) {
    return a.thread != b.thread ? a.thread < b.thread : a.start_ns < b.start_ns;
  });
}

std::vector<Summary> Profile::averages() const {
  std::map<std::string, Summary> by_name;
  for (const Event& e : events_) {
    Summary& row = by_name[e.name];
    row.name = e.name;
    ++row.calls;
    row.total_ns += e.duration_ns;
    row.self_ns += e.self_ns;
    row.work.flops += e.work.flops;
    row.work.bytes += e.work.bytes;
  }
  std::vector<Summary> rows;
  for (auto& [name, row] : by_name) rows.push_back(row);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Summary& a, const Summary& b) { return a.self_ns > b.self_ns; });
  return rows;
}

Work Profile::total_work() const {
  Work total;
  for (const Event& e : events_) {
    total.flops += e.work.flops;
    total.bytes += e.work.bytes;
  }
  return total;
}

std::string Profile::table(size_t rows) const {
  auto all = averages();
  int64_t self_total = 0;
  for (const Summary& row : all) self_total += row.self_ns;
  double peak = fma_peak_gflops(get_num_threads());
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  auto share = [&](int64_t ns) { return self_total ? 100.0 * ns / self_total : 0.0; };
  auto per_ns = [](int64_t count, int64_t ns) { return ns ? static_cast<double>(count) / ns : 0; };
  std::ostringstream out;
  char line[200];
  std::snprintf(line, sizeof line, "%-32s %7s %10s %7s %10s %9s %7s %8s\n", "name", "calls",
                "self ms", "self %", "total ms", "GFLOP/s", "% peak", "GB/s");
  out << line;
  int64_t rest_calls = 0, rest_self = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const Summary& row = all[i];
    if (i >= rows) {
      rest_calls += row.calls;
      rest_self += row.self_ns;
      continue;
    }
    std::snprintf(line, sizeof line, "%-32s %7lld %10.3f %6.1f%% %10.3f", row.name.c_str(),
                  static_cast<long long>(row.calls), ms(row.self_ns), share(row.self_ns),
                  ms(row.total_ns));
    out << line;
    if (!row.work.empty()) {
      double gflops = per_ns(row.work.flops, row.total_ns);
      std::snprintf(line, sizeof line, " %9.2f %6.1f%% %8.2f", gflops,
                    peak > 0 ? 100 * gflops / peak : 0.0, per_ns(row.work.bytes, row.total_ns));
      out << line;
    }
    out << "\n";
  }
  if (all.size() > rows) {
    char more[48];
    std::snprintf(more, sizeof more, "(%zu more names)", all.size() - rows);
    std::snprintf(line, sizeof line, "%-32s %7lld %10.3f %6.1f%%\n", more,
                  static_cast<long long>(rest_calls), ms(rest_self), share(rest_self));
    out << line;
  }
  std::snprintf(line, sizeof line, "%-32s %7zu %10.3f\n", "self time of every event",
                events_.size(), ms(self_total));
  out << line;
  Work total = total_work();
  double gflops = per_ns(total.flops, wall_ns_);
  std::snprintf(line, sizeof line,
                "counted work: %.3f GFLOP and %.3f GB in %.3f ms of wall time: %.2f GFLOP/s, "
                "%.1f%% of the FMA peak (%.1f GFLOP/s on %d threads)\n",
                total.flops / 1e9, total.bytes / 1e9, ms(wall_ns_), gflops,
                peak > 0 ? 100 * gflops / peak : 0.0, peak, get_num_threads());
  out << line;
  return out.str();
}

void Profile::export_chrome_trace(const std::string& path) const {
  nlohmann::json events = nlohmann::json::array();
  for (const Event& e : events_)  // "X": a complete event, times in microseconds
    events.push_back({{"name", e.name},
                      {"ph", "X"},
                      {"ts", e.start_ns / 1e3},
                      {"dur", e.duration_ns / 1e3},
                      {"pid", 0},
                      {"tid", e.thread}});
  write_file_atomically(path, nlohmann::json{{"traceEvents", events}}.dump() + "\n",
                        "export_chrome_trace");
}

}  // namespace ember::profiler

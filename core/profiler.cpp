// The profiler's bookkeeping. Each thread keeps a stack of its open scopes, so that closing one
// knows how much of its time went to the scopes it opened (its self time is the rest); closed
// scopes go to one shared list under a mutex, only while a Profile records.
#include "profiler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <sstream>

#include "error.h"
#include "safetensors.h"

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

struct Frame {
  const char* name;
  const char* suffix;
  int64_t start_ns;
  int64_t child_ns = 0;  // time spent in the scopes opened directly inside this one
};

// What every thread shares: the events of the recording Profile.
struct Session {
  std::mutex mutex;
  std::atomic<int64_t> id{0};  // incremented by each Profile: a scope can tell whose it is
  int64_t start_ns = 0;
  int next_thread = 0;
  std::vector<Event> events;
};
Session& session() {
  static Session s;
  return s;
}

// What each thread keeps for itself.
struct ThreadState {
  std::vector<Frame> stack;
  int64_t session = -1;  // the session `index` was given in
  int index = 0;
};
thread_local ThreadState this_thread;

}  // namespace

void Scope::open(const char* name, const char* suffix) {
  session_ = session().id.load(std::memory_order_relaxed);
  this_thread.stack.push_back({name, suffix, now_ns()});
  open_ = true;
}

void Scope::close() {
  int64_t end = now_ns();
  Frame frame = this_thread.stack.back();
  this_thread.stack.pop_back();
  int64_t duration = end - frame.start_ns;
  if (!this_thread.stack.empty()) this_thread.stack.back().child_ns += duration;
  Session& s = session();
  std::lock_guard lock(s.mutex);
  if (!detail::recording.load(std::memory_order_relaxed) || session_ != s.id) return;
  if (this_thread.session != s.id) {
    this_thread.session = s.id;
    this_thread.index = s.next_thread++;
  }
  Event event;
  event.name = frame.suffix ? std::string(frame.name) + " " + frame.suffix : frame.name;
  event.start_ns = frame.start_ns - s.start_ns;
  event.duration_ns = duration;
  event.self_ns = duration - frame.child_ns;
  event.thread = this_thread.index;
  event.depth = static_cast<int>(this_thread.stack.size());
  s.events.push_back(std::move(event));
}

Profile::Profile() {
  Session& s = session();
  std::lock_guard lock(s.mutex);
  if (detail::recording.load()) fail("profiler: a Profile is already recording");
  ++s.id;
  s.start_ns = now_ns();
  s.events.clear();
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
    events_ = std::move(s.events);
    s.events.clear();
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
  }
  std::vector<Summary> rows;
  for (auto& [name, row] : by_name) rows.push_back(row);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Summary& a, const Summary& b) { return a.self_ns > b.self_ns; });
  return rows;
}

std::string Profile::table(size_t rows) const {
  auto all = averages();
  int64_t self_total = 0;
  for (const Summary& row : all) self_total += row.self_ns;
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  auto share = [&](int64_t ns) { return self_total ? 100.0 * ns / self_total : 0.0; };
  std::ostringstream out;
  char line[160];
  std::snprintf(line, sizeof line, "%-32s %7s %10s %7s %10s\n", "name", "calls", "self ms",
                "self %", "total ms");
  out << line;
  int64_t rest_calls = 0, rest_self = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i >= rows) {
      rest_calls += all[i].calls;
      rest_self += all[i].self_ns;
      continue;
    }
    std::snprintf(line, sizeof line, "%-32s %7lld %10.3f %6.1f%% %10.3f\n", all[i].name.c_str(),
                  static_cast<long long>(all[i].calls), ms(all[i].self_ns), share(all[i].self_ns),
                  ms(all[i].total_ns));
    out << line;
  }
  if (all.size() > rows) {
    std::snprintf(line, sizeof line, "%-32s %7lld %10.3f %6.1f%%\n",
                  ("(" + std::to_string(all.size() - rows) + " more names)").c_str(),
                  static_cast<long long>(rest_calls), ms(rest_self), share(rest_self));
    out << line;
  }
  std::snprintf(line, sizeof line, "%-32s %7zu %10.3f\n", "self time of every event",
                events_.size(), ms(self_total));
  out << line;
  return out.str();
}

void Profile::export_chrome_trace(const std::string& path) const {
  std::ostringstream json;
  json << "{\"traceEvents\": [";
  for (size_t i = 0; i < events_.size(); ++i) {
    const Event& e = events_[i];
    std::string name;  // names are identifiers and spaces, but escape what JSON requires
    for (char c : e.name) {
      if (c == '"' || c == '\\') name += '\\';
      name += c;
    }
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.3f, \"dur\": %.3f", e.start_ns / 1e3,
                  e.duration_ns / 1e3);
    json << (i ? ",\n" : "\n") << "{\"name\": \"" << name << "\", \"ph\": \"X\", \"ts\": " << buffer
         << ", \"pid\": 0, \"tid\": " << e.thread << "}";
  }
  json << "\n]}\n";
  write_file_atomically(path, json.str());
}

}  // namespace ember::profiler

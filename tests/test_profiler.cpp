// The profiler: what it records (ops, kernels, backward formulas in the engine's order, module
// calls, other threads), its bookkeeping (self time, depth) checked against the event list
// itself rather than against the code that computed it, and its outputs (table, Chrome trace).
// No test asserts a duration: only structure and sums.
#include <malloc.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "helpers.h"
#include "programs.h"

using namespace ember;
using profiler::Event;

namespace {

std::vector<std::string> names(const std::vector<Event>& events, int thread = 0) {
  std::vector<std::string> out;
  for (const Event& e : events)
    if (e.thread == thread) out.push_back(e.name);
  return out;
}

// The events opened directly inside events[i]: on its thread, one level deeper, within its time.
std::vector<const Event*> children(const std::vector<Event>& events, size_t i) {
  const Event& parent = events[i];
  std::vector<const Event*> out;
  for (size_t j = i + 1; j < events.size(); ++j) {
    const Event& e = events[j];
    if (e.thread != parent.thread || e.start_ns >= parent.start_ns + parent.duration_ns) break;
    if (e.depth == parent.depth + 1) out.push_back(&e);
  }
  return out;
}

// The whitespace-separated fields of the table's line that starts with `name`.
std::vector<std::string> row(const std::string& table, const std::string& name) {
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) != 0) continue;
    std::istringstream fields(line.substr(name.size()));
    std::vector<std::string> out{name};
    for (std::string f; fields >> f;) out.push_back(f);
    return out;
  }
  return {};
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("profiler: ops, their kernels, and self time as the time minus the children's") {
  manual_seed(0);
  Tensor a = randn({64, 32}), b = randn({32, 16});
  profiler::Profile profile;
  Tensor c = relu(matmul(a, b));
  profile.stop();
  const auto& events = profile.events();
  auto seen = names(events);
  CHECK(seen == std::vector<std::string>{"matmul", "kernels::matmul",
                                         "kernels::gemm (register tile)", "relu"});
  CHECK(events[0].depth == 0);
  CHECK(events[1].depth == 1);
  CHECK(events[2].depth == 2);
  CHECK(events[3].depth == 0);
  for (size_t i = 0; i < events.size(); ++i) {
    CAPTURE(events[i].name);
    int64_t inside = 0;
    for (const Event* child : children(events, i)) inside += child->duration_ns;
    CHECK(events[i].self_ns == events[i].duration_ns - inside);
    CHECK(events[i].self_ns >= 0);
  }
  // A child lies within its parent.
  CHECK(events[1].start_ns >= events[0].start_ns);
  CHECK(events[1].start_ns + events[1].duration_ns <= events[0].start_ns + events[0].duration_ns);
}

TEST_CASE("profiler: backward formulas appear in the engine's order, leaves last") {
  Tensor x = tensor({0.5, -1.0, 2.0}, kFloat64).requires_grad_();
  Tensor loss = sum(exp(x) * 2.0);
  profiler::Profile profile;
  loss.backward();
  profile.stop();
  std::vector<std::string> order;
  for (const Event& e : profile.events())
    if (e.depth == 0) order.push_back(e.name);
  // The graph is a chain: sum <- mul <- exp <- x. Reverse topological order is that chain.
  CHECK(order ==
        std::vector<std::string>{"sum backward", "mul backward", "exp backward", "AccumulateGrad"});
  // Inside "exp backward" the formula g * exp(x) runs as a recorded-free mul.
  auto seen = names(profile.events());
  CHECK(contains(seen, "mul"));
}

TEST_CASE("profiler: module calls under the module's name, optimizer steps") {
  manual_seed(0);
  auto net = nn::Sequential();
  net->push_back(nn::Linear(4, 3));
  net->push_back(nn::ReLU());
  optim::SGD sgd(net->parameters(), {.lr = 0.1});
  profiler::Profile profile;
  sgd.zero_grad();
  sum((*net)(randn({2, 4}))).backward();
  sgd.step();
  profile.stop();
  auto seen = names(profile.events());
  for (const char* name : {"Optimizer.zero_grad", "Sequential", "Linear", "linear", "ReLU", "relu",
                           "linear backward", "relu backward", "SGD.step"})
    CHECK_MESSAGE(contains(seen, name), std::string(name));
  auto rows = profile.averages();
  auto linear = std::find_if(rows.begin(), rows.end(), [](auto& r) { return r.name == "Linear"; });
  REQUIRE(linear != rows.end());
  CHECK(linear->calls == 1);
  // Rows come largest self time first.
  for (size_t i = 1; i < rows.size(); ++i) CHECK(rows[i - 1].self_ns >= rows[i].self_ns);
}

TEST_CASE("profiler: other threads, scopes across stop, nothing recorded when off") {
  {
    profiler::Scope outside("outside");  // opened before any Profile: never recorded
    profiler::Profile profile;
    std::optional<profiler::Scope> open_at_stop;
    open_at_stop.emplace("open at stop");
    std::thread([] { profiler::Scope scope("on another thread"); }).join();
    profile.stop();
    open_at_stop.reset();
    auto seen = names(profile.events(), 1);
    CHECK(seen == std::vector<std::string>{"on another thread"});
    CHECK(names(profile.events(), 0).empty());
  }
  {
    profiler::Profile profile;
    CHECK_THROWS_WITH_AS(profiler::Profile(), "profiler: a Profile is already recording",
                         ember::Error);
  }
  Tensor x = ones({3});
  Tensor y = exp(x);  // no Profile: nothing kept anywhere
  profiler::Profile after;
  after.stop();
  CHECK(after.events().empty());
}

TEST_CASE("profiler: recording takes nothing from malloc's heap") {
  // Heap allocations while recording moved the measured program's buffers onto fresh pages and
  // made its copies slow, only under the profiler (core/profiler.cpp). The log lives in pages of
  // its own: 100,000 scopes leave malloc's bytes in use where they were.
  profiler::Profile profile;
  { profiler::Scope warm("warm-up"); }  // this thread's stack of open scopes, allocated once
  size_t before = mallinfo2().uordblks;
  for (int i = 0; i < 100000; ++i) {
    profiler::Scope outer("outer");
    profiler::Scope inner("inner", "backward");
  }
  size_t after = mallinfo2().uordblks;
  CHECK(after == before);
  profile.stop();
  CHECK(profile.events().size() == 200001);
  CHECK(profile.events().back().name == "inner backward");
}

TEST_CASE("profiler: the table and the Chrome trace") {
  profiler::Profile profile;
  Tensor x = ones({8});
  for (int i = 0; i < 3; ++i) x = exp(x * 0.1);
  profile.stop();
  std::string table = profile.table(1);
  CHECK(table.find("name                               calls    self ms  self %   total ms") !=
        std::string::npos);
  // mul and exp: one row, then the rest in one line; every event's self time summed last.
  CHECK(row(table, "(1 more names)").at(1) == "3");
  CHECK(row(table, "self time of every event").at(1) == "6");
  std::string full = profile.table();
  CHECK(row(full, "exp").at(1) == "3");
  CHECK(row(full, "mul").at(1) == "3");
  // The shares of all rows add to 100%.
  double shares = std::stod(row(full, "exp").at(3)) + std::stod(row(full, "mul").at(3));
  CHECK(shares == doctest::Approx(100.0).epsilon(0.002));

  auto dir = testing::scratch("profiler");
  std::string path = (dir / "trace.json").string();
  profile.export_chrome_trace(path);
  std::string json = testing::read_bytes(path);
  CHECK(json.rfind("{\"traceEvents\":[", 0) == 0);
  size_t complete = 0;
  for (size_t at = 0; (at = json.find("\"ph\":\"X\"", at)) != std::string::npos; ++at) ++complete;
  CHECK(complete == 6);
  CHECK(json.find("\"name\":\"exp\"") != std::string::npos);
  CHECK_THROWS_AS(profile.export_chrome_trace((dir / "missing" / "trace.json").string()),
                  ember::Error);
  std::filesystem::remove_all(dir);
}

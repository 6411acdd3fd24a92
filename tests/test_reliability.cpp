// Reliability: bitwise determinism for a seed and thread count, agreement across thread counts,
// concurrent inference on one model, flat memory over training, anomaly mode through the
// training program, and checkpoints that survive SIGKILL at any moment.
#include <signal.h>
#include <unistd.h>

#include <random>
#include <regex>
#include <set>
#include <thread>

#include "../examples/fashion_net.h"
#include "programs.h"

using namespace ember;
using ember::testing::values;

namespace {

// Losses of `steps` Adam steps of FashionNet with efficient attention on fixed random batches.
std::vector<double> training_losses(int steps, int threads) {
  int before = get_num_threads();
  set_num_threads(threads);
  manual_seed(42);
  auto model = std::make_shared<examples::FashionNet>("efficient");
  optim::Adam adam(model->parameters(), {.lr = 1e-3});
  Generator data_gen(7);
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    Tensor x = randn({16, 1, 28, 28}, kFloat32, &data_gen);
    Tensor y = randint(0, 10, {16}, kInt64, &data_gen);
    adam.zero_grad();
    Tensor loss = nn::functional::cross_entropy((*model)(x), y);
    loss.backward();
    adam.step();
    losses.push_back(loss.item<double>());
  }
  set_num_threads(before);
  return losses;
}

}  // namespace

TEST_CASE("the same seed and thread count give bitwise-identical losses for 50 steps") {
  auto a = training_losses(50, 2), b = training_losses(50, 2);
  CHECK(a == b);
}

TEST_CASE("1 and 2 threads agree over 50 training steps") {
  auto relative = [](const std::vector<double>& x, const std::vector<double>& y) {
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i)
      worst = std::max(worst, std::abs(x[i] - y[i]) / std::abs(y[i]));
    return worst;
  };
  // Convolutions and every ember kernel give the same bits at any thread count; large GEMMs do
  // too once thread_count_invariant is on (kernels/matmul.cpp).
  bool before = thread_count_invariant();
  set_thread_count_invariant(true);
  auto two = training_losses(50, 2), one = training_losses(50, 1);
  set_thread_count_invariant(before);
  MESSAGE("thread-count invariant: largest relative loss difference, 1 vs 2 threads: ",
          relative(two, one));
  CHECK(two == one);
  // Without it OpenBLAS threads the linear layer's GEMMs, and the last bits differ (reported,
  // not asserted: the size of the difference depends on OpenBLAS's kernels for this CPU).
  auto two_fast = training_losses(50, 2), one_fast = training_losses(50, 1);
  MESSAGE("OpenBLAS-threaded GEMMs: largest relative loss difference, 1 vs 2 threads: ",
          relative(two_fast, one_fast));
}

TEST_CASE("two threads running inference on one model get the single-thread outputs") {
  // Thread-count invariance (the training program's setting): otherwise OpenBLAS threads the
  // linear layer's GEMM and its last bits depend on the thread count.
  set_thread_count_invariant(true);
  manual_seed(3);
  auto model = std::make_shared<examples::FashionNet>("efficient");
  model->eval();
  Tensor a = randn({32, 1, 28, 28}), b = randn({32, 1, 28, 28});
  std::vector<double> want_a, want_b;
  {
    NoGradGuard no_grad;
    set_num_threads(1);  // the reference: one thread, as the README promises
    want_a = values((*model)(a));
    want_b = values((*model)(b));
    set_num_threads(2);
  }
  for (int round = 0; round < 5; ++round) {
    std::vector<double> got_a, got_b;
    auto infer = [&](const Tensor& x, std::vector<double>& out) {
      NoGradGuard no_grad;  // per thread: grad mode is thread-local
      for (int i = 0; i < 4; ++i) out = values((*model)(x));
    };
    std::thread t1(infer, std::cref(a), std::ref(got_a)), t2(infer, std::cref(b), std::ref(got_b));
    t1.join();
    t2.join();
    CHECK(got_a == want_a);
    CHECK(got_b == want_b);
  }
  set_thread_count_invariant(false);
}

TEST_CASE("memory stays flat over training steps") {
  manual_seed(5);
  auto model = std::make_shared<examples::FashionNet>();
  optim::Adam adam(model->parameters(), {.lr = 1e-3});
  Tensor x = randn({8, 1, 28, 28}), y = randint(0, 10, {8});
  std::vector<int64_t> after_step;
  for (int step = 0; step < 8; ++step) {
    adam.zero_grad();
    nn::functional::cross_entropy((*model)(x), y).backward();
    adam.step();
    after_step.push_back(memory_stats().current);
  }
  // After the first step has created gradients and optimizer state, nothing accumulates.
  for (size_t i = 2; i < after_step.size(); ++i) CHECK(after_step[i] == after_step[1]);
}

TEST_CASE("--detect-anomaly names the op whose backward made a NaN") {
  auto dir = ember::testing::scratch("anomaly");
  ember::testing::write_fake_mnist(dir, 64, 16);
  std::string out;
  // An absurd learning rate overflows the weights to inf after one step; the next backward
  // produces NaN, and anomaly mode stops there, naming the op.
  int code = ember::testing::run_training(
      "--data " + dir.string() +
          " --limit 64 --epochs 1 --batch-size 16 "
          "--optimizer sgd --lr 1e38 --detect-anomaly --attention none",
      &out);
  CHECK(code == 1);
  std::smatch m;
  std::regex named(R"(anomaly detected: the backward of '(\w+)' )");
  REQUIRE_MESSAGE(std::regex_search(out, m, named), out);
  std::set<std::string> ops_of_fashionnet{
      "conv2d", "batch_norm", "relu", "max_pool2d",    "reshape",      "linear",
      "matmul", "add",        "mul",  "cross_entropy", "mean",         "sum",
      "addmm",  "view",       "t",    "transpose",     "relu_backward"};
  CHECK_MESSAGE(ops_of_fashionnet.count(m[1].str()), "named op '", m[1].str(), "'");
  MESSAGE(out.substr(out.find("error:")));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a checkpoint killed with SIGKILL mid-write is always whole") {
  auto dir = ember::testing::scratch("kill");
  std::string path = (dir / "checkpoint.safetensors").string();
  // Versions prepared before fork: the child only serialises and writes (no thread pools).
  std::vector<Tensor> versions;
  for (int k = 0; k < 8; ++k) versions.push_back(full({256, 1024}, double(k)));  // 1 MiB each
  save_safetensors(path, {{"w", versions[0]}}, {{"version", "0"}});
  auto temporaries = [&] {  // files other than the checkpoint: a writer's "<path>.tmp.<pid>.<n>"
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.path().filename() != "checkpoint.safetensors") out.push_back(entry.path());
    return out;
  };
  std::mt19937 rng(1);
  std::set<double> versions_seen;
  int kills = 0, mid_write = 0;
  for (; kills < 100; ++kills) {
    int done[2];  // the writer sends a byte after each whole save
    REQUIRE(pipe(done) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(done[0]);
      for (uint64_t k = 1;; ++k) {
        save_safetensors(path, {{"w", versions[k % 8]}}, {{"version", std::to_string(k % 8)}});
        char one = 1;
        if (write(done[1], &one, 1) != 1) _exit(1);
      }
    }
    close(done[1]);
    // After the first whole save (a slow, sanitized build may take longer than any fixed delay),
    // kill at a random moment, mostly mid-write.
    char byte = 0;
    REQUIRE(read(done[0], &byte, 1) == 1);
    usleep(rng() % 20000);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(done[0]);
    // A kill between creating the temporary file and renaming it leaves the file behind.
    std::string stale = path + ".tmp." + std::to_string(pid) + ".";  // + the writer's count
    for (const std::string& t : temporaries())
      if (t.rfind(stale, 0) == 0) ++mid_write;
    Metadata meta;
    TensorMap loaded = load_safetensors(path, &meta);  // throws if the file were partial
    double version = std::stod(meta.at("version"));
    versions_seen.insert(version);
    Tensor w = loaded.at("w");
    REQUIRE(ember::testing::shape(w) == Shape{256, 1024});
    REQUIRE(amin(w, {}).item<double>() == version);
    REQUIRE(amax(w, {}).item<double>() == version);
  }
  MESSAGE(kills, " SIGKILLs, ", mid_write, " of them mid-write; ", versions_seen.size(),
          " versions seen; the checkpoint loaded whole and equal to a saved version every time");
  CHECK(mid_write > 0);             // some kills did land during a write
  CHECK(versions_seen.size() > 1);  // and the writers did replace the checkpoint
  // Stale temporaries of killed writers are ignored (named by their writer's pid, never read):
  // a later save and load work beside them, and a successful save leaves no temporary of its own.
  size_t stale_before = temporaries().size();
  CHECK(stale_before == static_cast<size_t>(mid_write));
  save_safetensors(path, {{"w", versions[5]}}, {{"version", "5"}});
  Metadata meta;
  CHECK(load_safetensors(path, &meta).at("w").sizes()[0] == 256);
  CHECK(meta.at("version") == "5");
  CHECK(temporaries().size() == stale_before);
  for (const std::string& t : temporaries())
    CHECK(t.rfind(path + ".tmp." + std::to_string(getpid()) + ".", 0) != 0);
  std::filesystem::remove_all(dir);
}

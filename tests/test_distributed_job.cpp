// The main job across processes (train_fashion_mnist --distributed under mpirun): 2 ranks x batch
// 32 with SyncBatchNorm against 1 process x batch 64, step by step; a 2-rank checkpoint in a
// 1-process run; a resume with another number of ranks; a rank killed mid-epoch.
#include <signal.h>

#include <regex>
#include <thread>

#include "programs.h"

#ifdef EMBER_MPIRUN

using namespace ember;
using ember::testing::scratch;
namespace fs = std::filesystem;

namespace {

// mpirun -np N train_fashion_mnist ARGS (as root too), its output and exit code.
int mpirun(int ranks, const std::string& args, std::string* output = nullptr) {
  return ember::testing::run_example(
      "train_fashion_mnist", args + " --distributed", output,
      std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") + EMBER_MPIRUN +
          " --oversubscribe -np " + std::to_string(ranks) + " ");
}

// The last "test accuracy X%" (or "test accuracy: X%") the program printed.
double final_accuracy(const std::string& output) {
  std::regex accuracy(R"(test accuracy:? ([0-9.]+)%)");
  std::string last = "-1";
  for (std::sregex_iterator it(output.begin(), output.end(), accuracy), end; it != end; ++it)
    last = (*it)[1];
  return std::stod(last);
}

// The PIDs of processes whose command line mentions `needle` and whose MPI rank is `rank`.
std::vector<pid_t> rank_processes(const std::string& needle, int rank) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ember::testing::read_bytes(entry.path() / "cmdline");
    std::string environ = ember::testing::read_bytes(entry.path() / "environ");
    if (cmdline.find("train_fashion_mnist") == std::string::npos ||
        cmdline.find(needle) == std::string::npos)
      continue;
    if (environ.find("OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0') != std::string::npos)
      pids.push_back(std::stoi(name));
  }
  return pids;
}

}  // namespace

TEST_CASE("--distributed: 2 ranks x 32 equal 1 process x 64 step by step, and checkpoints move") {
  fs::path dir = scratch("distributed");
  ember::testing::write_fake_mnist(dir, 1280, 256);
  // 20 steps of a global batch of 64. At this learning rate float rounding stays small; at the
  // default 1e-3 the two runs drift to ~2e-5 by step 20 (Adam magnifies tiny differences).
  std::string common = "--data " + dir.string() + " --limit 1280 --threads 1 --lr 3e-4 ";
  std::string one_out, two_out;
  REQUIRE(mpirun(1, common + "--epochs 1 --log-steps " + (dir / "one.txt").string(), &one_out) ==
          0);
  REQUIRE(mpirun(2,
                 common + "--epochs 1 --log-steps " + (dir / "two.txt").string() + " --save " +
                     (dir / "two.safetensors").string(),
                 &two_out) == 0);
  auto one = ember::testing::numbers(dir / "one.txt"),
       two = ember::testing::numbers(dir / "two.txt");
  REQUIRE(one.size() == 20);
  REQUIRE(two.size() == 20);
  for (size_t step = 0; step < 20; ++step) {
    CAPTURE(step);
    CHECK(two[step] == doctest::Approx(one[step]).epsilon(1e-5));
  }
  CHECK(two_out.find("2 ranks") != std::string::npos);
  CHECK(two_out.find("communication per step") != std::string::npos);
  // The 2-rank checkpoint in one ordinary process: the same test accuracy.
  std::string out;
  REQUIRE(ember::testing::run_training("--eval-only --data " + dir.string() +
                                           " --limit 1280 --resume " +
                                           (dir / "two.safetensors").string(),
                                       &out) == 0);
  CHECK(final_accuracy(out) == final_accuracy(two_out));
  // A 2-rank checkpoint resumed on 1 rank, and on 2 ranks a batch that does not split.
  REQUIRE(mpirun(1, common + "--epochs 2 --resume " + (dir / "two.safetensors").string(), &out) ==
          0);
  CHECK(out.find("epoch 2:") != std::string::npos);
  CHECK(mpirun(2, common + "--epochs 1 --batch-size 63", &out) != 0);
  CHECK(out.find("error: rank 0 of 2: train_fashion_mnist: the batch of 63 does not split") !=
        std::string::npos);
}

// A checkpoint taken inside an epoch on N ranks and resumed on M continues the uninterrupted run:
// 288 images in global batches of 48 are 6 steps per epoch on 1, 2 or 3 ranks, and step k takes
// the same 48 images on any of them (the DistributedSampler deals the global order out in turn),
// so the loader's position, SGD's momentum, SyncBatchNorm's running statistics and OneCycleLR's
// position must all carry over for the steps and the final state to agree.
TEST_CASE("--distributed: saved mid-epoch on N ranks, resumed on M, as if never interrupted") {
  fs::path dir = scratch("distributed_resume");
  ember::testing::write_fake_mnist(dir, 288, 96);
  std::string data = "--data " + dir.string() + " --limit 288 --threads 1 ";
  std::string common =
      data + "--optimizer sgd --lr 0.005 --batch-size 48 --epochs 2 --schedule onecycle ";
  auto files = [&](const std::string& name) {
    return " --log-steps " + (dir / (name + ".txt")).string() + " --save " +
           (dir / (name + ".safetensors")).string();
  };
  std::string out;
  REQUIRE(mpirun(1, common + files("whole")) == 0);
  std::vector<double> whole = ember::testing::numbers(dir / "whole.txt");
  REQUIRE(whole.size() == 12);
  TensorMap final_whole = load_safetensors((dir / "whole.safetensors").string());
  for (auto [saved, resumed] : {std::pair{2, 1}, std::pair{2, 3}, std::pair{1, 2}}) {
    CAPTURE(saved);
    CAPTURE(resumed);
    std::string name = "saved" + std::to_string(saved) + "_resumed" + std::to_string(resumed);
    REQUIRE(mpirun(saved, common + files(name) + " --stop-at-step 8", &out) == 0);
    CHECK(out.find("stopped after step 8 (--stop-at-step), at batch 2 of epoch 2") !=
          std::string::npos);
    REQUIRE(mpirun(resumed,
                   data + files(name) + " --resume " + (dir / (name + ".safetensors")).string(),
                   &out) == 0);
    CHECK_MESSAGE(out.find("--resume: epoch 2 continues at batch 3 of 6") != std::string::npos,
                  out);
    std::vector<double> steps = ember::testing::numbers(dir / (name + ".txt"));
    REQUIRE(steps.size() == 12);
    for (size_t step = 0; step < 12; ++step) {
      CAPTURE(step);
      CHECK(steps[step] == doctest::Approx(whole[step]).epsilon(1e-5));
    }
    // Every tensor of the final state: weights, running statistics, SGD's momentum buffers. The
    // ranks sum in another order, and these rounding differences grew to 1.1e-3 of a tensor's
    // largest value over 24 steps (measured; more where a tensor is itself rounding noise, as
    // the momentum of a bias before a batch norm, whose gradient is zero but for rounding: the
    // 1e-6 covers those); a statistic or a buffer lost at the resume is 0.1 to 1 of it.
    TensorMap final_state = load_safetensors((dir / (name + ".safetensors")).string());
    REQUIRE(final_state.size() == final_whole.size());
    for (const auto& [key, t] : final_whole) {
      CAPTURE(key);
      REQUIRE(final_state.count(key));
      CHECK(max(abs(final_state.at(key) - t)).item<double>() <=
            1e-2 * max(abs(t)).item<double>() + 1e-6);
    }
  }
  // A mid-epoch checkpoint of a distributed run continues only in the DistributedSampler's order.
  REQUIRE(mpirun(2, common + files("again") + " --stop-at-step 5") == 0);
  CHECK(ember::testing::run_training(data + "--resume " + (dir / "again.safetensors").string(),
                                     &out) == 2);
  CHECK_MESSAGE(out.find("was taken mid-epoch by a run with --distributed, whose batches come in "
                         "another order; resume it with --distributed") != std::string::npos,
                out);
}

TEST_CASE("--distributed: a rank killed mid-epoch ends the job; the last checkpoint loads") {
  fs::path dir = scratch("distributed_kill");
  ember::testing::write_fake_mnist(dir, 2048, 128);
  std::string checkpoint = (dir / "ckpt.safetensors").string(), out;
  std::thread killer([&] {  // after the first checkpoint, kill rank 1 in the second epoch
    for (int i = 0; i < 600 && !fs::exists(checkpoint); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (pid_t pid : rank_processes(dir.string(), 1)) kill(pid, SIGKILL);
  });
  int code =
      mpirun(2, "--data " + dir.string() + " --threads 1 --epochs 50 --save " + checkpoint, &out);
  killer.join();
  CHECK(code != 0);
  CHECK(out.find("rank 1") != std::string::npos);  // mpirun names the rank that died
  CHECK(out.find("final test accuracy") == std::string::npos);
  REQUIRE(ember::testing::run_training(
              "--eval-only --data " + dir.string() + " --resume " + checkpoint, &out) == 0);
  CHECK(out.find("test accuracy") != std::string::npos);
}

TEST_CASE("--distributed: the scenes' per-pixel model trains on 2 ranks, mean IoU over both") {
  fs::path dir = scratch("distributed_scenes");
  ember::testing::write_fake_mnist(dir, 256, 128);
  std::string out;
  REQUIRE(mpirun(2,
                 "--model scenes --data " + dir.string() +
                     " --scenes 64 --epochs 1 --batch-size 32 --threads 1",
                 &out) == 0);
  CHECK_MESSAGE(
      out.find("SceneNet (attention: efficient), 46179 parameters, 1 threads x 2 ranks") !=
          std::string::npos,
      out);
  CHECK(out.find("test mIoU") != std::string::npos);
}

TEST_CASE("--distributed: ranks whose datasets differ fail at start-up instead of hanging") {
  fs::path dir = scratch("distributed_mismatch");
  ember::testing::write_fake_mnist(dir, 128, 32);
  // One rank reads 64 training images, the other 96 (mpirun's "A : B", one program per rank):
  // 1 and 2 batches per epoch, which before this check hung after the first batch.
  std::string args = "--data " + dir.string() + " --threads 1 --epochs 1 --batch-size 64 ";
  std::string launcher = std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") +
                         EMBER_MPIRUN + " --oversubscribe -np 1 " + EMBER_EXAMPLES_DIR +
                         "/train_fashion_mnist " + args + "--limit 64 --distributed : -np 1 ";
  std::string out;
  int code = ember::testing::run_example("train_fashion_mnist", args + "--limit 96 --distributed",
                                         &out, launcher);
  CHECK(code != 0);
  CHECK_MESSAGE(out.find("--distributed: the ranks' data differ (rank 0: 64 training images, 32 "
                         "test images, 1 batches per epoch; rank 1: 96 training images, 32 test "
                         "images, 2 batches per epoch)") != std::string::npos,
                out);
}

TEST_CASE("--distributed: a stalled rank ends the job after --collective-timeout, named") {
  fs::path dir = scratch("distributed_stall");
  ember::testing::write_fake_mnist(dir, 2048, 128);
  std::string checkpoint = (dir / "ckpt.safetensors").string(), out;
  std::vector<pid_t> stopped;
  std::thread staller([&] {  // after the first checkpoint, stop (not kill) rank 1
    for (int i = 0; i < 600 && !fs::exists(checkpoint); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stopped = rank_processes(dir.string(), 1);
    for (pid_t pid : stopped) kill(pid, SIGSTOP);
  });
  auto start = std::chrono::steady_clock::now();
  int code = mpirun(2,
                    "--data " + dir.string() +
                        " --threads 1 --epochs 50 --collective-timeout 3 --save " + checkpoint,
                    &out);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  staller.join();
  for (pid_t pid : stopped) kill(pid, SIGKILL);  // should mpirun have left it stopped
  CHECK(code != 0);
  CHECK_MESSAGE(out.find("did not complete within the 3 s timeout on rank 0: rank 1 did not "
                         "arrive") != std::string::npos,
                out);
  CHECK(out.find("final test accuracy") == std::string::npos);
  MESSAGE("the job ended ", seconds, " s after it started (3 s timeout)");
}

#else

TEST_CASE("--distributed: not built (configured without Open MPI)") {
  MESSAGE("ember::distributed is not built here: its tests are skipped");
}

#endif  // EMBER_MPIRUN

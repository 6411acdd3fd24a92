// Two hosts on one machine (tools/two_hosts.sh): the main job's first 20 steps with one rank in
// each of two network namespaces joined by a veth pair, over Open MPI's TCP transport alone,
// against one process. Where namespaces cannot be made (not root, no iproute2) the script says
// why and this test prints it; CTest then reports the test as skipped (tests/CMakeLists.txt).
#include <regex>

#include "programs.h"

#ifdef EMBER_MPIRUN

using namespace ember;
namespace fs = std::filesystem;

namespace {

// The first number after `label` in `text`, or -1.
double figure(const std::string& text, const std::string& label) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(label + " ?([0-9.]+)"))) return -1;
  return std::stod(m[1]);
}

}  // namespace

TEST_CASE("two hosts: 2 ranks over TCP between network namespaces equal 1 process step by step") {
  fs::path dir = ember::testing::scratch("two_hosts");
  ember::testing::write_fake_mnist(dir, 1280, 256);
  std::string common = "--data " + dir.string() +
                       " --limit 1280 --threads 1 --lr 3e-4 --epochs 1 --distributed --log-steps ";
  std::string out;
  std::string one_process =
      std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") + EMBER_MPIRUN +
      " -np 1 ";
  REQUIRE(ember::testing::run_example("train_fashion_mnist", common + (dir / "one.txt").string(),
                                      &out, one_process) == 0);
  int code =
      ember::testing::run_example("train_fashion_mnist", common + (dir / "two.txt").string(), &out,
                                  std::string(EMBER_SOURCE_DIR) + "/tools/two_hosts.sh ");
  if (code == 77) {  // "two_hosts: skipped: why"
    MESSAGE(out);
    return;
  }
  REQUIRE_MESSAGE(code == 0, out);
  CHECK(out.find("1 threads x 2 ranks") != std::string::npos);
  std::vector<double> one = ember::testing::numbers(dir / "one.txt"),
                      two = ember::testing::numbers(dir / "two.txt");
  REQUIRE(one.size() == 20);
  REQUIRE(two.size() == 20);
  for (size_t step = 0; step < 20; ++step) {
    CAPTURE(step);
    CHECK(two[step] == doctest::Approx(one[step]).epsilon(1e-5));
  }
  // The gradients went over the link: a ring all-reduce on 2 ranks sends each rank's gradient
  // bytes once from each rank, every step (the rest is SyncBatchNorm's statistics, evaluation
  // and Open MPI's own wiring).
  double kib_per_step = figure(out, "communication per step:");
  double crossed = figure(out, "two_hosts:");
  MESSAGE(out.substr(out.find("communication per step")));
  REQUIRE(kib_per_step > 0);
  CHECK(crossed >= 2 * 20 * kib_per_step * 1024);
}

#endif  // EMBER_MPIRUN

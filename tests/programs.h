// Helpers for tests that run the example programs: a learnable fake Fashion-MNIST and a runner.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "helpers.h"

namespace ember::testing {

inline std::filesystem::path scratch(const std::string& name) {
  std::filesystem::path p = std::filesystem::temp_directory_path() / ("ember_test_" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

/// A learnable stand-in for Fashion-MNIST: class k images are noise plus a bright row 2k+4.
inline void write_fake_mnist(const std::filesystem::path& dir, int64_t train, int64_t test) {
  manual_seed(123);
  for (auto [prefix, n] : {std::pair{"train", train}, std::pair{"t10k", test}}) {
    Tensor labels = randint(0, 10, {n});
    Tensor images = rand({n, 28, 28}) * 80.0;
    const int64_t* l = labels.data_ptr<int64_t>();
    float* px = images.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t x = 0; x < 28; ++x) px[(i * 28 + 2 * l[i] + 4) * 28 + x] = 250;
    data::save_idx_u8((dir / (std::string(prefix) + "-images-idx3-ubyte.gz")).string(), images);
    data::save_idx_u8((dir / (std::string(prefix) + "-labels-idx1-ubyte.gz")).string(), labels);
  }
}

/// Runs an example program (train_fashion_mnist, attention_maps, ...) with `args`, after
/// `launcher` if given (mpirun ...); returns its exit code and, if asked, its output.
inline int run_example(const std::string& program, const std::string& args,
                       std::string* output = nullptr, const std::string& launcher = "") {
  // A log of its own per run: CTest runs suites in parallel, and each may run the program.
  static std::atomic<int> runs{0};
  std::string log =
      (std::filesystem::temp_directory_path() /
       ("ember_test_run_" + std::to_string(getpid()) + "_" + std::to_string(runs++) + ".log"))
          .string();
  std::string cmd = launcher + std::string(EMBER_EXAMPLES_DIR) + "/" + program + " " + args +
                    " > " + log + " 2>&1";
  int status = std::system(cmd.c_str());
  if (output) *output = read_bytes(log);
  std::filesystem::remove(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// The whitespace-separated numbers in `file` (a --log-steps file: one loss per step).
inline std::vector<double> numbers(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<double> v;
  for (double x; in >> x;) v.push_back(x);
  return v;
}

/// Runs train_fashion_mnist with `args`; returns its exit code and, if asked, its output.
inline int run_training(const std::string& args, std::string* output = nullptr) {
  return run_example("train_fashion_mnist", args, output);
}

}  // namespace ember::testing

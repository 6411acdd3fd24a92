// The main job's progress line per epoch: a bar redrawn in place on a terminal, plain lines
// (every 10% of the epoch) when the output goes to a file or a pipe.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace ember::examples {

class Progress {
 public:
  /// `first`: the batches of the epoch done before this run (resumed mid-epoch).
  Progress(int epoch, int epochs, int64_t batches, int64_t first = 0)
      : epoch_(epoch),
        epochs_(epochs),
        batches_(batches),
        first_(first),
        tty_(isatty(STDOUT_FILENO)),
        start_(std::chrono::steady_clock::now()) {}

  /// After batch `batch` (counting from 1): the running loss and accuracy, `images` seen so far.
  void update(int64_t batch, double loss, double accuracy, int64_t images) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double rate = images / std::max(elapsed, 1e-9);
    double eta = elapsed / std::max<int64_t>(batch - first_, 1) * (batches_ - batch);
    char line[200];
    std::snprintf(line, sizeof line,
                  "%4lld/%lld  loss %.4f  acc %5.1f%%  %6.0f img/s  ETA %2d:%02d", (long long)batch,
                  (long long)batches_, loss, 100 * accuracy, rate, int(eta) / 60, int(eta) % 60);
    if (tty_) {
      int filled = static_cast<int>(24.0 * batch / batches_);
      std::printf("\repoch %d/%d [%s%s] %s", epoch_, epochs_, std::string(filled, '#').c_str(),
                  std::string(24 - filled, '.').c_str(), line);
      if (batch == batches_) std::printf("\n");
      std::fflush(stdout);
    } else if (batch == batches_ || batch * 10 / batches_ != (batch - 1) * 10 / batches_) {
      std::printf("epoch %d/%d %s\n", epoch_, epochs_, line);
      std::fflush(stdout);
    }
  }

  /// Ends the bar's line early (the run stopped inside the epoch).
  void interrupt() {
    if (tty_) std::printf("\n");
  }

 private:
  int epoch_, epochs_;
  int64_t batches_, first_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ember::examples

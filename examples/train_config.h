// The main job's configuration: every flag of train_fashion_mnist, its meaning and its default
// (FashionNet's; FashionViT's recipe is applied where the user set nothing).
#pragma once

#include <ember/core/parallel.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>

namespace ember::examples {

/// A command line that cannot run (a combination of flags, a flag the checkpoint refuses): the
/// program exits with status 2 and this message.
struct UsageError {
  std::string message;
};

/// The settings of one run, FashionNet's defaults.
struct Config {
  std::string model = "fashionnet";
  int epochs = 2, stop_after = 0;
  int64_t batch_size = 64, limit = 0, scenes = 10000;
  int64_t save_every = 0, stop_at_step = 0;  // steps; 0: at epochs' ends only, never
  double lr = 1e-3, weight_decay = 0;
  std::string optimizer = "adam", attention = "efficient", schedule = "none";
  int threads = 0;
  uint64_t seed = 0;
  std::string data = "/usr/share/datasets/fashion-mnist", image_folder, save, resume, metrics, plot;
  bool eval_only = false, detect_anomaly = false, flush_denormal = true, augment = false;
  bool distributed = false;
  std::string log_steps;
  double link_gbps = 0, collective_timeout = 1800;  // seconds; PyTorch's default timeout
  double bucket_mb = 1.0;                           // DDP's gradient bucket, as bucket_cap_mb
  std::set<std::string> given;                      // the flags on the command line ("--lr", ...)
};

/// No upper bound, for finite_in and the checkpoint's numbers.
constexpr double kUnbounded = HUGE_VAL;

/// A finite number in [lo, hi] (or (lo, hi] with lo_open): CLI11's PositiveNumber lets NaN and
/// infinity through.
inline CLI::Validator finite_in(double lo, double hi = kUnbounded, bool lo_open = false) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        bool ok = end != text.c_str() && *end == '\0' && std::isfinite(v) &&
                  (lo_open ? v > lo : v >= lo) && v <= hi;
        if (ok) return "";
        return "expected a finite number in " + std::string(lo_open ? "(" : "[") +
               CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) +
               (std::isinf(hi) ? ")" : "]") + ", got " + text;
      },
      "FINITE");
}

/// Every flag of the program, bound to its field of `c`.
inline void add_flags(CLI::App& app, Config& c) {
  app.add_option("--model", c.model,
                 "fashionnet (W1; default: 2 epochs, batch 64, adam), vit (W5; default: 3 "
                 "epochs, batch 128, adamw with weight decay 0.05, onecycle) or scenes "
                 "(SceneNet on fashion scenes, per-pixel labels; default: 4 epochs, batch 32, "
                 "adam at 2e-3, onecycle) or rnn (FashionRNN: rows as a sequence through a "
                 "2-layer LSTM; default: 2 epochs, batch 64, adam at 2e-3, onecycle)")
      ->check(CLI::IsMember({"fashionnet", "vit", "scenes", "rnn"}));
  app.add_option("--epochs", c.epochs, "epochs to train (default: the model's)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--batch-size", c.batch_size, "batch size (default: the model's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  app.add_option("--lr", c.lr, "learning rate (OneCycleLR's max_lr)")
      ->check(finite_in(0, kUnbounded, /*lo_open=*/true));
  app.add_option("--optimizer", c.optimizer, "adam, adamw or sgd (momentum 0.9)")
      ->check(CLI::IsMember({"adam", "adamw", "sgd"}));
  app.add_option("--weight-decay", c.weight_decay,
                 "weight decay (adamw: decoupled, as torch.optim.AdamW; adam and sgd: L2)")
      ->check(finite_in(0));
  app.add_option("--schedule", c.schedule,
                 "learning-rate schedule: none or onecycle (OneCycleLR over all steps)")
      ->check(CLI::IsMember({"none", "onecycle"}));
  app.add_option("--attention", c.attention,
                 "efficient, dot (in blocks), dot-full (the whole map) or none (not for vit)")
      ->check(CLI::IsMember({"efficient", "dot", "dot-full", "none"}));
  app.add_option(
         "--threads", c.threads,
         "threads (default: all cores, or EMBER_NUM_THREADS); the results do not depend on it")
      ->check(CLI::Range(1, ember::kMaxThreads));
  app.add_option("--seed", c.seed,
                 "seed for initialisation and shuffling (as torch.manual_seed: the PyTorch "
                 "model gets the same initial weights and batches)");
  app.add_option("--data", c.data, "folder with MNIST-format IDX files (.gz or plain)");
  app.add_option("--image-folder", c.image_folder,
                 "folder with train/ and test/ class folders of images");
  app.add_option("--save", c.save, "checkpoint written after every epoch (safetensors)");
  app.add_option("--resume", c.resume, "checkpoint to continue from");
  app.add_option("--save-every", c.save_every,
                 "also write the --save checkpoint every this many steps within an epoch (it "
                 "records the position: --resume continues from the next batch, on any number of "
                 "ranks)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option("--stop-at-step", c.stop_at_step,
                 "end after this many training steps in all (counted from the first epoch's "
                 "first batch), writing the --save checkpoint there, to --resume later")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option("--stop-after", c.stop_after,
                 "end after this epoch, to --resume later (a job's time slice); the learning-rate "
                 "schedule still spans --epochs")
      ->check(CLI::Range(1, 1000000));
  app.add_flag("--augment,!--no-augment", c.augment,
               "augment training images: random crop (padding 2) and horizontal flip");
  app.add_flag("--distributed", c.distributed,
               "data parallelism over MPI: start with mpirun -np N; --batch-size is the global "
               "batch, split over the ranks");
  app.add_option("--bucket-mb", c.bucket_mb,
                 "distributed: size of the gradient buckets all-reduced while backward runs, in "
                 "MiB (default 1: see the README's bucket measurement)")
      ->check(finite_in(0, 1024, /*lo_open=*/true));
  app.add_option("--log-steps", c.log_steps, "file to append each step's training loss to");
  app.add_option("--simulate-link-gbps", c.link_gbps,
                 "distributed: make each gradient all-reduce last as long as on a link of this "
                 "many Gbit/s (shows how much of it backward hides)")
      ->check(finite_in(0));
  app.add_option("--collective-timeout", c.collective_timeout,
                 "distributed: seconds a collective may wait for the other ranks before the job "
                 "ends, naming the ranks that did not arrive (default 1800, as PyTorch's)")
      ->check(finite_in(0, 1e7, /*lo_open=*/true));
  app.add_flag("--eval-only", c.eval_only, "only evaluate the --resume checkpoint on the test set");
  app.add_option("--scenes", c.scenes,
                 "scenes: training scenes per epoch (the test set has a fifth as many)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  app.add_option("--limit", c.limit, "train (and test) on the first N images, for a quick try")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--metrics", c.metrics, "CSV of per-epoch metrics");
  app.add_option("--plot", c.plot, "SVG plot of loss and test accuracy per epoch");
  app.add_flag(
      "--flush-denormal,!--no-flush-denormal", c.flush_denormal,
      "flush denormal floats to zero in every thread (default on; see set_flush_denormal)");
  app.add_flag("--detect-anomaly", c.detect_anomaly,
               "stop at the first op whose backward makes NaN or Inf");
}

/// Parses the command line; nullopt when the run goes on, else the exit status: 0 after --help,
/// 2 for a usage error (CLI11's own codes, 105 and up, would read as crashes to a shell script).
inline std::optional<int> parse_flags(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
}

/// Notes which flags the command line gave (Config::given), after parsing.
inline void record_given(const CLI::App& app, Config& c) {
  for (const CLI::Option* option : app.get_options())
    if (option->count() > 0) c.given.insert(option->get_name());
}

/// Each model's recipe where the user set nothing: the peer's for FashionViT (WORKLOADS.md W5),
/// SceneNet's own.
inline void apply_model_defaults(Config& c) {
  auto unless_given = [&](const char* flag, auto& field, auto value) {
    if (!c.given.count(flag)) field = value;
  };
  if (c.model == "scenes") {
    unless_given("--epochs", c.epochs, 4);
    unless_given("--batch-size", c.batch_size, int64_t{32});
    unless_given("--lr", c.lr, 2e-3);
    unless_given("--schedule", c.schedule, std::string("onecycle"));
    return;
  }
  if (c.model == "rnn") {
    unless_given("--lr", c.lr, 2e-3);
    unless_given("--schedule", c.schedule, std::string("onecycle"));
    unless_given("--attention", c.attention, std::string("none"));
    return;
  }
  if (c.model != "vit") return;
  unless_given("--epochs", c.epochs, 3);
  unless_given("--batch-size", c.batch_size, int64_t{128});
  unless_given("--optimizer", c.optimizer, std::string("adamw"));
  unless_given("--weight-decay", c.weight_decay, 0.05);
  unless_given("--schedule", c.schedule, std::string("onecycle"));
}

}  // namespace ember::examples

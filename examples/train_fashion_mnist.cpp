// The main job: trains FashionNet (WORKLOADS.md W1) with efficient attention on Fashion-MNIST,
// or (--model vit) the small vision transformer FashionViT (W5), with one training loop.
//   ./build/examples/train_fashion_mnist --epochs 2 --save model.safetensors
//   ./build/examples/train_fashion_mnist --model vit --save vit.safetensors
// Each model brings its own defaults (the peer's): FashionNet trains 2 epochs of batch 64 with
// Adam; FashionViT 3 epochs of batch 128 with AdamW (weight decay 0.05) under OneCycleLR. A flag
// given on the command line overrides the model's default.
// Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), --data DIR for other
// MNIST-format files, or --image-folder DIR with train/ and test/ class folders inside.
// After every epoch: test loss and accuracy, the metrics CSV, and an atomic checkpoint (model,
// optimizer, epoch) that --resume continues from exactly. At the end: a summary and a plot
// (the CSV and the plot: training_log.h).
#include <ember/ember.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "fashion_net.h"
#include "fashion_vit.h"
#include "job_ranks.h"
#include "training_log.h"

using namespace ember;
using examples::EpochMetrics;
using examples::LossCurve;
namespace fs = std::filesystem;

namespace {

constexpr double kMean = 0.2860, kStd = 0.3530;

struct Config {
  std::string model = "fashionnet";
  int epochs = 2, stop_after = 0;
  int64_t batch_size = 64, limit = 0;
  double lr = 1e-3, weight_decay = 0;
  std::string optimizer = "adam", attention = "efficient", schedule = "none";
  int threads = 0;
  uint64_t seed = 0;
  std::string data = "/usr/share/datasets/fashion-mnist", image_folder, save, resume, metrics, plot;
  bool eval_only = false, detect_anomaly = false, flush_denormal = true, augment = false;
  bool distributed = false;
  std::string log_steps;
  double link_gbps = 0;
};

// --augment: torchvision's usual recipe for 28x28 images, on pixels in [0, 1], then the
// normalisation every image gets. Each training sample is transformed on the DataLoader's
// threads, from a generator seeded by (seed, epoch, sample).
data::Transform training_transform(const Config& c) {
  data::Transform normalize = data::Normalize({kMean}, {kStd});
  if (!c.augment) return normalize;
  return data::Compose({data::RandomCrop(28, 2), data::RandomHorizontalFlip(), normalize});
}

struct Split {
  std::shared_ptr<data::Dataset> train, test;
};

// Thrown for the "dataset not found" case, which exits with status 2.
struct MissingData {
  std::string message;
};

Split load_idx_split(const Config& c) {
  auto file = [&](const char* name) {
    for (std::string suffix : {".gz", ""}) {
      fs::path p = fs::path(c.data) / (std::string(name) + suffix);
      if (fs::exists(p)) return p.string();
    }
    throw MissingData{"Fashion-MNIST was not found in '" + c.data + "' (expected " + name +
                      "[.gz]).\nInstall it with:  sudo apt-get install dataset-fashion-mnist\n"
                      "or point --data at MNIST-format files, or --image-folder at a folder with "
                      "train/ and test/ inside."};
  };
  auto load = [&](const char* images, const char* labels, bool augment) {
    Tensor x = data::load_idx(file(images), kFloat32);
    Tensor y = data::load_idx(file(labels), kInt64);
    if (x.dim() != 3 || y.dim() != 1 || x.size(0) != y.size(0))
      fail("train_fashion_mnist: images ", shape_str(x.sizes()), " and labels ",
           shape_str(y.sizes()), " do not match");
    if (c.limit > 0 && c.limit < x.size(0)) {  // copies, so the full set can be freed
      x = clone(narrow(x, 0, 0, c.limit));
      y = clone(narrow(y, 0, 0, c.limit));
    }
    // Scaled in place, a chunk at a time: loading never holds a second copy of the images. An
    // augmented set keeps pixels in [0, 1] and normalises each sample after its transform.
    for (int64_t i = 0; i < x.size(0); i += 4096) {
      Tensor chunk = narrow(x, 0, i, std::min<int64_t>(4096, x.size(0) - i));
      chunk.copy_(augment ? chunk / 255.0 : (chunk / 255.0 - kMean) / kStd);
    }
    Tensor pixels = unsqueeze(x, 1);  // (N, 1, 28, 28)
    return std::make_shared<data::TensorDataset>(pixels, y.contiguous(),
                                                 augment ? training_transform(c) : nullptr);
  };
  return {load("train-images-idx3-ubyte", "train-labels-idx1-ubyte", c.augment),
          load("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", false)};
}

Split load_image_folder(const Config& c) {
  data::ImageFolderOptions test{
      .channels = 1, .height = 28, .width = 28, .transform = data::Normalize({kMean}, {kStd})};
  data::ImageFolderOptions train = test;
  train.transform = training_transform(c);
  for (const char* part : {"train", "test"})
    if (!fs::is_directory(fs::path(c.image_folder) / part))
      throw MissingData{"--image-folder '" + c.image_folder + "' has no " + part + "/ folder"};
  return {std::make_shared<data::ImageFolder>((fs::path(c.image_folder) / "train").string(), train),
          std::make_shared<data::ImageFolder>((fs::path(c.image_folder) / "test").string(), test)};
}

// A progress line per epoch: a bar on a terminal, plain lines (every 10%) otherwise.
class Progress {
 public:
  Progress(int epoch, int epochs, int64_t batches)
      : epoch_(epoch),
        epochs_(epochs),
        batches_(batches),
        tty_(isatty(STDOUT_FILENO)),
        start_(std::chrono::steady_clock::now()) {}

  void update(int64_t batch, double loss, double accuracy, int64_t images) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double rate = images / std::max(elapsed, 1e-9);
    double eta = elapsed / batch * (batches_ - batch);
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

 private:
  int epoch_, epochs_;
  int64_t batches_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

// Resident memory of this process now (VmRSS) or at its peak (VmHWM), from /proc/self/status
// (0 where unavailable).
double status_mib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(field.size())) / 1024.0;
  return 0;
}
double resident_mib() { return status_mib("VmRSS:"); }
double peak_resident_mib() { return status_mib("VmHWM:"); }

// Test loss and accuracy over the whole test set; distributed, each rank takes its shard and
// the sums are added over ranks.
std::pair<double, double> evaluate(nn::Module& model, const data::Dataset& test,
                                   const examples::Ranks& ranks) {
  model.eval();
  NoGradGuard no_grad;
  data::DataLoader loader(std::shared_ptr<const data::Dataset>(&test, [](const data::Dataset*) {}),
                          {.batch_size = 256, .sampler = ranks.shard(test.size(), false, 0)});
  std::vector<double> sums{0, 0};  // loss, correct
  while (auto batch = loader.next()) {
    Tensor out = model(batch->data);
    sums[0] +=
        nn::functional::cross_entropy(out, batch->targets, {.reduction = nn::Reduction::Sum})
            .item<double>();
    sums[1] += sum(eq(argmax(out, 1), batch->targets)).item<double>();
  }
  ranks.sum(sums);
  model.train();
  return {sums[0] / test.size(), sums[1] / test.size()};
}

// Images per second of evaluate() over the test set: the median of 3 timed passes after one
// warm-up pass, as the PyTorch peer measures it.
double inference_images_per_s(nn::Module& model, const data::Dataset& test,
                              const examples::Ranks& ranks) {
  std::vector<double> seconds;
  for (int pass = 0; pass < 4; ++pass) {
    auto t0 = std::chrono::steady_clock::now();
    evaluate(model, test, ranks);
    if (pass > 0)
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return static_cast<double>(test.size()) / seconds[1];
}

void save_checkpoint(const Config& c, const nn::Module& model, const optim::Optimizer& opt,
                     int epoch) {
  TensorMap all;
  for (auto& [k, v] : model.state_dict()) all.emplace("model." + k, v);
  for (auto& [k, v] : opt.state_dict()) all.emplace("optimizer." + k, v);
  save_safetensors(c.save, all,
                   {{"epoch", std::to_string(epoch)},
                    {"model", c.model},
                    {"attention", c.attention},
                    {"optimizer", c.optimizer},
                    {"schedule", c.schedule},
                    {"epochs", std::to_string(c.epochs)},
                    {"seed", std::to_string(c.seed)},
                    {"batch_size", std::to_string(c.batch_size)}});
}

// Loads model and optimizer state; returns the epoch the checkpoint finished. A checkpoint of
// another model or attention is refused, and so is a OneCycleLR one resumed with another
// --epochs: its schedule spans the epochs it was started with.
int load_checkpoint(const Config& c, nn::Module& model, optim::Optimizer* opt) {
  Metadata meta;
  TensorMap all = load_safetensors(c.resume, &meta);
  // `unrecorded`: what a checkpoint without the key means (older ones only knew FashionNet).
  auto refuse_other = [&](const std::string& key, const std::string& ours,
                          const std::string& unrecorded) {
    std::string theirs = meta.count(key) ? meta.at(key) : unrecorded;
    if (theirs != ours)
      fail("--resume: '", c.resume, "' was trained with --", key, " ", theirs, ", not ", ours);
  };
  refuse_other("model", c.model, "fashionnet");
  refuse_other("attention", c.attention, c.attention);
  if (opt) refuse_other("schedule", c.schedule, "none");
  if (opt && c.schedule == "onecycle")
    refuse_other("epochs", std::to_string(c.epochs), std::to_string(c.epochs));
  TensorMap model_state, opt_state;
  for (auto& [k, v] : all) {
    if (k.rfind("model.", 0) == 0)
      model_state.emplace(k.substr(6), v);
    else if (k.rfind("optimizer.", 0) == 0)
      opt_state.emplace(k.substr(10), v);
  }
  model.load_state_dict(model_state);
  if (opt && !opt_state.empty()) opt->load_state_dict(opt_state);
  return meta.count("epoch") ? std::stoi(meta.at("epoch")) : 0;
}

int run(const Config& c, const examples::Ranks& ranks) {
  if (!ranks.lead()) std::freopen("/dev/null", "w", stdout);  // rank 0 alone prints
  if (c.batch_size % ranks.world() != 0)
    fail("train_fashion_mnist: the batch of ", c.batch_size, " does not split over ",
         ranks.world(), " ranks");
  if (c.threads > 0) set_num_threads(c.threads);
  set_flush_denormal(c.flush_denormal);
  set_thread_count_invariant(true);  // --threads changes the speed, never the result
  Split split = c.image_folder.empty() ? load_idx_split(c) : load_image_folder(c);
  manual_seed(c.seed);
  std::shared_ptr<nn::Module> model;
  if (c.model == "vit")
    model = std::make_shared<examples::FashionViT>(c.attention);
  else
    model = std::make_shared<examples::FashionNet>(c.attention);
  std::unique_ptr<optim::Optimizer> opt;
  optim::AdamOptions adam{.lr = c.lr, .weight_decay = c.weight_decay};
  if (c.optimizer == "adam")
    opt = std::make_unique<optim::Adam>(model->parameters(), adam);
  else if (c.optimizer == "adamw")
    opt = std::make_unique<optim::AdamW>(model->parameters(), adam);
  else
    opt = std::make_unique<optim::SGD>(
        model->parameters(),
        optim::SGDOptions{.lr = c.lr, .momentum = 0.9, .weight_decay = c.weight_decay});
  int start = c.resume.empty() ? 0 : load_checkpoint(c, *model, opt.get());
  std::shared_ptr<nn::Module> trained = ranks.for_training(model, c.link_gbps);
  std::printf(
      "%s (attention: %s), %lld parameters, %d threads x %d ranks; %lld training and %lld test "
      "images\n%s; denormals %s\n",
      model->name().c_str(), c.attention.c_str(), (long long)nn::parameter_count(*model),
      get_num_threads(), ranks.world(), (long long)split.train->size(),
      (long long)split.test->size(), to_string(blas_info()).c_str(),
      flush_denormal() ? "flushed to zero" : "kept (IEEE)");
  if (c.eval_only) {
    auto [loss, acc] = evaluate(*model, *split.test, ranks);
    std::printf("test loss %.4f, test accuracy %.2f%%\n", loss, 100 * acc);
    return 0;
  }
  std::optional<autograd::DetectAnomalyGuard> anomaly;
  if (c.detect_anomaly) anomaly.emplace();
  data::DataLoader loader(split.train, {.batch_size = c.batch_size / ranks.world(),
                                       .shuffle = ranks.world() == 1 && !c.distributed,
                                       .seed = c.seed,
                                       .sampler = ranks.shard(split.train->size(), true, c.seed)});
  std::ofstream step_log;
  if (!c.log_steps.empty() && ranks.lead()) step_log.open(c.log_steps, std::ios::app);
  const int64_t steps_per_epoch = loader.batches_per_epoch();
  std::unique_ptr<optim::LRScheduler> schedule;  // stepped after every batch
  if (c.schedule == "onecycle") {
    schedule = std::make_unique<optim::OneCycleLR>(*opt, c.lr, c.epochs * steps_per_epoch);
    schedule->set_last_epoch(start * steps_per_epoch);
  }
  std::vector<EpochMetrics> rows;
  LossCurve curve(steps_per_epoch);
  int last = c.stop_after > 0 ? std::min(c.stop_after, c.epochs) : c.epochs;
  for (int epoch = start + 1; epoch <= last; ++epoch) {
    loader.start_epoch(epoch - 1);  // the loader counts epochs from 0
    Progress progress(epoch, c.epochs, loader.batches_per_epoch());
    double loss_sum = 0, correct = 0;
    int64_t seen = 0, batch_index = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (auto batch = loader.next()) {
      opt->zero_grad();
      Tensor out = (*trained)(batch->data);
      Tensor loss = nn::functional::cross_entropy(out, batch->targets);
      loss.backward();
      opt->step();
      if (schedule) schedule->step();
      int64_t b = batch->targets.size(0);
      double batch_loss = loss.item<double>();
      loss_sum += batch_loss * b;
      curve.add((epoch - 1) * steps_per_epoch + batch_index + 1, batch_loss);
      {
        NoGradGuard no_grad;
        correct += sum(eq(argmax(out, 1), batch->targets)).item<double>();
      }
      seen += b;
      progress.update(++batch_index, loss_sum / seen, correct / seen, seen);
      if (!c.log_steps.empty()) {  // the global batch's loss: every rank's part, weighted
        std::vector<double> step{batch_loss * b, static_cast<double>(b)};
        ranks.sum(step);
        if (ranks.lead()) step_log << std::setprecision(9) << step[0] / step[1] << "\n" << std::flush;
      }
    }
    std::vector<double> totals{loss_sum, correct, static_cast<double>(seen)};
    ranks.sum(totals);
    loss_sum = totals[0], correct = totals[1], seen = static_cast<int64_t>(totals[2]);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (std::string comm = ranks.communication_report(batch_index); !comm.empty())
      std::printf("%s\n", comm.c_str());
    auto [test_loss, test_acc] = evaluate(*model, *split.test, ranks);
    rows.push_back({epoch, loss_sum / seen, correct / seen, test_loss, test_acc, seen / seconds,
                    seconds, resident_mib()});
    std::printf(
        "epoch %d: train loss %.4f, train accuracy %.2f%%, %.0f img/s | test loss %.4f, test "
        "accuracy %.2f%% | resident %.0f MiB\n",
        epoch, loss_sum / seen, 100 * correct / seen, seen / seconds, test_loss, 100 * test_acc,
        rows.back().rss_mib);
    if (!c.save.empty() && ranks.lead()) save_checkpoint(c, *model, *opt, epoch);
    if (!c.metrics.empty() && ranks.lead()) examples::write_metrics(c.metrics, rows);
  }
  if (rows.empty()) {
    std::printf("nothing to train: the checkpoint already finished epoch %d of %d\n", start,
                c.epochs);
    return 0;
  }
  std::printf("\n%5s %11s %10s %10s %9s %8s\n", "epoch", "train loss", "train acc", "test loss",
              "test acc", "img/s");
  for (const auto& r : rows)
    std::printf("%5d %11.4f %9.2f%% %10.4f %8.2f%% %8.0f\n", r.epoch, r.train_loss,
                100 * r.train_accuracy, r.test_loss, 100 * r.test_accuracy, r.images_per_s);
  if (!c.plot.empty() && ranks.lead()) examples::write_plot(c.plot, rows, curve);
  std::printf("inference: %.0f img/s at batch 256 (median of 3 passes over the test set)\n",
              inference_images_per_s(*model, *split.test, ranks));
  std::printf("peak resident memory: %.0f MiB\n", peak_resident_mib());
  std::printf("final test accuracy: %.2f%%\n", 100 * rows.back().test_accuracy);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"Train FashionNet (or FashionViT) with attention on Fashion-MNIST"};
  app.add_option("--model", c.model,
                 "fashionnet (W1; default: 2 epochs, batch 64, adam) or vit (W5; default: 3 "
                 "epochs, batch 128, adamw with weight decay 0.05, onecycle)")
      ->check(CLI::IsMember({"fashionnet", "vit"}));
  app.add_option("--epochs", c.epochs, "epochs to train (default: the model's)")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch-size", c.batch_size, "batch size (default: the model's)")
      ->check(CLI::PositiveNumber);
  app.add_option("--lr", c.lr, "learning rate (OneCycleLR's max_lr)")->check(CLI::PositiveNumber);
  app.add_option("--optimizer", c.optimizer, "adam, adamw or sgd (momentum 0.9)")
      ->check(CLI::IsMember({"adam", "adamw", "sgd"}));
  app.add_option("--weight-decay", c.weight_decay,
                 "weight decay (adamw: decoupled, as torch.optim.AdamW; adam and sgd: L2)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--schedule", c.schedule,
                 "learning-rate schedule: none or onecycle (OneCycleLR over all steps)")
      ->check(CLI::IsMember({"none", "onecycle"}));
  app.add_option("--attention", c.attention, "efficient, dot or none (fashionnet only)")
      ->check(CLI::IsMember({"efficient", "dot", "none"}));
  app.add_option(
      "--threads", c.threads,
      "threads (default: all cores, or EMBER_NUM_THREADS); the results do not depend on it");
  app.add_option("--seed", c.seed,
                 "seed for initialisation and shuffling (as torch.manual_seed: the PyTorch "
                 "model gets the same initial weights and batches)");
  app.add_option("--data", c.data, "folder with MNIST-format IDX files (.gz or plain)");
  app.add_option("--image-folder", c.image_folder,
                 "folder with train/ and test/ class folders of images");
  app.add_option("--save", c.save, "checkpoint written after every epoch (safetensors)");
  app.add_option("--resume", c.resume, "checkpoint to continue from");
  app.add_option("--stop-after", c.stop_after,
                 "end after this epoch, to --resume later (a job's time slice); the learning-rate "
                 "schedule still spans --epochs")
      ->check(CLI::PositiveNumber);
  app.add_flag("--augment", c.augment,
               "augment training images: random crop (padding 2) and horizontal flip");
  app.add_flag("--distributed", c.distributed,
               "data parallelism over MPI: start with mpirun -np N; --batch-size is the global "
               "batch, split over the ranks");
  app.add_option("--log-steps", c.log_steps, "file to append each step's training loss to");
  app.add_option("--simulate-link-gbps", c.link_gbps,
                 "distributed: make each gradient all-reduce last as long as on a link of this "
                 "many Gbit/s (shows how much of it backward hides)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--eval-only", c.eval_only, "only evaluate the --resume checkpoint on the test set");
  app.add_option("--limit", c.limit, "train (and test) on the first N images, for a quick try");
  app.add_option("--metrics", c.metrics, "CSV of per-epoch metrics");
  app.add_option("--plot", c.plot, "SVG plot of loss and test accuracy per epoch");
  app.add_flag(
      "--flush-denormal,!--no-flush-denormal", c.flush_denormal,
      "flush denormal floats to zero in every thread (default on; see set_flush_denormal)");
  app.add_flag("--detect-anomaly", c.detect_anomaly,
               "stop at the first op whose backward makes NaN or Inf");
  CLI11_PARSE(app, argc, argv);
  if (c.model == "vit") {  // the peer's recipe (WORKLOADS.md W5), where the user set nothing
    auto unless_given = [&](const char* flag, auto& field, auto value) {
      if (app.count(flag) == 0) field = value;
    };
    unless_given("--epochs", c.epochs, 3);
    unless_given("--batch-size", c.batch_size, int64_t{128});
    unless_given("--optimizer", c.optimizer, std::string("adamw"));
    unless_given("--weight-decay", c.weight_decay, 0.05);
    unless_given("--schedule", c.schedule, std::string("onecycle"));
    if (c.attention == "none") {
      std::fprintf(stderr, "error: --model vit needs --attention efficient or dot\n");
      return 2;
    }
  }
  if (c.eval_only && c.resume.empty()) {
    std::fprintf(stderr, "error: --eval-only needs --resume CHECKPOINT\n");
    return 2;
  }
  std::unique_ptr<examples::Ranks> ranks;
  try {
    ranks = std::make_unique<examples::Ranks>(c.distributed);
    return run(c, *ranks);
  } catch (const MissingData& e) {
    if (ranks && ranks->world() > 1) return ranks->fail_job(e.message);
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 2;
  } catch (const ember::Error& e) {  // distributed: ends every rank, naming this one
    return ranks ? ranks->fail_job(e.what()) : (std::fprintf(stderr, "error: %s\n", e.what()), 1);
  }
}

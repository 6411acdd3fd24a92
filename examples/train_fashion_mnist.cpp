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
// optimizer, epoch) that --resume continues from exactly. At the end: a summary and a plot.
// The file reads top-down: configuration, data, model, optimizer and schedule, the loop, the
// run; the checkpoint, the log and the progress bar have headers of their own.
#include <ember/ember.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <optional>

#include "checkpoint.h"
#include "confusion.h"
#include "fashion_data.h"
#include "job_ranks.h"
#include "progress_bar.h"
#include "run_settings.h"
#include "train_config.h"
#include "training_log.h"

using namespace ember;
using examples::Config;
using examples::EpochMetrics;
using examples::LossCurve;

namespace {

// ---- data
examples::Split load_data(const Config& c) {
  if (c.model == "scenes") return examples::load_scenes(c.data, c.scenes, c.limit, c.seed);
  if (!c.image_folder.empty()) return examples::load_image_folder(c.image_folder, c.augment);
  return examples::load_fashion_mnist(c.data, c.limit, c.augment);
}

// ---- schedule (the model and optimizer: run_settings.h)
// Stepped after every batch; none for --schedule none. OneCycleLR's peak is the rate the
// optimizer was made with (so --lr enters once); made before a checkpoint is restored.
std::unique_ptr<optim::LRScheduler> make_schedule(const Config& c, optim::Optimizer& optimizer,
                                                  int64_t steps_per_epoch) {
  if (c.schedule != "onecycle") return nullptr;
  double peak = optimizer.param_groups().at(0).options.at("lr");
  return std::make_unique<optim::OneCycleLR>(optimizer, peak, c.epochs * steps_per_epoch);
}

// ---- the loop
// Test loss, accuracy and (per pixel) mean IoU over the whole test set; distributed, each rank
// takes its shard and the sums are added over ranks. The loss is the mean over every prediction
// counted, weighted as the training loss weighs it.
struct TestMetrics {
  double loss, accuracy, mean_iou;
};

TestMetrics evaluate(const Config& c, nn::Module& model, const data::Dataset& test,
                     const examples::Ranks& ranks) {
  model.eval();
  NoGradGuard no_grad;
  data::DataLoader loader(std::shared_ptr<const data::Dataset>(&test, [](const data::Dataset*) {}),
                          {.batch_size = 256, .sampler = ranks.shard(test.size(), false, 0)});
  nn::CrossEntropyArgs loss = examples::loss_args(c);
  loss.reduction = nn::Reduction::Sum;
  examples::Confusion confusion(examples::class_count(c));
  std::vector<double> sums{0};
  while (auto batch = loader.next()) {
    Tensor out = model(batch->data);
    sums[0] += nn::functional::cross_entropy(out, batch->targets, loss).item<double>();
    confusion.add(out, batch->targets);
  }
  ranks.sum(sums);
  confusion.sum_over([&](std::vector<double>& v) { ranks.sum(v); });
  double weight = 0;  // the predictions counted, each with its class's weight
  for (int64_t k = 0; k < examples::class_count(c); ++k)
    weight += confusion.target_count(k) *
              (loss.weight.defined() ? select(loss.weight, 0, k).item<double>() : 1.0);
  model.train();
  return {sums[0] / weight, confusion.accuracy(), confusion.mean_iou()};
}

// Images per second of evaluate() over the test set: the median of 3 timed passes after one
// warm-up pass, as the PyTorch peer measures it.
double inference_images_per_s(const Config& c, nn::Module& model, const data::Dataset& test,
                              const examples::Ranks& ranks) {
  std::vector<double> seconds;
  for (int pass = 0; pass < 4; ++pass) {
    auto t0 = std::chrono::steady_clock::now();
    evaluate(c, model, test, ranks);
    if (pass > 0)
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return static_cast<double>(test.size()) / seconds[1];
}

// What one epoch of training needs besides the model.
struct Trainer {
  const Config& config;
  const examples::Ranks& ranks;
  nn::Module& model;    // whose state the checkpoints hold
  nn::Module& trained;  // the model, or the model inside DistributedDataParallel
  optim::Optimizer& optimizer;
  optim::LRScheduler* schedule;
  data::DataLoader& loader;
  LossCurve& curve;
  std::ofstream& step_log;
};

[[noreturn]] void fail_on_loss(double loss, int epoch, int64_t step) {
  fail("train_fashion_mnist: the training loss is ", loss, " at epoch ", epoch, ", step ", step,
       "; stopped before the optimizer step (a lower --lr may help; --detect-anomaly names the op "
       "whose backward first makes NaN)");
}

// The --save checkpoint, taken at `at` (rank 0 writes it; every rank holds the same state).
void save(const Trainer& t, examples::Position at) {
  if (t.config.save.empty() || !t.ranks.lead()) return;
  examples::save_checkpoint(
      t.config.save, t.model, t.optimizer,
      examples::checkpoint_metadata(t.config, at, t.loader.batches_per_epoch()));
}

// One epoch, from batch `first` (0, or where a checkpoint taken mid-epoch stopped): every batch
// through forward, backward, the optimizer step and the schedule, with the --save-every
// checkpoints. Returns the training loss and accuracy over every rank's samples of this run, and
// the images seen; nothing when --stop-at-step ended the run inside the epoch.
std::optional<EpochMetrics> train_epoch(Trainer& t, int epoch, int64_t first) {
  t.loader.start_epoch(epoch - 1, first);  // the loader counts epochs from 0
  const int64_t steps_per_epoch = t.loader.batches_per_epoch();
  examples::Progress progress(epoch, t.config.epochs, steps_per_epoch, first);
  double loss_sum = 0;
  int64_t seen = 0, batch_index = first;
  const nn::CrossEntropyArgs loss_args = examples::loss_args(t.config);
  examples::Confusion confusion(examples::class_count(t.config));
  auto t0 = std::chrono::steady_clock::now();
  while (auto batch = t.loader.next()) {
    t.optimizer.zero_grad();
    Tensor out = t.trained(batch->data);
    Tensor loss = nn::functional::cross_entropy(out, batch->targets, loss_args);
    double batch_loss = loss.item<double>();
    // A NaN or infinite loss stops the run before the weights take it (the last checkpoint
    // stays good). Under --detect-anomaly the backward runs first, to name the op.
    bool finite = std::isfinite(batch_loss);
    if (!finite && !t.config.detect_anomaly) fail_on_loss(batch_loss, epoch, batch_index + 1);
    loss.backward();
    if (!finite) fail_on_loss(batch_loss, epoch, batch_index + 1);
    t.optimizer.step();
    if (t.schedule) t.schedule->step();
    int64_t b = batch->targets.size(0);
    loss_sum += batch_loss * b;
    t.curve.add((epoch - 1) * steps_per_epoch + batch_index + 1, batch_loss);
    confusion.add(out, batch->targets);
    seen += b;
    progress.update(++batch_index, loss_sum / seen, confusion.accuracy(), seen);
    if (!t.config.log_steps.empty()) {  // the global batch's loss: every rank's part, weighted
      std::vector<double> step{batch_loss * b, static_cast<double>(b)};
      t.ranks.sum(step);
      if (t.ranks.lead())
        t.step_log << std::setprecision(9) << step[0] / step[1] << "\n" << std::flush;
    }
    if (batch_index == steps_per_epoch) break;  // the epoch's end has a checkpoint of its own
    const examples::Position here{epoch - 1, batch_index};
    if (t.config.stop_at_step > 0 &&
        (epoch - 1) * steps_per_epoch + batch_index >= t.config.stop_at_step) {
      progress.interrupt();
      save(t, here);
      return std::nullopt;
    }
    if (t.config.save_every > 0 && batch_index % t.config.save_every == 0) save(t, here);
  }
  std::vector<double> totals{loss_sum, static_cast<double>(seen)};
  t.ranks.sum(totals);
  confusion.sum_over([&](std::vector<double>& v) { t.ranks.sum(v); });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (std::string comm = t.ranks.communication_report(batch_index); !comm.empty())
    std::printf("%s\n", comm.c_str());
  EpochMetrics m{};
  m.epoch = epoch;
  m.train_loss = totals[0] / totals[1];
  m.train_accuracy = confusion.accuracy();
  m.images_per_s = totals[1] / seconds;
  m.seconds = seconds;
  return m;
}

std::string miou_text(double miou) {
  char text[40];
  std::snprintf(text, sizeof text, ", test mIoU %.2f%%", 100 * miou);
  return text;
}

void print_summary(const std::vector<EpochMetrics>& rows) {
  std::printf("\n%5s %11s %10s %10s %9s %9s %8s\n", "epoch", "train loss", "train acc", "test loss",
              "test acc", "test mIoU", "img/s");
  for (const auto& r : rows)
    std::printf("%5d %11.4f %9.2f%% %10.4f %8.2f%% %8.2f%% %8.0f\n", r.epoch, r.train_loss,
                100 * r.train_accuracy, r.test_loss, 100 * r.test_accuracy, 100 * r.test_miou,
                r.images_per_s);
}

// Combinations of flags that cannot run: a usage error (exit status 2) before anything runs.
void check_usage(const Config& c) {
  if (c.model == "vit" && c.attention != "efficient" && c.attention != "dot")
    throw examples::UsageError{"--model vit needs --attention efficient or dot"};
  if (c.model == "rnn" && c.attention != "none")
    throw examples::UsageError{"--model rnn has no attention (--attention none)"};
  if (c.eval_only && c.resume.empty())
    throw examples::UsageError{"--eval-only needs --resume CHECKPOINT"};
  if (c.save_every > 0 && c.save.empty())
    throw examples::UsageError{"--save-every needs --save CHECKPOINT, the file it writes"};
}

// Every file the run writes, probed before any work: a bad path fails now, not after training.
void check_outputs(const Config& c, const examples::Ranks& ranks) {
  if (!ranks.lead()) return;  // rank 0 alone writes
  for (const auto& [flag, path] :
       {std::pair{"--save", c.save}, std::pair{"--metrics", c.metrics}, std::pair{"--plot", c.plot},
        std::pair{"--log-steps", c.log_steps}})
    if (!path.empty()) check_writable(path, flag);
}

// Threads, denormals and the ranks' share of each batch, before anything runs.
void configure(const Config& c, const examples::Ranks& ranks) {
  if (!ranks.lead()) std::freopen("/dev/null", "w", stdout);  // rank 0 alone prints
  if (c.batch_size % ranks.world() != 0)
    fail("train_fashion_mnist: the batch of ", c.batch_size, " does not split over ", ranks.world(),
         " ranks");
  if (c.threads > 0) set_num_threads(c.threads);
  set_flush_denormal(c.flush_denormal);
  set_thread_count_invariant(true);  // --threads changes the speed, never the result
}

// Each rank's part of the global batch; shuffled by the seed, or by the rank's sampler.
data::DataLoaderConfig loader_options(const Config& c, const examples::Ranks& ranks,
                                      int64_t samples) {
  return {.batch_size = c.batch_size / ranks.world(),
          .shuffle = ranks.world() == 1 && !c.distributed,
          .seed = c.seed,
          .sampler = ranks.shard(samples, true, c.seed)};
}

// ---- the run: configuration, data, model, optimizer and schedule, resume, the epochs
int run(Config c, const examples::Ranks& ranks) {
  std::optional<examples::Checkpoint> checkpoint;
  examples::Position start;
  if (!c.resume.empty()) {
    checkpoint = examples::read_checkpoint(c.resume);
    start = examples::settings_from(*checkpoint, c);
  } else {
    examples::apply_model_defaults(c);
  }
  check_usage(c);
  check_outputs(c, ranks);
  configure(c, ranks);
  examples::Split split = load_data(c);
  for (auto [part, set] : {std::pair{"training", split.train}, std::pair{"test", split.test}})
    if (set->size() == 0) fail("train_fashion_mnist: the ", part, " set is empty");
  data::DataLoader loader(split.train, loader_options(c, ranks, split.train->size()));
  const int64_t steps_per_epoch = loader.batches_per_epoch();
  ranks.agree({{"training images", split.train->size()},
               {"test images", split.test->size()},
               {"batches per epoch", steps_per_epoch}});
  manual_seed(c.seed);
  std::shared_ptr<nn::Module> model = examples::make_model(c);
  std::unique_ptr<optim::Optimizer> optimizer = examples::make_optimizer(c, *model);
  std::unique_ptr<optim::LRScheduler> schedule = make_schedule(c, *optimizer, steps_per_epoch);
  if (checkpoint) {
    examples::check_position(*checkpoint, c, start, steps_per_epoch);
    examples::restore(*checkpoint, c, *model, optimizer.get());
  }
  if (schedule) schedule->set_last_epoch(start.epoch * steps_per_epoch + start.step);
  std::shared_ptr<nn::Module> trained = ranks.for_training(model, c.link_gbps, c.bucket_mb);
  std::printf(
      "%s (attention: %s), %lld parameters, %d threads x %d ranks; %lld training and %lld test "
      "images\n%s; denormals %s\n",
      model->name().c_str(), c.attention.c_str(), (long long)nn::parameter_count(*model),
      get_num_threads(), ranks.world(), (long long)split.train->size(),
      (long long)split.test->size(), to_string(blas_info()).c_str(),
      flush_denormal() ? "flushed to zero" : "kept (IEEE)");
  if (c.eval_only) {
    TestMetrics t = evaluate(c, *model, *split.test, ranks);
    std::printf("test loss %.4f, test accuracy %.2f%%, test mIoU %.2f%%\n", t.loss,
                100 * t.accuracy, 100 * t.mean_iou);
    return 0;
  }
  std::optional<autograd::DetectAnomalyGuard> anomaly;
  if (c.detect_anomaly) anomaly.emplace();
  std::ofstream step_log;
  if (!c.log_steps.empty() && ranks.lead()) {
    step_log.open(c.log_steps, std::ios::app);
    if (!step_log) fail("--log-steps: cannot open '", c.log_steps, "' to append to");
  }
  std::vector<EpochMetrics> rows;
  LossCurve curve(steps_per_epoch);
  Trainer trainer{c, ranks, *model, *trained, *optimizer, schedule.get(), loader, curve, step_log};
  int last = c.stop_after > 0 ? std::min(c.stop_after, c.epochs) : c.epochs;
  if (c.stop_at_step > 0 && start.epoch * steps_per_epoch + start.step >= c.stop_at_step) {
    std::printf("nothing to train: the checkpoint is at step %lld, --stop-at-step %lld\n",
                (long long)(start.epoch * steps_per_epoch + start.step), (long long)c.stop_at_step);
    return 0;
  }
  if (start.step > 0)
    std::printf(
        "--resume: epoch %d continues at batch %lld of %lld (its training loss and "
        "accuracy count the batches from there)\n",
        start.epoch + 1, (long long)start.step + 1, (long long)steps_per_epoch);
  for (int epoch = start.epoch + 1; epoch <= last; ++epoch) {
    if (c.stop_at_step > 0 && (epoch - 1) * steps_per_epoch >= c.stop_at_step) break;
    std::optional<EpochMetrics> trained_epoch =
        train_epoch(trainer, epoch, epoch == start.epoch + 1 ? start.step : 0);
    if (!trained_epoch) {
      std::printf("stopped after step %lld (--stop-at-step), at batch %lld of epoch %d%s\n",
                  (long long)c.stop_at_step,
                  (long long)(c.stop_at_step - (epoch - 1) * steps_per_epoch), epoch,
                  c.save.empty() ? "" : "; the checkpoint --resume continues from is written");
      return 0;
    }
    EpochMetrics m = *trained_epoch;
    TestMetrics test = evaluate(c, *model, *split.test, ranks);
    m.test_loss = test.loss;
    m.test_accuracy = test.accuracy;
    m.test_miou = test.mean_iou;
    m.rss_mib = examples::resident_mib();
    rows.push_back(m);
    std::printf(
        "epoch %d: train loss %.4f, train accuracy %.2f%%, %.0f img/s | test loss %.4f, test "
        "accuracy %.2f%%%s | resident %.0f MiB\n",
        epoch, m.train_loss, 100 * m.train_accuracy, m.images_per_s, m.test_loss,
        100 * m.test_accuracy, c.model == "scenes" ? miou_text(m.test_miou).c_str() : "",
        m.rss_mib);
    save(trainer, {epoch, 0});
    if (!c.metrics.empty() && ranks.lead()) examples::write_metrics(c.metrics, rows);
  }
  if (rows.empty()) {
    std::printf("nothing to train: the checkpoint already finished epoch %d of %d\n", start.epoch,
                c.epochs);
    return 0;
  }
  print_summary(rows);
  if (!c.plot.empty() && ranks.lead()) examples::write_plot(c.plot, rows, curve);
  std::printf("inference: %.0f img/s at batch 256 (median of 3 passes over the test set)\n",
              inference_images_per_s(c, *model, *split.test, ranks));
  std::printf("peak resident memory: %.0f MiB\n", examples::peak_resident_mib());
  std::printf("final test accuracy: %.2f%%%s\n", 100 * rows.back().test_accuracy,
              c.model == "scenes" ? miou_text(rows.back().test_miou).c_str() : "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"Train FashionNet (or FashionViT) with attention on Fashion-MNIST"};
  examples::add_flags(app, c);
  if (std::optional<int> status = examples::parse_flags(app, argc, argv)) return *status;
  examples::record_given(app, c);
  std::unique_ptr<examples::Ranks> ranks;
  try {
    ranks = std::make_unique<examples::Ranks>(c.distributed, c.collective_timeout);
    return run(c, *ranks);
  } catch (const examples::MissingData& e) {
    if (ranks && ranks->world() > 1) return ranks->fail_job(e.message);
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 2;
  } catch (const examples::UsageError& e) {
    if (ranks && ranks->world() > 1) return ranks->fail_job(e.message);
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 2;
  } catch (const ember::Error& e) {  // distributed: ends every rank, naming this one
    return ranks ? ranks->fail_job(e.what()) : (std::fprintf(stderr, "error: %s\n", e.what()), 1);
  }
}

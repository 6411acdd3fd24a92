// The run's settings and what they make: the model and the optimizer they name, and their record
// in the checkpoint, written beside the state after every epoch, read back on --resume and
// reconciled with the flags given (adopted, honoured with a note, or refused where the state or
// the schedule depends on them) before the state is restored. Every value read is untrusted
// (checkpoint.h parses it).
#pragma once

#include <ember/ember.h>

#include <cstdio>
#include <iomanip>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "checkpoint.h"
#include "fashion_data.h"  // kClasses
#include "fashion_net.h"
#include "fashion_rnn.h"
#include "fashion_vit.h"
#include "scene_net.h"
#include "train_config.h"

namespace ember::examples {

/// The model the settings name: FashionNet, FashionViT or SceneNet with their attention, or
/// FashionRNN.
inline std::shared_ptr<nn::Module> make_model(const Config& c) {
  if (c.model == "vit") return std::make_shared<FashionViT>(c.attention);
  if (c.model == "rnn") return std::make_shared<FashionRNN>();
  if (c.model == "scenes") return std::make_shared<SceneNet>(c.attention);
  return std::make_shared<FashionNet>(c.attention);
}

/// The classes the model tells apart: Fashion-MNIST's ten, or the scenes' three per pixel.
inline int64_t class_count(const Config& c) {
  return c.model == "scenes" ? SceneNet::kClasses : static_cast<int64_t>(kClasses);
}

/// The loss's settings: the scenes weigh background pixels, about 70% of those counted, less
/// (so that a model cannot score well by painting everything background).
inline nn::CrossEntropyArgs loss_args(const Config& c) {
  if (c.model != "scenes") return {};
  return {.weight = tensor({0.3, 1.0, 1.0})};
}

/// The optimizer the settings name over `model`'s parameters (SGD with momentum 0.9).
inline std::unique_ptr<optim::Optimizer> make_optimizer(const Config& c, const nn::Module& model) {
  optim::AdamConfig adam{.lr = c.lr, .weight_decay = c.weight_decay};
  if (c.optimizer == "adam") return std::make_unique<optim::Adam>(model.parameters(), adam);
  if (c.optimizer == "adamw") return std::make_unique<optim::AdamW>(model.parameters(), adam);
  return std::make_unique<optim::SGD>(
      model.parameters(),
      optim::SGDConfig{.lr = c.lr, .momentum = 0.9, .weight_decay = c.weight_decay});
}

// A number as text that reads back to the same double.
inline std::string number_text(double v) {
  std::ostringstream out;
  out << std::setprecision(17) << v;
  return out.str();
}

/// Where a checkpoint was taken: after `epoch` whole epochs and `step` batches of the next one (0
/// at an epoch's end).
struct Position {
  int epoch = 0;
  int64_t step = 0;
};

/// The order the training batches come in: the DistributedSampler's under --distributed (the
/// same global batches on any number of ranks), else the loader's own shuffle.
inline std::string batch_order(const Config& c) { return c.distributed ? "distributed" : "loader"; }

/// The settings a checkpoint records beside the state (every one settings_from reads back), and
/// its position in an epoch of `steps_per_epoch` batches.
inline Metadata checkpoint_metadata(const Config& c, Position at, int64_t steps_per_epoch) {
  return {{"epoch", std::to_string(at.epoch)},
          {"step", std::to_string(at.step)},
          {"steps_per_epoch", std::to_string(steps_per_epoch)},
          {"order", batch_order(c)},
          {"model", c.model},
          {"attention", c.attention},
          {"optimizer", c.optimizer},
          {"schedule", c.schedule},
          {"epochs", std::to_string(c.epochs)},
          {"seed", std::to_string(c.seed)},
          {"batch_size", std::to_string(c.batch_size)},
          {"lr", number_text(c.lr)},
          {"weight_decay", number_text(c.weight_decay)},
          {"augment", c.augment ? "1" : "0"},
          {"scenes", std::to_string(c.scenes)}};
}

// A setting the checkpoint recorded: adopted when its flag was not given; given with another
// value, honoured (a note says so, unless `quiet`) or, when `fixed` says why it cannot change,
// refused.
template <typename T>
void reconcile(Config& c, const std::string& flag, T& field, const std::optional<T>& recorded,
               const char* fixed = nullptr, bool quiet = false) {
  if (!recorded || *recorded == field) return;
  if (!c.given.count(flag)) {
    field = *recorded;
    return;
  }
  std::ostringstream theirs, ours;
  theirs << *recorded;
  ours << field;
  if (fixed)
    throw UsageError{"--resume: '" + c.resume + "' was trained with " + flag + " " + theirs.str() +
                     ", not " + ours.str() + " (" + fixed + "; leave " + flag +
                     " out to continue it)"};
  if (quiet) return;
  std::printf("--resume: continuing with %s %s (the checkpoint's run had %s)\n", flag.c_str(),
              ours.str().c_str(), theirs.str().c_str());
}

// The run's settings from the checkpoint, as reconcile decides for each; returns where it was
// taken. A checkpoint without a key is an older one: FashionNet, no schedule.
inline Position settings_from(const Checkpoint& k, Config& c) {
  const char* other_model = "its weights belong to that model";
  reconcile(c, "--model", c.model,
            std::optional(metadata_choice(k, "model", {"fashionnet", "vit", "scenes", "rnn"})
                              .value_or("fashionnet")),
            other_model);
  apply_model_defaults(c);
  reconcile(c, "--attention", c.attention,
            metadata_choice(k, "attention", {"efficient", "dot", "dot-full", "none"}), other_model);
  reconcile(c, "--optimizer", c.optimizer,
            metadata_choice(k, "optimizer", {"adam", "adamw", "sgd"}),
            "its optimizer state belongs to that optimizer");
  reconcile(c, "--schedule", c.schedule,
            std::optional(metadata_choice(k, "schedule", {"none", "onecycle"}).value_or("none")),
            "the learning rates so far followed it");
  const char* cycle =
      c.schedule == "onecycle" ? "OneCycleLR's schedule spans the steps it started with" : nullptr;
  // Without a schedule, --epochs is where the resumed run ends: no note needed.
  reconcile(c, "--epochs", c.epochs, metadata_int<int>(k, "epochs", 1, 1000000), cycle,
            /*quiet=*/true);
  reconcile(c, "--batch-size", c.batch_size,
            metadata_int<int64_t>(k, "batch_size", 1, int64_t{1} << 24), cycle);
  reconcile(c, "--scenes", c.scenes, metadata_int<int64_t>(k, "scenes", 1, int64_t{1} << 24),
            cycle);
  reconcile(c, "--seed", c.seed, metadata_int<uint64_t>(k, "seed", 0, UINT64_MAX));
  reconcile(c, "--lr", c.lr, metadata_number(k, "lr", 0, kUnbounded), cycle);
  reconcile(c, "--weight-decay", c.weight_decay, metadata_number(k, "weight_decay", 0, kUnbounded));
  std::optional<std::string> augment = metadata_choice(k, "augment", {"0", "1"});
  reconcile(c, "--augment", c.augment, augment ? std::optional(*augment == "1") : std::nullopt);
  return {metadata_int<int>(k, "epoch", 0, 1000000).value_or(0),
          metadata_int<int64_t>(k, "step", 0, int64_t{1} << 40).value_or(0)};
}

/// A checkpoint taken mid-epoch continues at its next batch only where that batch is the same:
/// the same batches per epoch (the global batch and the data; the number of ranks may differ)
/// and the same order of batches. Checked once the data are loaded.
inline void check_position(const Checkpoint& k, const Config& c, Position at,
                           int64_t steps_per_epoch) {
  if (at.step == 0) return;  // at an epoch's end every order and split continues alike
  auto batch = metadata_int<int64_t>(k, "batch_size", 1, int64_t{1} << 24);
  if (batch && *batch != c.batch_size)
    throw UsageError{"--resume: '" + c.resume + "' was taken mid-epoch with --batch-size " +
                     std::to_string(*batch) + ", not " + std::to_string(c.batch_size) +
                     " (its next batch exists only in that size; leave --batch-size out)"};
  int64_t recorded = metadata_int<int64_t>(k, "steps_per_epoch", 1, int64_t{1} << 40).value_or(0);
  if (recorded != steps_per_epoch || at.step >= steps_per_epoch)
    throw UsageError{"--resume: '" + c.resume + "' was taken at step " + std::to_string(at.step) +
                     " of an epoch of " + std::to_string(recorded) +
                     " steps; this run's epochs have " + std::to_string(steps_per_epoch) +
                     " (other data, or a number of ranks that pads each rank's share differently)"};
  std::string order = metadata_choice(k, "order", {"distributed", "loader"}).value_or("loader");
  if (order != batch_order(c))
    throw UsageError{"--resume: '" + c.resume + "' was taken mid-epoch by a run " +
                     (order == "distributed" ? "with" : "without") +
                     " --distributed, whose batches come in another order; resume it " +
                     (order == "distributed" ? "with" : "without") + " --distributed"};
}

// Restores the checkpoint's state, then applies the rate and weight decay given on the command
// line (the checkpoint's optimizer state holds its own). Under OneCycleLR --lr cannot change
// (settings_from refused it), so no schedule's base rate needs it.
inline void restore(const Checkpoint& k, const Config& c, nn::Module& model,
                    optim::Optimizer* optimizer) {
  restore_checkpoint(k, model, optimizer);
  if (!optimizer) return;
  for (optim::ParamGroup& g : optimizer->param_groups()) {
    if (c.given.count("--lr")) g.options["lr"] = c.lr;
    if (c.given.count("--weight-decay")) g.options["weight_decay"] = c.weight_decay;
  }
}

}  // namespace ember::examples

// Datasets and the DataLoader, as torch.utils.data: a Dataset gives examples by index; the
// DataLoader batches them, shuffles from a seed (the same order for the same seed, at any thread
// count), prepares batches in parallel and the next batch while the current one trains.
//   data::DataLoader loader(dataset, {.batch_size = 64, .shuffle = true, .seed = 0});
//   for (int64_t epoch = 0; ...) { loader.start_epoch(epoch); while (auto batch = loader.next())
//   ... }
// Read next: transforms.h, image_folder.h.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "../core/options_builder.h"
#include "../core/random.h"
#include "../core/tensor.h"
#include "sampler.h"
#include "transforms.h"

namespace ember::data {

/// One sample and its label; a batch is one too, stacked (libtorch's Example<>).
template <typename Data = Tensor, typename Target = Tensor>
struct Example {
  Data data;      // one sample, e.g. (C, H, W)
  Target target;  // its label, a 0-dim int64 tensor
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  /// Example i; `gen` supplies randomness for augmentation (seeded per epoch and index).
  virtual Example<> get(int64_t i, Generator& gen) const = 0;
};

/// Examples are rows of `data` and `targets` (the first dim indexes samples), each passed through
/// `transform` when one is given (augmentation, run per sample on the DataLoader's threads).
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor data, Tensor targets, Transform transform = nullptr);
  int64_t size() const override { return data_.size(0); }
  Example<> get(int64_t i, Generator& gen) const override;
  const Tensor& data() const { return data_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor data_, targets_;
  Transform transform_;
};

struct Batch {
  Tensor data;     // (B, ...)
  Tensor targets;  // (B)
};

struct DataLoaderConfig {
  int64_t batch_size = 64;
  bool shuffle = false;
  uint64_t seed = 0;
  bool drop_last = false;
  bool prefetch = true;  // prepare the next batch while the current one is used
  /// Replaces the shuffled or sequential order (with shuffle = false, as PyTorch requires).
  std::shared_ptr<const Sampler> sampler = nullptr;
};

/// libtorch's data::DataLoaderOptions(batch_size), for make_data_loader. workers(0) makes each
/// batch when it is asked for; workers(n >= 1) also prepares the next one on a background
/// thread (ember prepares a batch's examples in parallel on its own threads either way).
class DataLoaderOptions : public OptionsBuilder<DataLoaderOptions, DataLoaderConfig> {
 public:
  DataLoaderOptions(int64_t batch_size = 1) { config_.batch_size = batch_size; }  // NOLINT
  DataLoaderOptions& batch_size(int64_t v) { return set(&DataLoaderConfig::batch_size, v); }
  DataLoaderOptions& drop_last(bool v) { return set(&DataLoaderConfig::drop_last, v); }
  DataLoaderOptions& workers(int64_t v) {
    if (v < 0) fail("DataLoaderOptions: workers must be 0 or more, got ", v);
    return set(&DataLoaderConfig::prefetch, v > 0);
  }
  int64_t batch_size() const { return config_.batch_size; }
  bool drop_last() const { return config_.drop_last; }
  int64_t workers() const { return config_.prefetch ? 1 : 0; }
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, const DataLoaderConfig& options);
  ~DataLoader();
  /// Starts epoch `epoch` (counting from 0). Its order is a function of (seed, epoch) alone: the
  /// (epoch+1)-th torch.randperm(n, generator=g) drawn from g =
  /// torch.Generator().manual_seed(seed), as a PyTorch training loop that shuffles with its own
  /// generator gets them. `first_batch` > 0 resumes the epoch there, as a job restarted from a
  /// checkpoint taken mid-epoch: the order is the same, the first `first_batch` batches are
  /// skipped (not made).
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  /// The next batch of this epoch, or nothing at its end.
  std::optional<Batch> next();
  int64_t batches_per_epoch() const;
  const Dataset& dataset() const { return *dataset_; }

  /// A range-for over the loader runs one epoch, batch by batch, each an Example<> of stacked
  /// tensors (libtorch's `for (auto& batch : *loader)`): the current epoch if none of its batches
  /// was taken yet (epoch 0 at first, or the one start_epoch() began, from its first batch), else
  /// the next one.
  class Iterator {
   public:
    explicit Iterator(DataLoader* loader) : loader_(loader) { ++*this; }
    Example<>& operator*() { return *current_; }
    Example<>* operator->() { return &*current_; }
    Iterator& operator++();
    bool operator==(std::default_sentinel_t) const { return !current_; }

   private:
    DataLoader* loader_;
    std::optional<Example<>> current_;
  };
  Iterator begin();
  std::default_sentinel_t end() const { return {}; }

 private:
  void set_order(int64_t epoch);  // order_ for `epoch`: the sampler's, shuffled, or sequential
  Batch make_batch(int64_t index) const;
  // Prefetching: one long-lived worker thread builds the batch after the one handed out.
  void request(int64_t index);               // asks the worker for batch `index`
  std::optional<Batch> take(int64_t index);  // that batch if it was requested (waits for it)
  void cancel();                             // waits for the worker, then drops any request
  void work();                               // the worker's loop

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderConfig options_;
  int64_t epoch_ = 0, next_batch_ = 0, first_batch_ = 0;
  std::vector<int64_t> order_;
  // The shuffling generator after drawing the order of epoch `shuffled_epoch_`, so consecutive
  // epochs continue it; any other epoch replays the draws from the seed.
  Generator shuffle_gen_;
  int64_t shuffled_epoch_ = -1;

  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t requested_ = -1;  // the batch asked for or built, -1 for none
  bool building_ = false, stop_ = false;
  std::optional<Batch> ready_;
  std::exception_ptr error_;
  std::thread worker_;
};

}  // namespace ember::data

// TensorDataset and DataLoader; see dataset.h.
#include "dataset.h"

#include "../autograd/ops.h"
#include "../core/parallel.h"

namespace ember::data {
namespace {

// The seed of sample `sample`'s augmentation in epoch `epoch`: (seed, epoch, sample) hashed
// (splitmix64 steps) so that nearby triples give unrelated 32-bit engine seeds.
uint64_t augmentation_seed(uint64_t seed, int64_t epoch, int64_t sample) {
  uint64_t x = seed;
  for (uint64_t v : {static_cast<uint64_t>(epoch), static_cast<uint64_t>(sample)}) {
    x ^= v + 0x9E3779B97F4A7C15ull + (x << 6) + (x >> 2);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
  }
  return x ^ (x >> 32);  // the engine keeps the low 32 bits: fold the high ones in
}

}  // namespace

TensorDataset::TensorDataset(Tensor data, Tensor targets, Transform transform)
    : data_(std::move(data)), targets_(std::move(targets)), transform_(std::move(transform)) {
  if (data_.dim() < 1 || targets_.dim() < 1 || data_.size(0) != targets_.size(0))
    fail("TensorDataset: data ", shape_str(data_.sizes()), " and targets ",
         shape_str(targets_.sizes()), " must have the same number of samples");
}

Example<> TensorDataset::get(int64_t i, Generator& gen) const {
  if (i < 0 || i >= size())
    fail("TensorDataset: index ", i, " out of range for ", size(), " samples");
  Tensor sample = select(data_, 0, i);
  return {transform_ ? transform_(sample, gen) : sample, select(targets_, 0, i)};
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, const DataLoaderConfig& options)
    : dataset_(std::move(dataset)), options_(options), shuffle_gen_(options.seed) {
  if (!dataset_) fail("DataLoader: no dataset");
  if (options_.batch_size < 1)
    fail("DataLoader: batch_size must be positive, got ", options_.batch_size);
  if (options_.sampler && options_.shuffle)
    fail("DataLoader: a sampler gives the order itself; shuffle must be false with a sampler");
  start_epoch(0);
}

DataLoader::~DataLoader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int64_t DataLoader::batches_per_epoch() const {
  int64_t n = static_cast<int64_t>(order_.size()), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  if (epoch < 0) fail("DataLoader: epoch must be non-negative, got ", epoch);
  cancel();  // the worker reads the order being replaced
  epoch_ = epoch;
  next_batch_ = first_batch_ = 0;
  set_order(epoch);
  if (first_batch < 0 || first_batch > batches_per_epoch())
    fail("DataLoader: epoch ", epoch, " has ", batches_per_epoch(),
         " batches; cannot start it at batch ", first_batch);
  next_batch_ = first_batch_ = first_batch;
}

void DataLoader::set_order(int64_t epoch) {
  int64_t n = dataset_->size();
  if (options_.sampler) {
    order_ = options_.sampler->indices(epoch);
    for (int64_t i : order_)
      if (i < 0 || i >= n)
        fail("DataLoader: the sampler gave index ", i, " for a dataset of ", n, " samples");
  } else if (options_.shuffle) {
    if (epoch == shuffled_epoch_) return;  // order_ already holds this epoch's order
    if (epoch < shuffled_epoch_) {         // back to the seed; the draws up to `epoch` are replayed
      shuffle_gen_.manual_seed(options_.seed);
      shuffled_epoch_ = -1;
    }
    Tensor perm;
    while (shuffled_epoch_ < epoch) {
      perm = randperm(n, &shuffle_gen_);
      ++shuffled_epoch_;
    }
    order_.assign(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n);
  } else {
    order_.resize(n);
    for (int64_t i = 0; i < n; ++i) order_[i] = i;
  }
}

// Batch `index` of this epoch: examples decoded in parallel (each with a generator seeded from
// (seed, epoch, sample), so augmentation does not depend on the thread count), then stacked.
Batch DataLoader::make_batch(int64_t index) const {
  NoGradGuard no_grad;
  int64_t begin = index * options_.batch_size;
  int64_t end = std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(order_.size()));
  std::vector<Example<>> examples(end - begin);
  parallel_for(0, end - begin, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      int64_t sample = order_[begin + i];
      Generator gen(augmentation_seed(options_.seed, epoch_, sample));
      examples[i] = dataset_->get(sample, gen);
    }
  });
  std::vector<Tensor> data, targets;
  for (const Example<>& e : examples) {
    data.push_back(e.data);
    targets.push_back(e.target);
  }
  return {stack(data, 0), stack(targets, 0)};
}

DataLoader::Iterator DataLoader::begin() {
  if (next_batch_ > first_batch_) start_epoch(epoch_ + 1);
  return Iterator(this);
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  current_.reset();
  if (std::optional<Batch> batch = loader_->next())
    current_ = Example<>{std::move(batch->data), std::move(batch->targets)};
  return *this;
}

std::optional<Batch> DataLoader::next() {
  if (next_batch_ >= batches_per_epoch()) return std::nullopt;
  std::optional<Batch> batch = take(next_batch_);
  if (!batch) batch = make_batch(next_batch_);
  ++next_batch_;
  if (options_.prefetch && next_batch_ < batches_per_epoch()) request(next_batch_);
  return batch;
}

void DataLoader::request(int64_t index) {
  {
    std::lock_guard lock(mutex_);
    requested_ = index;
    ready_.reset();
    error_ = nullptr;
  }
  if (!worker_.joinable()) worker_ = std::thread([this] { work(); });
  changed_.notify_all();
}

std::optional<Batch> DataLoader::take(int64_t index) {
  std::unique_lock lock(mutex_);
  if (requested_ != index) return std::nullopt;
  changed_.wait(lock, [&] { return ready_ || error_; });
  requested_ = -1;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  return std::exchange(ready_, std::nullopt);
}

void DataLoader::cancel() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !building_; });
  requested_ = -1;  // in the same critical section: the worker cannot claim it in between
  ready_.reset();
  error_ = nullptr;
}

void DataLoader::work() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock,
                  [&] { return stop_ || (requested_ >= 0 && !ready_ && !error_ && !building_); });
    if (stop_) return;
    int64_t index = requested_;
    building_ = true;
    lock.unlock();
    std::optional<Batch> batch;
    std::exception_ptr error;
    try {
      batch = make_batch(index);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    building_ = false;
    if (requested_ == index) {  // still wanted
      ready_ = std::move(batch);
      error_ = error;
    }
    changed_.notify_all();
  }
}

}  // namespace ember::data

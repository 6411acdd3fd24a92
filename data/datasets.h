// libtorch's data API over ember's loader, so that libtorch's MNIST example reads as written:
//   auto train = data::datasets::MNIST(root)
//                    .map(data::transforms::Normalize<>(0.1307, 0.3081))
//                    .map(data::transforms::Stack<>());
//   auto loader = data::make_data_loader<data::samplers::SequentialSampler>(std::move(train), 64);
//   for (data::Example<>& batch : *loader) { ... batch.data, batch.target ... }
// Underneath is ember's DataLoader (dataset.h): batches stacked, prepared on threads, shuffled
// from a seed. Read next: dataset.h.
#pragma once

#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataset.h"
#include "transforms.h"

namespace ember::data {

namespace transforms {

/// Collates examples into a batch. ember's loader always stacks, so this marks a dataset as
/// libtorch's Stack<> does and changes nothing else.
template <typename T = Example<>>
struct Stack {};

/// (x - mean) / stddev per channel, one value for every channel or one per channel.
template <typename Target = Tensor>
struct Normalize {
  Normalize(double mean, double stddev) : transform(data::Normalize({mean}, {stddev})) {}
  Normalize(std::vector<double> mean, std::vector<double> stddev)
      : transform(data::Normalize(std::move(mean), std::move(stddev))) {}
  Transform transform;
};

}  // namespace transforms

/// A seed for a shuffling loader, drawn from the global generator (so manual_seed fixes it).
uint64_t loader_seed();

namespace samplers {
/// Which order make_data_loader's loader gives: shuffled every epoch (libtorch's default) or
/// sequential. ember's shuffling is its own (DataLoader: a seed, here drawn from the global
/// generator, so manual_seed fixes it); it is not libtorch's order.
struct RandomSampler {};
struct SequentialSampler {};
}  // namespace samplers

/// A dataset with transforms applied to each example, what libtorch's dataset.map(t) returns;
/// make_data_loader takes it. Not itself a Dataset: its size() is libtorch's (an optional).
class MapDataset {
 public:
  explicit MapDataset(std::shared_ptr<const Dataset> source, std::vector<Transform> transforms = {})
      : source_(std::move(source)), transforms_(std::move(transforms)) {}
  std::optional<size_t> size() const { return static_cast<size_t>(source_->size()); }
  /// Another transform, applied to each example's data after those before it.
  MapDataset map(const transforms::Normalize<>& normalize) &&;
  template <typename T>
  MapDataset map(const transforms::Stack<T>&) && {
    return std::move(*this);
  }
  /// The examples with the transforms applied, as an ember Dataset (for a DataLoader).
  std::shared_ptr<const Dataset> dataset() const;

 private:
  std::shared_ptr<const Dataset> source_;
  std::vector<Transform> transforms_;
};

namespace datasets {

/// MNIST (or Fashion-MNIST: the same files) from the four IDX files in `root`, plain or .gz,
/// as libtorch's datasets::MNIST: images float (1, 28, 28) in [0, 1], targets int64.
class MNIST : public Dataset {
 public:
  enum class Mode { kTrain, kTest };
  explicit MNIST(const std::string& root, Mode mode = Mode::kTrain);
  int64_t size() const override { return images_.size(0); }
  Example<> get(int64_t i, Generator& gen) const override;
  bool is_train() const { return train_; }
  const Tensor& images() const { return images_; }
  const Tensor& targets() const { return targets_; }
  template <typename T>
  MapDataset map(const T& transform) && {
    return MapDataset(std::make_shared<MNIST>(std::move(*this))).map(transform);
  }

 private:
  Tensor images_, targets_;
  bool train_;
};

}  // namespace datasets

/// A DataLoader over a mapped dataset (or any ember Dataset), as libtorch's make_data_loader:
/// shuffled every epoch unless the Sampler is samplers::SequentialSampler.
template <typename Sampler = samplers::RandomSampler>
std::unique_ptr<DataLoader> make_data_loader(MapDataset dataset, DataLoaderConfig options) {
  options.shuffle = std::is_same_v<Sampler, samplers::RandomSampler>;
  if (options.shuffle) options.seed = loader_seed();
  return std::make_unique<DataLoader>(dataset.dataset(), options);
}
template <typename Sampler = samplers::RandomSampler>
std::unique_ptr<DataLoader> make_data_loader(MapDataset dataset, int64_t batch_size) {
  return make_data_loader<Sampler>(std::move(dataset), DataLoaderConfig{.batch_size = batch_size});
}
template <typename Sampler = samplers::RandomSampler, std::derived_from<Dataset> D>
std::unique_ptr<DataLoader> make_data_loader(D dataset, int64_t batch_size) {
  return make_data_loader<Sampler>(MapDataset(std::make_shared<D>(std::move(dataset))), batch_size);
}

}  // namespace ember::data

// An outside project's libtorch data pipeline and optimizer groups, with one line added
// (namespace torch = ember): MNIST through map(Normalize<>) and map(Stack<>), a data loader, a
// range-for over its batches (DataLoaderOptions), and an optimizer built from parameter groups
// (SGDOptions). The only ember call
// is the setup that writes a tiny MNIST-format folder to read.
#include <ember/ember.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

namespace torch = ember;

int main() {
  // Setup (not libtorch): 64 images of 4 x 4, the label k = image index % 4, brightness k.
  auto root = std::filesystem::temp_directory_path() / "ember_consumer_mnist";
  std::filesystem::create_directories(root);
  auto index = torch::arange(64);
  auto labels = index - torch::floor(index / 4) * 4;
  auto images = (labels * 60).reshape({64, 1, 1}).expand({64, 4, 4}).contiguous();
  torch::data::save_idx_u8((root / "train-images-idx3-ubyte").string(), images);
  torch::data::save_idx_u8((root / "train-labels-idx1-ubyte").string(), labels);

  // libtorch code from here on.
  auto dataset = torch::data::datasets::MNIST(root.string())
                     .map(torch::data::transforms::Normalize<>(0.5, 0.5))
                     .map(torch::data::transforms::Stack<>());
  const size_t dataset_size = dataset.size().value();
  auto loader = torch::data::make_data_loader(
      std::move(dataset), torch::data::DataLoaderOptions().batch_size(16).workers(2));

  auto w = torch::zeros({16, 4}, torch::TensorOptions().requires_grad(true));
  auto b = torch::zeros({4}, torch::TensorOptions().requires_grad(true));
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{w});
  groups.emplace_back(std::vector<torch::Tensor>{b},
                      std::make_unique<torch::optim::SGDOptions>(/*lr=*/0.5));
  torch::optim::SGD optimizer(groups, torch::optim::SGDOptions(0.1));

  double first = 0, last = 0;
  for (int epoch = 0; epoch < 30; ++epoch) {
    double total = 0;
    size_t seen = 0;
    for (auto& batch : *loader) {
      optimizer.zero_grad();
      auto logits = torch::matmul(batch.data.reshape({batch.data.size(0), 16}), w) + b;
      auto loss = torch::nn::functional::cross_entropy(logits, batch.target);
      loss.backward();
      optimizer.step();
      total += loss.item<double>() * batch.data.size(0);
      seen += batch.data.size(0);
    }
    if (seen != dataset_size) {
      std::cout << "data_api: an epoch saw " << seen << " of " << dataset_size << " images\n";
      return 1;
    }
    (epoch == 0 ? first : last) = total / seen;
  }
  bool learned = last < first / 2;
  std::cout << "data_api: loss " << first << " -> " << last << (learned ? "" : ", FAILED to learn")
            << "\n";
  return learned ? 0 : 1;
}

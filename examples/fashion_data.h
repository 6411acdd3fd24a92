// The main job's data: Fashion-MNIST's train and test sets as in-memory tensors (Debian's
// dataset-fashion-mnist, or any MNIST-format IDX files), or an image folder with train/ and
// test/ class folders decoded on the loader's threads. Pixels are scaled to [0, 1] and
// normalised with the training set's mean and standard deviation, as the PyTorch peer does.
#pragma once

#include <ember/ember.h>

#include <filesystem>
#include <memory>
#include <string>

#include "fashion_scenes.h"

namespace ember::examples {

/// Fashion-MNIST's pixel mean and standard deviation (of the training images, over 255).
constexpr double kFashionMean = 0.2860, kFashionStd = 0.3530;

struct Split {
  std::shared_ptr<data::Dataset> train, test;
};

/// Thrown when the dataset is not where it was looked for; the program exits with status 2 and
/// this message, which says how to get it.
struct MissingData {
  std::string message;
};

/// --augment: torchvision's usual recipe for 28x28 images, on pixels in [0, 1], then the
/// normalisation every image gets. Each training sample is transformed on the DataLoader's
/// threads, from a generator seeded by (seed, epoch, sample).
inline data::Transform fashion_transform(bool augment) {
  data::Transform normalize = data::Normalize({kFashionMean}, {kFashionStd});
  if (!augment) return normalize;
  return data::Compose({data::RandomCrop(28, 2), data::RandomHorizontalFlip(), normalize});
}

/// The IDX file `name` (.gz or plain) in `folder`, or MissingData.
inline std::string idx_file(const std::string& folder, const std::string& name) {
  for (std::string suffix : {".gz", ""}) {
    std::filesystem::path p = std::filesystem::path(folder) / (name + suffix);
    if (std::filesystem::exists(p)) return p.string();
  }
  throw MissingData{"Fashion-MNIST was not found in '" + folder + "' (expected " + name +
                    "[.gz]).\nInstall it with:  sudo apt-get install dataset-fashion-mnist\n"
                    "or point --data at MNIST-format files, or --image-folder at a folder with "
                    "train/ and test/ inside."};
}

/// One part of Fashion-MNIST ("train" or "t10k") as images (N, 1, 28, 28) and int64 labels,
/// the first `limit` of them when limit > 0. Scaled in place, a chunk at a time, so loading
/// never holds a second copy of the images; an augmented set keeps pixels in [0, 1] and
/// normalises each sample after its transform.
/// One part of Fashion-MNIST ("train" or "t10k"): images (N, 28, 28) as float32 in [0, 255] and
/// int64 labels, the first `limit` of them when limit > 0 (copied, so the full set can be freed).
inline std::pair<Tensor, Tensor> read_fashion_part(const std::string& folder,
                                                   const std::string& part, int64_t limit) {
  Tensor x = data::load_idx(idx_file(folder, part + "-images-idx3-ubyte"), kFloat32);
  Tensor y = data::load_idx(idx_file(folder, part + "-labels-idx1-ubyte"), kInt64);
  if (x.dim() != 3 || y.dim() != 1 || x.size(0) != y.size(0))
    fail("train_fashion_mnist: images ", shape_str(x.sizes()), " and labels ", shape_str(y.sizes()),
         " do not match");
  if (limit > 0 && limit < x.size(0)) {
    x = clone(narrow(x, 0, 0, limit));
    y = clone(narrow(y, 0, 0, limit));
  }
  return {x, y};
}

inline std::shared_ptr<data::Dataset> load_fashion_part(const std::string& folder,
                                                        const std::string& part, int64_t limit,
                                                        bool augment) {
  auto [x, y] = read_fashion_part(folder, part, limit);
  for (int64_t i = 0; i < x.size(0); i += 4096) {
    Tensor chunk = narrow(x, 0, i, std::min<int64_t>(4096, x.size(0) - i));
    chunk.copy_(augment ? chunk / 255.0 : (chunk / 255.0 - kFashionMean) / kFashionStd);
  }
  return std::make_shared<data::TensorDataset>(unsqueeze(x, 1), y.contiguous(),
                                               augment ? fashion_transform(true) : nullptr);
}

/// Fashion-MNIST's training and test sets from IDX files in `folder`.
inline Split load_fashion_mnist(const std::string& folder, int64_t limit, bool augment) {
  return {load_fashion_part(folder, "train", limit, augment),
          load_fashion_part(folder, "t10k", limit, false)};
}

/// Fashion scenes (fashion_scenes.h) from Fashion-MNIST's items in `folder`: `count` training
/// scenes from the training items, count / 5 test scenes from the test items (at least one),
/// each set drawn from its own seed. `limit` > 0 keeps the first `limit` items of each part.
inline Split load_scenes(const std::string& folder, int64_t count, int64_t limit, uint64_t seed) {
  auto part = [&](const std::string& name, int64_t scenes, uint64_t part_seed) {
    auto [x, y] = read_fashion_part(folder, name, limit);
    return std::make_shared<FashionScenes>(x / 255.0, y, scenes, part_seed);
  };
  return {part("train", count, seed), part("t10k", std::max<int64_t>(1, count / 5), seed + 1)};
}

/// The classes the models tell apart (Fashion-MNIST's ten).
constexpr size_t kClasses = 10;

inline std::string join_names(const std::vector<std::string>& names) {
  std::string out = "[";
  for (const std::string& n : names) out += (out.size() > 1 ? ", " : "") + n;
  return out + "]";
}

/// Images in `root`/train and `root`/test, a folder per class, decoded to 28x28 gray; the two
/// must have the same classes, at most kClasses.
inline Split load_image_folder(const std::string& root, bool augment) {
  data::ImageFolderOptions test{
      .channels = 1, .height = 28, .width = 28, .transform = fashion_transform(false)};
  data::ImageFolderOptions train = test;
  train.transform = fashion_transform(augment);
  for (const char* part : {"train", "test"})
    if (!std::filesystem::is_directory(std::filesystem::path(root) / part))
      throw MissingData{"--image-folder '" + root + "' has no " + part + "/ folder"};
  auto train_set =
      std::make_shared<data::ImageFolder>((std::filesystem::path(root) / "train").string(), train);
  auto test_set =
      std::make_shared<data::ImageFolder>((std::filesystem::path(root) / "test").string(), test);
  // A class's label is its place in the sorted list: the two lists must be the same, or test
  // label 3 would mean another class than training label 3.
  const std::vector<std::string>&a = train_set->classes(), &b = test_set->classes();
  if (a != b) {
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    fail("--image-folder '", root, "': train/ has classes ", join_names(a), ", test/ has ",
         join_names(b), " (they differ at class ", i, ")");
  }
  if (a.size() > kClasses)
    fail("--image-folder '", root, "' has ", a.size(), " classes; the models have ", kClasses,
         " outputs");
  return {train_set, test_set};
}

}  // namespace ember::examples

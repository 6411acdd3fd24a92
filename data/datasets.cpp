// libtorch's data API: MapDataset, datasets::MNIST, loader_seed; see datasets.h.
#include "datasets.h"

#include <filesystem>
#include <mutex>

#include "../autograd/ops.h"
#include "idx.h"

namespace ember::data {

namespace {

// The source's examples with each transform applied to the data, in order.
class Mapped : public Dataset {
 public:
  Mapped(std::shared_ptr<const Dataset> source, std::vector<Transform> transforms)
      : source_(std::move(source)), transforms_(std::move(transforms)) {}
  int64_t size() const override { return source_->size(); }
  Example<> get(int64_t i, Generator& gen) const override {
    Example<> e = source_->get(i, gen);
    for (const Transform& t : transforms_) e.data = t(e.data, gen);
    return e;
  }

 private:
  std::shared_ptr<const Dataset> source_;
  std::vector<Transform> transforms_;
};

// root/name, or root/name.gz when only that exists.
std::string idx_path(const std::string& root, const std::string& name) {
  std::filesystem::path plain = std::filesystem::path(root) / name;
  if (std::filesystem::exists(plain)) return plain.string();
  std::filesystem::path gz = plain;
  gz += ".gz";
  if (std::filesystem::exists(gz)) return gz.string();
  fail("datasets::MNIST: neither '", plain.string(), "' nor '", gz.string(), "' exists");
}

}  // namespace

uint64_t loader_seed() {
  Generator& g = default_generator();
  std::lock_guard lock(g.mutex());
  return g.random64();
}

MapDataset MapDataset::map(const transforms::Normalize<>& normalize) && {
  transforms_.push_back(normalize.transform);
  return std::move(*this);
}

std::shared_ptr<const Dataset> MapDataset::dataset() const {
  if (transforms_.empty()) return source_;
  return std::make_shared<Mapped>(source_, transforms_);
}

namespace datasets {

MNIST::MNIST(const std::string& root, Mode mode) : train_(mode == Mode::kTrain) {
  std::string prefix = train_ ? "train" : "t10k";
  Tensor images = load_idx(idx_path(root, prefix + "-images-idx3-ubyte"), kUInt8);
  Tensor labels = load_idx(idx_path(root, prefix + "-labels-idx1-ubyte"), kInt64);
  if (images.dim() != 3 || labels.dim() != 1 || images.size(0) != labels.size(0))
    fail("datasets::MNIST: '", root, "' holds images ", shape_str(images.sizes()), " and labels ",
         shape_str(labels.sizes()), "; expected (N, H, W) and (N)");
  images_ = to(images, kFloat32).unsqueeze(1) / 255;
  targets_ = labels;
}

Example<> MNIST::get(int64_t i, Generator&) const {
  if (i < 0 || i >= size()) fail("datasets::MNIST: index ", i, " out of range for ", size());
  return {images_[i], targets_[i]};
}

}  // namespace datasets

}  // namespace ember::data

// ImageFolder, as torchvision's: root/<class>/<image>, one subfolder per class, classes sorted
// by name and numbered from 0. PNG, JPEG, BMP and TGA decode (image_decode.h) into float
// (C, H, W) in [0, 1], grayscale or RGB, optionally resized to a fixed size.
#pragma once

#include <string>
#include <vector>

#include "dataset.h"
#include "transforms.h"

namespace ember::data {

struct ImageFolderOptions {
  int64_t channels = 3;           // 1 (grayscale) or 3 (RGB)
  int64_t height = 0, width = 0;  // resize to this size when both are set
  bool skip_unreadable = false;   // warn and leave out files that do not decode, instead of failing
  Transform transform = nullptr;  // applied to each decoded image
};

class ImageFolder : public Dataset {
 public:
  explicit ImageFolder(const std::string& root, ImageFolderOptions options = {});
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  Example<> get(int64_t i, Generator& gen) const override;
  const std::vector<std::string>& classes() const { return classes_; }
  const std::string& path(int64_t i) const { return files_.at(i); }

 private:
  ImageFolderOptions options_;
  std::vector<std::string> classes_, files_;
  std::vector<int64_t> labels_;
};

/// Decodes one image file to (channels, H, W): float in [0, 1] by default, or the bytes as they are
/// with kUInt8 (torchvision.io.read_image's uint8); resizes when height and width are set.
/// Dimensions are checked before decoding: at most 2^24 pixels.
Tensor read_image(const std::string& path, int64_t channels, int64_t height = 0, int64_t width = 0,
                  DType dtype = kFloat32);

/// Writes (C, H, W) (C = 1 or 3) as a PNG: float in [0, 1], or uint8 bytes.
void write_png(const std::string& path, const Tensor& image);

}  // namespace ember::data

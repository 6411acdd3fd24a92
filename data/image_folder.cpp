// ImageFolder and image I/O: decoding in image_decode.cpp, resizing and PNG writing through
// stb_image_resize and stb_image_write (Debian's libstb-dev headers, compiled here, once).
#include "image_folder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include "../autograd/ops.h"
#include "../core/atomic_file.h"
#include "image_decode.h"

namespace ember::data {
namespace fs = std::filesystem;

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tga";
}

}  // namespace

Tensor read_image(const std::string& path, int64_t channels, int64_t height, int64_t width,
                  DType dtype) {
  check(dtype == kUInt8 || is_floating(dtype), "read_image: '", path,
        "': images load as uint8 or a floating dtype, not ", dtype);
  Pixels pixels = decode_image(path, channels);
  int h = static_cast<int>(pixels.height), w = static_cast<int>(pixels.width);
  const unsigned char* src = pixels.data.data();
  std::vector<unsigned char> resized;
  if (height > 0 && width > 0 && (height != h || width != w)) {
    resized.resize(height * width * channels);
    if (!stbir_resize_uint8(src, w, h, 0, resized.data(), int(width), int(height), 0,
                            int(channels)))
      fail("read_image: cannot resize '", path, "'");
    src = resized.data();
    h = int(height);
    w = int(width);
  }
  Tensor out = empty({channels, h, w}, kUInt8);
  uint8_t* o = out.data_ptr<uint8_t>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < channels; ++k)
        o[(k * h + y) * w + x] = src[(y * w + x) * channels + k];
  return dtype == kUInt8 ? out : to(out, dtype) / 255;
}

void write_png(const std::string& path, const Tensor& image) {
  if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3))
    fail("write_png: expected (1 or 3, H, W), got ", shape_str(image.sizes()));
  int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  Tensor v = image.dtype() == kUInt8
                 ? to(image.detach(), kFloat32).contiguous()
                 : to(clamp(image.detach(), 0.0, 1.0) * 255.0 + 0.5, kFloat32).contiguous();
  const float* p = v.data_ptr<float>();
  std::vector<unsigned char> bytes(c * h * w);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k)
        bytes[(y * w + x) * c + k] = static_cast<unsigned char>(p[(k * h + y) * w + x]);
  std::string png;
  auto append = [](void* out, void* data, int size) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  };
  if (!stbi_write_png_to_func(append, &png, int(w), int(h), int(c), bytes.data(), int(w * c)))
    fail("write_png: cannot encode a ", w, "x", h, " image for '", path, "'");
  write_file_atomically(path, png, "write_png");
}

ImageFolder::ImageFolder(const std::string& root, ImageFolderOptions options)
    : options_(std::move(options)) {
  if (!fs::is_directory(root)) fail("ImageFolder: '", root, "' is not a directory");
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory()) classes_.push_back(entry.path().filename().string());
  std::sort(classes_.begin(), classes_.end());
  if (classes_.empty()) fail("ImageFolder: '", root, "' has no class subfolders");
  for (size_t label = 0; label < classes_.size(); ++label) {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(root) / classes_[label]))
      if (entry.is_regular_file() && is_image(entry.path())) found.push_back(entry.path().string());
    std::sort(found.begin(), found.end());
    for (const std::string& f : found) {
      if (options_.skip_unreadable) {
        try {
          probe_image(f);
        } catch (const Error& e) {
          std::cerr << "warning: ImageFolder skips unreadable image: " << e.what() << "\n";
          continue;
        }
      }
      files_.push_back(f);
      labels_.push_back(static_cast<int64_t>(label));
    }
  }
  if (files_.empty()) fail("ImageFolder: no PNG, JPEG, BMP or TGA images under '", root, "'");
}

Example<> ImageFolder::get(int64_t i, Generator& gen) const {
  if (i < 0 || i >= size()) fail("ImageFolder: index ", i, " out of range for ", size(), " images");
  Tensor image = read_image(files_[i], options_.channels, options_.height, options_.width);
  if (options_.transform) image = options_.transform(image, gen);
  return {image, scalar_tensor(static_cast<double>(labels_[i]), kInt64)};
}

}  // namespace ember::data

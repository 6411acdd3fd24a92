// ImageFolder and image I/O through stb_image, stb_image_resize and stb_image_write (Debian's
// libstb-dev headers; the implementations are compiled here, once).
#include "image_folder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG  // only the formats ImageFolder reads: less code facing outside files
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STBI_MAX_DIMENSIONS (1 << 16)
#include <stb_image.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include "../autograd/ops.h"
#include "../core/safetensors.h"

namespace ember::data {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxPixels = int64_t{1} << 24;
// No supported format stores more pixels per byte than this (zlib's best ratio is ~1030:1);
// a larger claim is a corrupt header that would make the decoder work on nothing.
constexpr int64_t kMaxPixelsPerByte = 1100;

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tga";
}

// PNG chunks must fit in the file: stb_image's PNG reader grows its buffer for a chunk's
// claimed length before finding the data missing (found by fuzz_image: a 96-byte file made it
// allocate 2 GiB). Walks the chunk table of a PNG; other formats pass.
void check_png_chunks(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  if (bytes.size() < 8 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n", 8) != 0) return;
  size_t pos = 8;
  while (pos + 12 <= bytes.size()) {
    auto b = [&](size_t i) {
      return static_cast<uint32_t>(static_cast<unsigned char>(bytes[pos + i]));
    };
    uint32_t length = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
    if (length > bytes.size() - pos - 12)
      fail("read_image: '", path, "' is a corrupt PNG: a chunk claims ", length, " bytes, only ",
           bytes.size() - pos - 12, " remain");
    if (bytes.compare(pos + 4, 4, "IEND") == 0) return;
    pos += 12 + length;
  }
}

}  // namespace

Tensor read_image(const std::string& path, int64_t channels, int64_t height, int64_t width) {
  if (channels != 1 && channels != 3) fail("read_image: channels must be 1 or 3, got ", channels);
  int w = 0, h = 0, c = 0;
  if (!stbi_info(path.c_str(), &w, &h, &c))
    fail("read_image: '", path, "' is not a readable image (", stbi_failure_reason(), ")");
  if (w < 1 || h < 1) fail("read_image: '", path, "' is ", w, "x", h, ": an image without pixels");
  check_png_chunks(path);
  if (int64_t(w) * h > kMaxPixels)
    fail("read_image: '", path, "' is ", w, "x", h, ", more than ", kMaxPixels, " pixels");
  std::error_code ec;
  auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec || int64_t(w) * h > bytes * kMaxPixelsPerByte)
    fail("read_image: '", path, "' claims ", w, "x", h, " pixels, more than its ", bytes,
         " bytes can hold");
  std::unique_ptr<unsigned char, void (*)(void*)> pixels(
      stbi_load(path.c_str(), &w, &h, &c, static_cast<int>(channels)), stbi_image_free);
  if (!pixels) fail("read_image: cannot decode '", path, "' (", stbi_failure_reason(), ")");
  const unsigned char* src = pixels.get();
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
  Tensor out = empty({channels, h, w});
  float* o = out.data_ptr<float>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < channels; ++k)
        o[(k * h + y) * w + x] = src[(y * w + x) * channels + k] / 255.0f;
  return out;
}

void write_png(const std::string& path, const Tensor& image) {
  if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3))
    fail("write_png: expected (1 or 3, H, W), got ", shape_str(image.sizes()));
  int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  Tensor v = to(clamp(image.detach(), 0.0, 1.0) * 255.0 + 0.5, kFloat32).contiguous();
  const float* p = v.data_ptr<float>();
  std::vector<unsigned char> bytes(c * h * w);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k)
        bytes[(y * w + x) * c + k] = static_cast<unsigned char>(p[(k * h + y) * w + x]);
  std::string tmp = path + ".tmp.png";
  if (!stbi_write_png(tmp.c_str(), int(w), int(h), int(c), bytes.data(), int(w * c)) ||
      std::rename(tmp.c_str(), path.c_str()) != 0)
    fail("write_png: cannot write '", path, "'");
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
        int w, h, c;
        if (!stbi_info(f.c_str(), &w, &h, &c)) {
          std::cerr << "warning: ImageFolder skips unreadable image '" << f << "'\n";
          continue;
        }
      }
      files_.push_back(f);
      labels_.push_back(static_cast<int64_t>(label));
    }
  }
  if (files_.empty()) fail("ImageFolder: no PNG, JPEG, BMP or TGA images under '", root, "'");
}

Example ImageFolder::get(int64_t i, Generator& gen) const {
  if (i < 0 || i >= size()) fail("ImageFolder: index ", i, " out of range for ", size(), " images");
  Tensor image = read_image(files_[i], options_.channels, options_.height, options_.width);
  if (options_.transform) image = options_.transform(image, gen);
  return {image, scalar_tensor(static_cast<double>(labels_[i]), kInt64)};
}

}  // namespace ember::data

// Image file decoding for read_image and ImageFolder: PNG through libpng, JPEG through
// libjpeg-turbo, BMP and TGA through stb_image; every claim a file makes about its size is checked
// before anything is allocated for it. Next: image_folder.h, which turns the pixels into tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ember::data {

/// 8-bit pixels, interleaved: (height, width, channels), channels 1 (gray) or 3 (RGB).
struct Pixels {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<unsigned char> data;
};

/// Decodes only the header of an image file (the file is read whole, as for decoding) and checks
/// what it claims; throws an Error naming the file when it is not a PNG, JPEG, BMP or TGA image
/// or claims an impossible size.
void probe_image(const std::string& path);

/// Decodes an image file to `channels` (1 or 3) channels: alpha is dropped and colour becomes
/// gray with ITU-R 601 luma weights, as Pillow's convert("L") and so torchvision's loaders do.
Pixels decode_image(const std::string& path, int64_t channels);

}  // namespace ember::data

// Files that lie about their size: a PNG chunk declaring more bytes than the file has (it made
// libpng allocate 2 GiB for 44 bytes), BMP and TGA files cut short (stb_image padded them with
// zeros), an IDX header whose tensor would not fit the loader's memory bound, an ImageFolder
// whose train and test classes differ; each refused with the file named and what is wrong.
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "programs.h"

using namespace ember;
using ember::testing::read_bytes;
using ember::testing::shape;
using ember::testing::write_bytes;
namespace fs = std::filesystem;

namespace {

std::string big_endian(uint32_t v) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
  return out;
}

// A PNG chunk: length, type, data, CRC over type and data.
std::string png_chunk(const std::string& type, const std::string& data) {
  std::string typed = type + data;
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(typed.data()), typed.size());
  return big_endian(data.size()) + typed + big_endian(static_cast<uint32_t>(crc));
}

const std::string kPngSignature("\x89PNG\r\n\x1a\n", 8);

// A 28x28 gray IHDR, 8 bits, no interlace: 8 + 25 bytes.
std::string png_start() {
  std::string ihdr = big_endian(28) + big_endian(28) + std::string("\x08\x00\x00\x00\x00", 5);
  return kPngSignature + png_chunk("IHDR", ihdr);
}

}  // namespace

TEST_CASE("a PNG chunk longer than the file is refused before libpng buffers it") {
  fs::path dir = ember::testing::scratch("untrusted_png");
  // 44 bytes: the header, then a chunk declaring 2^31 - 16 bytes of which 3 follow. libpng
  // buffers a whole text or sPLT chunk before reading it: 2 GiB and 6-8 s, per image.
  for (const char* type : {"tEXt", "zTXt", "iTXt", "sPLT", "IDAT"}) {
    CAPTURE(type);
    std::string png = png_start() + big_endian(0x7ffffff0) + type + "abc";
    REQUIRE(png.size() == 44);
    std::string path = (dir / "long_chunk.png").string();
    write_bytes(path, png);
    CHECK_THROWS_WITH_AS(data::read_image(path, 1),
                         ("read_image: '" + path + "' is not a readable PNG (chunk '" + type +
                          "' at byte 33 declares 2147483632 bytes and its CRC; 3 are left)")
                             .c_str(),
                         Error);
  }
  // A file without IEND ends inside the chunk list; a whole file with IEND still decodes.
  Tensor gray = reshape(arange(0, 28 * 28, 1, kFloat32) / (28.0 * 28), {1, 28, 28});
  std::string path = (dir / "whole.png").string();
  data::write_png(path, gray);
  std::string whole = read_bytes(path);
  CHECK_CLOSE_ABS(data::read_image(path, 1), gray, 0, 1.0 / 255);
  std::string cut = whole.substr(0, whole.size() - 12);  // IEND removed
  write_bytes(path, cut);
  CHECK_THROWS_WITH_AS(data::read_image(path, 1), doctest::Contains("without an IEND chunk"),
                       Error);
  fs::remove_all(dir);
}

TEST_CASE("a BMP or TGA cut short is refused, not padded with zeros") {
  fs::path dir = ember::testing::scratch("untrusted_bmp_tga");
  // (the TGA ends with Pillow's 26-byte TGA 2.0 footer, after the pixels)
  for (auto [name, kind, footer] :
       {std::tuple{"rgb_5x4.bmp", "BMP", 0}, std::tuple{"rgb_3x5.tga", "TGA", 26}}) {
    CAPTURE(name);
    std::string whole = read_bytes(fs::path(EMBER_GOLDEN_DIR) / "images" / name);
    std::string path = (dir / name).string();
    write_bytes(path, whole);
    CHECK_NOTHROW(data::read_image(path, 3));
    // The last pixel's last byte cut, then half the file: each a truncated image, named so.
    for (size_t keep : {whole.size() - footer - 1, whole.size() / 2 + 9}) {
      CAPTURE(keep);
      write_bytes(path, whole.substr(0, keep));
      CHECK_THROWS_WITH_AS(data::read_image(path, 3),
                           doctest::Contains(("is a truncated " + std::string(kind)).c_str()),
                           Error);
    }
  }
  // A run-length TGA: 4x2 gray, one run of 8 pixels, then the same with the run's value cut.
  std::string header("\x00\x00\x0b", 3);  // no id, no colour map, type 11 (gray, RLE)
  header += std::string(9, '\0') + std::string("\x04\x00\x02\x00\x08\x00", 6);
  std::string path = (dir / "rle.tga").string();
  write_bytes(path, header + "\x87" + "\x80");
  Tensor rle = data::read_image(path, 1);
  CHECK(shape(rle) == Shape{1, 2, 4});
  CHECK_CLOSE_ABS(rle, ones({1, 2, 4}) * (128.0 / 255), 0, 1e-6);
  write_bytes(path, header + "\x87");
  CHECK_THROWS_WITH_AS(data::read_image(path, 1), doctest::Contains("is a truncated TGA"), Error);
  fs::remove_all(dir);
}

TEST_CASE("an IDX header is refused when its payload and tensor together pass the memory bound") {
  fs::path dir = ember::testing::scratch("untrusted_idx");
  // 1.5 * 2^30 bytes: a payload under the 8 GiB bound, but as int64 (12 GiB) or float32 (6 GiB,
  // with the payload 7.5 GiB, under it) the tensor decides.
  std::string header("\x00\x00\x08\x01", 4);
  header += big_endian(uint32_t{3} << 29);
  std::string path = (dir / "huge.idx").string();
  write_bytes(path, header + "abc");
  CHECK_THROWS_WITH_AS(
      data::load_idx(path, kInt64),
      ("load_idx: '" + path +
       "' header says [1610612736] (1610612736 bytes, 12884901888 as int64), more than the "
       "8589934592 bytes the loader may hold: corrupt")
          .c_str(),
      Error);
  CHECK_THROWS_WITH_AS(data::load_idx(path, kFloat32),
                       doctest::Contains("is truncated: header says 1610612736 items"), Error);
  fs::remove_all(dir);
}

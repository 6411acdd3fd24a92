// Image decoding; see image_decode.h.
//
// NOTE: which library reads which format is a security decision. Debian 12's stb_image (2.27)
// trusts what a file says: a JPEG's Huffman code counts (a crafted table writes past a 257-entry
// array; found by fuzz_image), a PNG's chunk lengths (a 96-byte file made it allocate 2 GiB).
// libpng and libjpeg-turbo are fuzzed continuously upstream and patched by Debian's security
// team, so they read the two formats datasets come in. stb_image keeps BMP and TGA, small
// decoders, behind the same size checks. The format is told by the file's first bytes, never by
// its name.
#include "image_decode.h"

#include <png.h>
#include <turbojpeg.h>

#include <cstring>
#include <fstream>
#include <memory>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STBI_NO_STDIO  // files are read here, with their size checked first
#define STBI_MAX_DIMENSIONS (1 << 16)
#include <stb_image.h>

#include "../core/error.h"

namespace ember::data {
namespace {

constexpr int64_t kMaxFileBytes = int64_t{1} << 28;  // 256 MiB
constexpr int64_t kMaxPixels = int64_t{1} << 24;
// No supported format stores more pixels per byte than this (zlib's best ratio is ~1030:1);
// a larger claim is a corrupt header that would make a decoder work on nothing.
constexpr int64_t kMaxPixelsPerByte = 1100;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail("read_image: cannot open '", path, "'");
  auto size = static_cast<int64_t>(in.tellg());
  if (size < 0 || size > kMaxFileBytes)
    fail("read_image: '", path, "' is ", size, " bytes, more than the ", kMaxFileBytes,
         " an image file may have");
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) fail("read_image: cannot read '", path, "'");
  return bytes;
}

// Refuses a size claim before anything is allocated for it.
void check_claim(const std::string& path, int64_t width, int64_t height, size_t file_bytes) {
  if (width < 1 || height < 1)
    fail("read_image: '", path, "' is ", width, "x", height, ": an image without pixels");
  if (width > kMaxPixels || height > kMaxPixels || width * height > kMaxPixels)
    fail("read_image: '", path, "' is ", width, "x", height, ", more than ", kMaxPixels, " pixels");
  if (width * height > static_cast<int64_t>(file_bytes) * kMaxPixelsPerByte)
    fail("read_image: '", path, "' claims ", width, "x", height, " pixels, more than its ",
         file_bytes, " bytes can hold");
}

// ---- the file's own structure, walked before a decoder sees it: a decoder trusts the lengths
// a file declares (libpng buffers a whole text chunk: 44 bytes declaring 2 GiB cost 2 GiB and
// seconds) and stb_image pads a file that ends early with zeros.

uint32_t big_endian_u32(const std::string& b, size_t at) {
  return uint32_t(uint8_t(b[at])) << 24 | uint32_t(uint8_t(b[at + 1])) << 16 |
         uint32_t(uint8_t(b[at + 2])) << 8 | uint32_t(uint8_t(b[at + 3]));
}

uint32_t little_endian(const std::string& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | uint8_t(b[at + i]);
  return v;
}

// Every chunk (length, type, data, CRC) lies inside the file, up to IEND.
void check_png_chunks(const std::string& path, const std::string& bytes) {
  for (size_t at = 8;;) {
    if (bytes.size() - at < 8)
      fail("read_image: '", path, "' is not a readable PNG (it ends at byte ", bytes.size(),
           " without an IEND chunk)");
    int64_t length = big_endian_u32(bytes, at), left = int64_t(bytes.size() - at) - 8;
    std::string type = bytes.substr(at + 4, 4);
    if (length + 4 > left)  // the data, then a 4-byte CRC
      fail("read_image: '", path, "' is not a readable PNG (chunk '", type, "' at byte ", at,
           " declares ", length, " bytes and its CRC; ", left, " are left)");
    if (type == "IEND") return;
    at += 12 + length;
  }
}

// An uncompressed BMP's rows (each padded to 4 bytes) lie inside the file. stb_image reads no
// compressed BMP but bit fields (3), which keeps rows whole.
void check_bmp_size(const std::string& path, const std::string& bytes) {
  if (bytes.size() < 26) fail("read_image: '", path, "' ends inside its BMP header");
  uint32_t offset = little_endian(bytes, 10, 4), header = little_endian(bytes, 14, 4);
  int64_t width, height, bits;
  if (header == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
    width = little_endian(bytes, 18, 2);
    height = little_endian(bytes, 20, 2);
    bits = little_endian(bytes, 24, 2);
  } else {
    if (bytes.size() < 30) fail("read_image: '", path, "' ends inside its BMP header");
    width = int32_t(little_endian(bytes, 18, 4));
    height = int32_t(little_endian(bytes, 22, 4));
    bits = little_endian(bytes, 28, 2);
  }
  height = height < 0 ? -height : height;  // negative: rows stored top-down
  int64_t row = (bits * width + 31) / 32 * 4;
  if (width > 0 && height > 0 && offset + row * height > int64_t(bytes.size()))
    fail("read_image: '", path, "' is a truncated BMP: ", width, "x", height, " pixels of ", bits,
         " bits need ", offset + row * height, " bytes, the file has ", bytes.size());
}

// A TGA's pixels lie inside the file: counted for uncompressed types (1-3), walked packet by
// packet for run-length ones (9-11).
void check_tga_size(const std::string& path, const std::string& bytes) {
  if (bytes.size() < 18) fail("read_image: '", path, "' ends inside its TGA header");
  int64_t start = 18 + uint8_t(bytes[0]);
  int type = uint8_t(bytes[2]);
  if (uint8_t(bytes[1]) == 1)  // a colour map: entries of entry_bits
    start += little_endian(bytes, 5, 2) * ((uint8_t(bytes[7]) + 7) / 8);
  int64_t width = little_endian(bytes, 12, 2), height = little_endian(bytes, 14, 2);
  int64_t pixel_bytes = (uint8_t(bytes[16]) + 7) / 8, pixels = width * height;
  int64_t size = bytes.size(), at = start;
  if (type >= 9 && type <= 11) {
    for (int64_t done = 0; done < pixels && at < size;) {
      int packet = uint8_t(bytes[at]);
      int64_t count = (packet & 0x7f) + 1;
      at += 1 + (packet & 0x80 ? 1 : count) * pixel_bytes;
      done += count;
    }
  } else {
    at += pixels * pixel_bytes;
  }
  if (at > size)
    fail("read_image: '", path, "' is a truncated TGA: ", width, "x", height, " pixels of ",
         pixel_bytes, " bytes need more than its ", size, " bytes");
}

// libpng's reader and what it reads from: the file's bytes in memory.
struct PngReader {
  const std::string& bytes;
  size_t position = 8;  // past the signature, which decode() has checked
  std::string error;
  png_structp png = nullptr;
  png_infop info = nullptr;
  explicit PngReader(const std::string& b) : bytes(b) {}
  ~PngReader() { png_destroy_read_struct(&png, &info, nullptr); }
};

void png_read_memory(png_structp png, png_bytep out, size_t count) {
  auto* reader = static_cast<PngReader*>(png_get_io_ptr(png));
  if (count > reader->bytes.size() - reader->position)
    png_error(png, "the file ends inside a chunk");
  std::memcpy(out, reader->bytes.data() + reader->position, count);
  reader->position += count;
}

void png_on_error(png_structp png, png_const_charp message) {
  static_cast<PngReader*>(png_get_error_ptr(png))->error = message;
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

// NOTE: libpng reports errors by longjmp back to the setjmp below, so these two functions hold
// nothing with a destructor. They read the header, then the rows, as Pillow does: palettes
// expanded, gray below 8 bits widened, 16-bit samples cut to their high byte, no gamma
// correction, transparency chunks ignored.
bool png_read_header(PngReader& r, int* channels) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  png_set_sig_bytes(r.png, 8);
  png_read_info(r.png, r.info);
  png_set_palette_to_rgb(r.png);
  png_set_expand_gray_1_2_4_to_8(r.png);
  png_set_strip_16(r.png);
  png_set_interlace_handling(r.png);
  png_read_update_info(r.png, r.info);
  *channels = png_get_channels(r.png, r.info);
  return true;
}

bool png_read_rows(PngReader& r, png_bytepp rows) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  png_read_image(r.png, rows);
  return true;
}

// Decodes to the file's own layout: gray, gray + alpha, RGB or RGBA, 8 bits a sample.
Pixels decode_png(const std::string& path, const std::string& bytes, bool header_only) {
  check_png_chunks(path, bytes);
  PngReader r(bytes);
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, png_on_error, png_on_warning);
  if (r.png) r.info = png_create_info_struct(r.png);
  if (!r.png || !r.info) fail("read_image: cannot start the PNG decoder for '", path, "'");
  png_set_read_fn(r.png, &r, png_read_memory);
  // What libpng may allocate for one ancillary chunk and how many it keeps (the walk above has
  // already held each to the file's size), and the largest image it accepts.
  png_set_chunk_malloc_max(r.png, kMaxFileBytes / 64);
  png_set_chunk_cache_max(r.png, 1000);
  png_set_user_limits(r.png, kMaxPixels, kMaxPixels);
  int channels = 0;
  if (!png_read_header(r, &channels))
    fail("read_image: '", path, "' is not a readable PNG (", r.error, ")");
  check_claim(path, png_get_image_width(r.png, r.info), png_get_image_height(r.png, r.info),
              bytes.size());
  Pixels out{png_get_image_height(r.png, r.info), png_get_image_width(r.png, r.info), channels, {}};
  if (header_only) return out;
  if (png_get_rowbytes(r.png, r.info) != static_cast<size_t>(out.width * channels))
    fail("read_image: '", path, "' has rows of an unexpected size");
  out.data.resize(out.height * out.width * channels);
  std::vector<png_bytep> rows(out.height);
  for (int64_t y = 0; y < out.height; ++y) rows[y] = &out.data[y * out.width * channels];
  if (!png_read_rows(r, rows.data()))
    fail("read_image: cannot decode '", path, "' as PNG (", r.error, ")");
  return out;
}

// A TurboJPEG decompressor, destroyed however the decoding ends.
struct JpegDecoder {
  tjhandle handle = tjInitDecompress();
  ~JpegDecoder() {
    if (handle) tjDestroy(handle);
  }
};

// Decodes to gray for a grayscale JPEG, RGB for every other one.
Pixels decode_jpeg(const std::string& path, const std::string& bytes, bool header_only) {
  JpegDecoder jpeg;
  if (!jpeg.handle) fail("read_image: cannot start the JPEG decoder for '", path, "'");
  auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(jpeg.handle, data, bytes.size(), &width, &height, &subsampling,
                          &colorspace) != 0)
    fail("read_image: '", path, "' is not a readable JPEG (", tjGetErrorStr2(jpeg.handle), ")");
  check_claim(path, width, height, bytes.size());
  Pixels out{height, width, colorspace == TJCS_GRAY ? 1 : 3, {}};
  if (header_only) return out;
  out.data.resize(out.height * out.width * out.channels);
  // A warning (a truncated or corrupt stream) is an error, and a progressive JPEG may have at
  // most 500 scans: each scan decodes the whole image again, so a small file of many scans
  // would keep the decoder busy for minutes.
  int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
  if (tjDecompress2(jpeg.handle, data, bytes.size(), out.data.data(), width, 0, height,
                    out.channels == 1 ? TJPF_GRAY : TJPF_RGB, flags) != 0)
    fail("read_image: cannot decode '", path, "' as JPEG (", tjGetErrorStr2(jpeg.handle), ")");
  return out;
}

// BMP and TGA through stb_image, in the file's own channels (1 to 4).
Pixels decode_stb(const std::string& path, const std::string& bytes, bool header_only) {
  auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  int size = static_cast<int>(bytes.size()), w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(data, size, &w, &h, &c))
    fail("read_image: '", path, "' is not a PNG, JPEG, BMP or TGA image (", stbi_failure_reason(),
         ")");
  check_claim(path, w, h, bytes.size());
  if (bytes[0] == 'B' && bytes[1] == 'M')
    check_bmp_size(path, bytes);
  else
    check_tga_size(path, bytes);
  if (header_only) return {h, w, c, {}};
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load_from_memory(data, size, &w, &h, &c, 0),
                                                   stbi_image_free);
  if (!pixels) fail("read_image: cannot decode '", path, "' (", stbi_failure_reason(), ")");
  check_claim(path, w, h, bytes.size());
  return {h, w, c, std::vector<unsigned char>(pixels.get(), pixels.get() + int64_t{w} * h * c)};
}

Pixels decode(const std::string& path, bool header_only) {
  std::string bytes = read_file(path);
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) == 0)
    return decode_png(path, bytes, header_only);
  if (bytes.size() >= 3 && std::memcmp(bytes.data(), "\xff\xd8\xff", 3) == 0)
    return decode_jpeg(path, bytes, header_only);
  return decode_stb(path, bytes, header_only);
}

// Pillow's L = R * 299/1000 + G * 587/1000 + B * 114/1000, in its 16-bit fixed point.
unsigned char luma(unsigned r, unsigned g, unsigned b) {
  return static_cast<unsigned char>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

// in: gray, gray + alpha, RGB or RGBA (1-4 channels); out: gray or RGB, alpha dropped.
Pixels to_channels(Pixels in, int64_t channels) {
  if (in.channels == channels) return in;
  Pixels out{in.height, in.width, channels,
             std::vector<unsigned char>(in.height * in.width * channels)};
  bool color = in.channels >= 3;
  for (int64_t i = 0; i < in.height * in.width; ++i) {
    const unsigned char* p = &in.data[i * in.channels];
    unsigned char* q = &out.data[i * channels];
    if (channels == 1) {
      q[0] = color ? luma(p[0], p[1], p[2]) : p[0];
    } else {
      q[0] = p[0];
      q[1] = p[color ? 1 : 0];
      q[2] = p[color ? 2 : 0];
    }
  }
  return out;
}

}  // namespace

void probe_image(const std::string& path) { decode(path, /*header_only=*/true); }

Pixels decode_image(const std::string& path, int64_t channels) {
  if (channels != 1 && channels != 3) fail("read_image: channels must be 1 or 3, got ", channels);
  return to_channels(decode(path, /*header_only=*/false), channels);
}

}  // namespace ember::data

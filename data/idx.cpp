// IDX reader and writer; see idx.h. Reading goes through zlib's gz* functions, which read plain
// files too, in bounded chunks: the header's promise is checked against what arrives.
#include "idx.h"

#include <zlib.h>

#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "../autograd/ops.h"
#include "../core/atomic_file.h"

namespace ember::data {
namespace {

// Upper bound on an IDX payload: larger headers are corrupt, not datasets to allocate for.
constexpr uint64_t kMaxBytes = uint64_t{8} << 30;
constexpr uint64_t kChunk = uint64_t{1} << 22;  // bytes read at a time

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

// Reads up to n bytes; returns how many arrived.
size_t read_some(gzFile f, void* out, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, size_t{1} << 30));
    int got = gzread(f, static_cast<char*>(out) + done, chunk);
    if (got < 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      fail("load_idx: '", path, "' is corrupt (", msg ? msg : "read error", ")");
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

uint32_t big_endian(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

size_t type_size(unsigned char code) {
  switch (code) {
    case 0x08:
    case 0x09:
      return 1;  // unsigned / signed byte
    case 0x0B:
      return 2;  // short
    case 0x0C:
    case 0x0D:
      return 4;  // int, float
    case 0x0E:
      return 8;  // double
    default:
      return 0;
  }
}

// Value i of the payload as double (big-endian element of the given type code).
double value_at(const unsigned char* p, unsigned char code) {
  switch (code) {
    case 0x08:
      return p[0];
    case 0x09:
      return static_cast<int8_t>(p[0]);
    case 0x0B:
      return static_cast<int16_t>((p[0] << 8) | p[1]);
    case 0x0C:
      return static_cast<int32_t>(big_endian(p));
    case 0x0D: {
      uint32_t bits = big_endian(p);
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    default: {
      uint64_t bits = (uint64_t(big_endian(p)) << 32) | big_endian(p + 4);
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
  }
}

// `bytes` as a .gz file's content (zlib's deflate with the gzip wrapper: window bits 15 + 16).
std::string gzip(const std::string& bytes) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fail("save_idx_u8: cannot start zlib's compressor");
  std::string out(deflateBound(&z, bytes.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int status = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (status != Z_STREAM_END) fail("save_idx_u8: zlib could not compress ", bytes.size(), " bytes");
  return out;
}

}  // namespace

Tensor load_idx(const std::string& path, DType dtype) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) fail("load_idx: cannot open '", path, "'");
  unsigned char magic[4];
  if (read_some(f.get(), magic, 4, path) != 4)
    fail("load_idx: '", path, "' is truncated: no 4-byte magic number");
  size_t esize = type_size(magic[2]);
  if (magic[0] != 0 || magic[1] != 0 || esize == 0 || magic[3] == 0 || magic[3] > 8)
    fail("load_idx: '", path, "' is not an IDX file (magic bytes ", int(magic[0]), " ",
         int(magic[1]), " ", int(magic[2]), " ", int(magic[3]), ")");
  int ndim = magic[3];
  std::vector<unsigned char> header(4 * ndim);
  if (read_some(f.get(), header.data(), header.size(), path) != header.size())
    fail("load_idx: '", path, "' is truncated: the header promises ", ndim, " dims");
  Shape dims;
  uint64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    uint32_t s = big_endian(&header[4 * d]);
    dims.push_back(s);
    if (s != 0 && count > kMaxBytes / s)
      count = kMaxBytes + 1;
    else
      count *= s;
  }
  // Peak memory is the payload plus the tensor made from it (the payload is freed as it is
  // converted, but only after the tensor exists); both together stay under kMaxBytes.
  if (count > kMaxBytes)  // (the product stopped at kMaxBytes + 1)
    fail("load_idx: '", path, "' header says ", shape_str(dims), ", more than the ", kMaxBytes,
         " bytes the loader may hold: corrupt");
  uint64_t want = count * esize, out_bytes = count * element_size(dtype);
  if (want + out_bytes > kMaxBytes)
    fail("load_idx: '", path, "' header says ", shape_str(dims), " (", want, " bytes, ", out_bytes,
         " as ", dtype_name(dtype), "), more than the ", kMaxBytes,
         " bytes the loader may hold: corrupt");
  // Read in chunks of kChunk bytes, so memory follows the bytes that arrive, not what the header
  // claims (a short file with a huge header cannot make this allocate gigabytes), and growing
  // never copies (a growing vector would briefly hold up to three times the payload).
  std::vector<std::vector<unsigned char>> chunks;
  uint64_t arrived = 0;
  while (arrived < want) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(want - arrived, kChunk));
    std::vector<unsigned char>& chunk = chunks.emplace_back(n);
    size_t got = read_some(f.get(), chunk.data(), n, path);
    arrived += got;
    if (got < n) break;
  }
  if (arrived != want) {
    uint64_t item_bytes = dims[0] ? want / dims[0] : 1;
    fail("load_idx: '", path, "' is truncated: header says ", dims[0], " items (", shape_str(dims),
         "), found ", arrived / std::max<uint64_t>(item_bytes, 1));
  }
  unsigned char extra;
  if (read_some(f.get(), &extra, 1, path) != 0)
    fail("load_idx: '", path, "' has data after the ", want, " bytes its header promises");
  Tensor out = empty(dims, dtype);
  visit_dtype(dtype, [&]<typename T>() {
    T* o = out.data_ptr<T>();
    for (std::vector<unsigned char>& chunk : chunks) {  // kChunk is a multiple of every esize
      for (size_t at = 0; at < chunk.size(); at += esize)
        *o++ = convert<T>(value_at(&chunk[at], magic[2]));
      std::vector<unsigned char>().swap(chunk);
    }
  });
  return out;
}

void save_idx_u8(const std::string& path, const Tensor& values) {
  if (values.dim() < 1 || values.dim() > 8)
    fail("save_idx_u8: expected 1 to 8 dims, got ", values.dim());
  std::string bytes{'\0', '\0', '\x08', static_cast<char>(values.dim())};
  for (int64_t s : values.sizes()) {
    uint32_t v = static_cast<uint32_t>(s);
    for (int shift : {24, 16, 8, 0}) bytes.push_back(static_cast<char>((v >> shift) & 0xFF));
  }
  Tensor v = to(clamp(values.detach(), 0.0, 255.0), kInt64).contiguous();
  const int64_t* p = v.data_ptr<int64_t>();
  for (int64_t i = 0; i < v.numel(); ++i) bytes.push_back(static_cast<char>(p[i]));
  bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  write_file_atomically(path, gz ? gzip(bytes) : bytes, "save_idx_u8");
}

}  // namespace ember::data

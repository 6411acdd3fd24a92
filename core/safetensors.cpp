// safetensors reader and writer; see safetensors.h. The format's rules, checked in order:
// header length within the file and at most 100 MB; the header a JSON object; each entry a
// known dtype, a shape of non-negative integers and two offsets whose span equals the shape's
// byte size; offsets inside the data buffer, not overlapping, and covering it without holes.
#include "safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "atomic_file.h"
#include "factory.h"
#include "kernels/copy.h"

namespace ember {
namespace {

constexpr uint64_t kMaxHeader = 100'000'000;
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

const char* dtype_code(DType dtype) {
  switch (dtype) {
    case kFloat32:
      return "F32";
    case kFloat64:
      return "F64";
    case kInt64:
      return "I64";
    case kInt32:
      return "I32";
    case kUInt8:
      return "U8";
    case kBool:
      return "BOOL";
  }
  return "?";
}

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  float magnitude;
  if (exp == 0)
    magnitude = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31)
    magnitude = mant ? NAN : INFINITY;
  else
    magnitude = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  uint32_t bits = std::bit_cast<uint32_t>(magnitude) | sign;
  return std::bit_cast<float>(bits);
}

float bfloat_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

struct Entry {
  std::string name;
  std::string code;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

// The codes ember reads: its own dtypes, and F16 / BF16 widened to float32.
constexpr std::array<std::pair<std::string_view, DType>, 6> kCodes{{{"F32", kFloat32},
                                                                    {"F64", kFloat64},
                                                                    {"I64", kInt64},
                                                                    {"I32", kInt32},
                                                                    {"U8", kUInt8},
                                                                    {"BOOL", kBool}}};

size_t code_size(const std::string& code) {
  for (const auto& [name, dtype] : kCodes)
    if (code == name) return element_size(dtype);
  if (code == "F16" || code == "BF16") return 2;
  return 0;
}

DType code_dtype(const std::string& code) {
  for (const auto& [name, dtype] : kCodes)
    if (code == name) return dtype;
  fail("load_safetensors: no dtype for code ", code);
}

Entry parse_entry(const std::string& file, const std::string& name, const nlohmann::json& j) {
  auto bad = [&](const auto&... what) {
    fail("load_safetensors: '", file, "': tensor '", name, "' ", what...);
  };
  if (!j.is_object()) bad("is not a JSON object");
  Entry e{name, "", {}, 0, 0};
  if (!j.contains("dtype") || !j["dtype"].is_string()) bad("has no dtype string");
  e.code = j["dtype"].get<std::string>();
  size_t esize = code_size(e.code);
  if (esize == 0)
    bad("has unsupported dtype '", e.code,
        "' (ember reads F32, F64, I64, I32, U8, BOOL, F16, BF16)");
  if (!j.contains("shape") || !j["shape"].is_array()) bad("has no shape array");
  uint64_t count = 1;
  for (const auto& s : j["shape"]) {
    if (!s.is_number_unsigned()) bad("has a shape entry that is not a non-negative integer");
    auto v = s.get<uint64_t>();
    if (v > 0 && count > std::numeric_limits<uint64_t>::max() / 16 / v)
      bad("has a shape too large");
    count *= v;
    e.shape.push_back(static_cast<int64_t>(v));
  }
  const auto& off = j.contains("data_offsets") ? j["data_offsets"] : nlohmann::json();
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned())
    bad("has no data_offsets pair of non-negative integers");
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();
  if (e.end < e.begin)
    bad("has data_offsets [", e.begin, ", ", e.end, "] that end before they begin");
  if (e.end - e.begin != count * esize)
    bad("has shape ", shape_str(e.shape), " of ", e.code, " (", count * esize,
        " bytes) but data_offsets span ", e.end - e.begin, " bytes");
  return e;
}

Tensor read_entry(const Entry& e, const char* data) {
  const char* src = data + e.begin;
  if (e.code == "F16" || e.code == "BF16") {
    Tensor t = empty(e.shape, kFloat32);
    float* dst = t.data_ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      dst[i] = e.code == "F16" ? half_to_float(h) : bfloat_to_float(h);
    }
    return t;
  }
  Tensor t = empty(e.shape, code_dtype(e.code));
  if (t.dtype() == kBool) {  // any byte but 0 is true: a bool must hold 0 or 1
    bool* dst = t.data_ptr<bool>();
    for (int64_t i = 0; i < t.numel(); ++i) dst[i] = src[i] != 0;
    return t;
  }
  std::memcpy(t.raw_data(), src, e.end - e.begin);
  return t;
}

}  // namespace

TensorMap parse_safetensors(const std::string& bytes, const std::string& file, Metadata* metadata) {
  auto bad = [&](const auto&... what) { fail("load_safetensors: '", file, "': ", what...); };
  if (bytes.size() < 8)
    bad("is truncated: ", bytes.size(), " bytes, too short for the header length");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > kMaxHeader) bad("header length ", n, " exceeds the limit of ", kMaxHeader, " bytes");
  if (n > bytes.size() - 8)
    bad("is truncated: header length ", n, " but only ", bytes.size() - 8, " bytes follow");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<int64_t>(n));
  } catch (const nlohmann::json::exception& ex) {
    bad("header is not valid JSON (", ex.what(), ")");
  }
  if (!header.is_object()) bad("header is not a JSON object");
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) bad("__metadata__ is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) bad("metadata value for '", mk, "' is not a string");
        if (metadata) (*metadata)[mk] = mv.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(file, key, value));
  }
  uint64_t data_size = bytes.size() - 8 - n;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) {  // empty ranges first at a shared start
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  uint64_t covered = 0;
  for (const Entry& e : entries) {
    if (e.end > data_size)
      bad("tensor '", e.name, "' has data_offsets [", e.begin, ", ", e.end,
          "] outside the data buffer of ", data_size, " bytes (file truncated?)");
    if (e.begin < covered) bad("tensor '", e.name, "' overlaps the tensor before it");
    if (e.begin > covered) bad("the data buffer has a hole before tensor '", e.name, "'");
    covered = e.end;
  }
  if (covered != data_size)
    bad("the data buffer has ", data_size - covered, " trailing bytes no tensor uses");
  TensorMap out;
  const char* data = bytes.data() + 8 + n;
  for (const Entry& e : entries) out.emplace(e.name, read_entry(e, data));
  return out;
}

TensorMap load_safetensors(const std::string& path, Metadata* metadata) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), "load_safetensors: cannot open '", path, "'");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  check(!in.bad(), "load_safetensors: error reading '", path, "'");
  return parse_safetensors(buffer.str(), path, metadata);
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<Tensor> dense;
  for (const auto& [name, t] : tensors) {
    check(t.defined(), "save_safetensors: tensor '", name, "' is undefined");
    check(name != "__metadata__", "save_safetensors: '__metadata__' is reserved");
    Tensor c = kernels::contiguous(t);
    uint64_t nbytes = c.numel() * element_size(c.dtype());
    header[name] = {{"dtype", dtype_code(c.dtype())},
                    {"shape", Shape(c.sizes().begin(), c.sizes().end())},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    dense.push_back(c);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // pad so the data starts 8-byte aligned
  std::string bytes(8, '\0');
  uint64_t n = json.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes += json;
  bytes.reserve(bytes.size() + offset);
  for (const Tensor& c : dense)
    bytes.append(static_cast<const char*>(c.raw_data()), c.numel() * element_size(c.dtype()));
  write_file_atomically(path, bytes, "save_safetensors");
}

}  // namespace ember

// safetensors: round trips for every dtype, a file written by Python with json + struct, and
// malformed files rejected with a message that names the file and the problem.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "helpers.h"

using namespace ember;
using ember::testing::values;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("ember_test_" + name)).string();
}

// A file from a header string and a data buffer, with a chosen header length field.
std::string file_bytes(const std::string& header, const std::string& data, int64_t length = -1) {
  uint64_t n = length < 0 ? header.size() : static_cast<uint64_t>(length);
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &n, 8);
  return bytes + header + data;
}

}  // namespace

TEST_CASE("round trip of every dtype, views and metadata") {
  manual_seed(9);
  Tensor f = randn({3, 4});
  TensorMap tensors{{"f32", f},
                    {"f64", randn({2, 2, 2}, kFloat64)},
                    {"i64", arange(5)},
                    {"strided", transpose(f, 0, 1)},
                    {"scalar", scalar_tensor(2.5, kFloat64)},
                    {"empty", zeros({0, 3})}};
  std::string path = temp_path("roundtrip.safetensors");
  save_safetensors(path, tensors, {{"epoch", "3"}});
  Metadata meta;
  TensorMap back = load_safetensors(path, &meta);
  CHECK(meta.at("epoch") == "3");
  REQUIRE(back.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    CAPTURE(name);
    CHECK(back.at(name).dtype() == t.dtype());
    CHECK(ember::testing::shape(back.at(name)) == ember::testing::shape(t));
    CHECK(values(back.at(name)) == values(t));
  }
  std::filesystem::remove(path);
  // No temporary file is left behind.
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    CHECK(entry.path().string().find("roundtrip.safetensors.tmp") == std::string::npos);
}

TEST_CASE("reads a file written by Python with json + struct") {
  Metadata meta;
  TensorMap t = load_safetensors(std::string(EMBER_GOLDEN_DIR) + "/python_written.safetensors", &meta);
  CHECK(meta.at("written_by") == "python json+struct");
  CHECK(values(t.at("f32")) == std::vector<double>{0, 0.25, 0.5, 0.75, 1, 1.25});
  CHECK(ember::testing::shape(t.at("f32")) == Shape{2, 3});
  CHECK(values(t.at("f64")) == std::vector<double>{1e-300, -2.5, M_PI});
  CHECK(values(t.at("i64")) == std::vector<double>{-double(int64_t{1} << 62), 7});
  CHECK(t.at("i64").data_ptr<int64_t>()[0] == -(int64_t{1} << 62));
  CHECK(values(t.at("f16")) == std::vector<double>{0.5, -1.5, 65504.0});
  CHECK(t.at("f16").dtype() == kFloat32);
  CHECK(values(t.at("bf16")) == std::vector<double>{1.0, -2.0, 0.25});
  CHECK(t.at("scalar").dim() == 0);
  CHECK(t.at("scalar").item<double>() == 3.25);
  CHECK(ember::testing::shape(t.at("empty")) == Shape{0, 2});
}

TEST_CASE("malformed files are rejected with the problem named") {
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data(8, '\0');
  REQUIRE(parse_safetensors(file_bytes(ok_header, data), "ok").size() == 1);
  struct Case {
    std::string bytes, message;
  };
  std::vector<Case> cases{
      {"abc", "is truncated: 3 bytes, too short for the header length"},
      {file_bytes(ok_header, data, 200'000'000), "header length 200000000 exceeds the limit"},
      {file_bytes(ok_header, data, 5000), "is truncated: header length 5000 but only"},
      {file_bytes("{not json", ""), "header is not valid JSON"},
      {file_bytes("[1, 2]", ""), "header is not a JSON object"},
      {file_bytes(R"({"a":{"dtype":"I16","shape":[1],"data_offsets":[0,2]}})", "xx"),
       "tensor 'a' has unsupported dtype 'I16'"},
      {file_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data),
       "tensor 'a' has shape [3] of F32 (12 bytes) but data_offsets span 8 bytes"},
      {file_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data),
       "shape entry that is not a non-negative integer"},
      {file_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", data),
       "outside the data buffer of 8 bytes"},
      {file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                  std::string(12, '\0')),
       "tensor 'b' overlaps the tensor before it"},
      {file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data),
       "the data buffer has a hole before tensor 'a'"},
      {file_bytes(ok_header, data + "junk"), "4 trailing bytes no tensor uses"},
      {file_bytes(R"({"a":{"dtype":"F32","shape":[2]}})", data), "has no data_offsets pair"},
      {file_bytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", data),
       "has a shape too large"},
      {file_bytes(R"({"__metadata__":{"k":1}})", ""), "metadata value for 'k' is not a string"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    CHECK_THROWS_WITH_AS(parse_safetensors(c.bytes, "bad.safetensors"),
                         doctest::Contains(("load_safetensors: 'bad.safetensors'")), Error);
    CHECK_THROWS_WITH_AS(parse_safetensors(c.bytes, "bad.safetensors"),
                         doctest::Contains(c.message.c_str()), Error);
  }
  CHECK_THROWS_WITH_AS(load_safetensors(temp_path("does_not_exist.safetensors")),
                       doctest::Contains("cannot open"), Error);
}

TEST_CASE("a truncated copy of a real file is rejected, never half-read") {
  std::string path = temp_path("truncate.safetensors");
  save_safetensors(path, {{"w", randn({16, 16})}, {"b", randn({16})}});
  std::ifstream in(path, std::ios::binary);
  std::string full((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t cut : {size_t{0}, size_t{5}, size_t{8}, size_t{40}, full.size() / 2, full.size() - 1}) {
    CAPTURE(cut);
    CHECK_THROWS_AS(parse_safetensors(full.substr(0, cut), path), Error);
  }
  std::filesystem::remove(path);
}

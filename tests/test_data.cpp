// data/: IDX files written here read back (plain and .gz) and bad ones rejected; ImageFolder
// over PNGs written here; the DataLoader's coverage, seeding, thread independence and mid-epoch
// start. The main job end to end: test_main_job.cpp.
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "programs.h"

using namespace ember;
using ember::testing::read_bytes;
using ember::testing::scratch;
using ember::testing::shape;
using ember::testing::values;
using ember::testing::write_bytes;
namespace fs = std::filesystem;

TEST_CASE("IDX files round trip, plain and gzip") {
  fs::path dir = scratch("idx");
  Tensor images = view(arange(0, 2 * 3 * 4, 1, kFloat32) * 10.0, {2, 3, 4});
  for (const char* name : {"images.idx", "images.idx.gz"}) {
    std::string path = (dir / name).string();
    data::save_idx_u8(path, images);
    Tensor back = data::load_idx(path);
    CHECK(shape(back) == Shape{2, 3, 4});
    CHECK(values(back) == values(clamp(images, 0.0, 255.0)));
    CHECK(data::load_idx(path, kInt64).dtype() == kInt64);
  }
  fs::remove_all(dir);
}

TEST_CASE("bad IDX files are rejected before anything is allocated") {
  fs::path dir = scratch("idx_bad");
  const char raw[] =
      "\x00\x00\x08\x02"
      "\x00\x00\x00\x02"
      "\x00\x00\x00\x03"
      "abcdef";
  const std::string good(raw, sizeof raw - 1);  // (embedded zeros: never through const char*)
  write_bytes(dir / "good", good);
  CHECK(shape(data::load_idx((dir / "good").string())) == Shape{2, 3});
  struct Case {
    std::string bytes, message;
  };
  std::vector<Case> cases{
      {"", "is truncated: no 4-byte magic number"},
      {std::string("\x01\x02\x08\x01", 4), "is not an IDX file (magic bytes 1 2 8 1)"},
      {std::string("\x00\x00\x07\x01", 4), "is not an IDX file"},
      {std::string("\x00\x00\x08\x03\x00\x00", 6), "is truncated: the header promises 3 dims"},
      {good.substr(0, good.size() - 4), "is truncated: header says 2 items ([2, 3]), found 0"},
      {good + "xx", "has data after the 6 bytes its header promises"},
      {std::string("\x00\x00\x08\x02\xff\xff\xff\xff\xff\xff\xff\xff", 12),
       "more than the 8589934592 bytes the loader may hold: corrupt"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    write_bytes(dir / "bad", c.bytes);
    CHECK_THROWS_WITH_AS(data::load_idx((dir / "bad").string()),
                         doctest::Contains(c.message.c_str()), Error);
  }
  write_bytes(dir / "bad.gz", std::string("\x1f\x8b\x08\x00garbage", 11));
  CHECK_THROWS_AS(data::load_idx((dir / "bad.gz").string()), Error);
  CHECK_THROWS_WITH_AS(data::load_idx((dir / "missing").string()), doctest::Contains("cannot open"),
                       Error);
  fs::remove_all(dir);
}

// Inputs the fuzzers found (tools/fuzz.sh); each was undefined behaviour before its fix.
TEST_CASE("fuzzing regressions") {
  fs::path dir = scratch("fuzz_regressions");
  // fuzz_idx: an empty tensor whose other dims are huge overflowed the stride computation.
  // (the crash input, byte for byte)
  const char raw[] =
      "\x00\x00\x08\x03"
      "\x00\x00\x00\x00"
      "\xfe\xff\xff\xff"
      "\xff\xf7\xfd\xfc";
  write_bytes(dir / "empty_huge.idx", std::string(raw, sizeof raw - 1));
  Tensor t = data::load_idx((dir / "empty_huge.idx").string());
  CHECK(t.numel() == 0);
  CHECK(shape(t) == Shape{0, 4278190079, 4294442492});
  // fuzz_image: a 26-byte TGA claiming 65535 x 255 pixels kept the decoder busy past the
  // fuzzer's 10 s timeout; such claims are now refused before decoding.
  std::string tga = read_bytes(fs::path(EMBER_SOURCE_DIR) /
                               "tests/fuzz/corpus/image/regression_tga_huge_claim.tga");
  REQUIRE(tga.size() == 26);
  write_bytes(dir / "huge_claim.tga", tga);
  CHECK_THROWS_WITH_AS(
      data::read_image((dir / "huge_claim.tga").string(), 3, 28, 28),
      doctest::Contains("claims 65535x255 pixels, more than its 26 bytes can hold"), Error);
  // fuzz_image: a BMP of height 0 decoded "successfully" and made the resize divide by zero.
  std::string bmp = read_bytes(fs::path(EMBER_SOURCE_DIR) /
                               "tests/fuzz/corpus/image/regression_bmp_zero_height.bmp");
  write_bytes(dir / "zero_height.bmp", bmp);
  CHECK_THROWS_WITH_AS(data::read_image((dir / "zero_height.bmp").string(), 3, 28, 28),
                       doctest::Contains("is 14592x0: an image without pixels"), Error);
  // fuzz_image: a 96-byte PNG whose chunk lengths run past the end made stb allocate 2 GiB;
  // a second one made stb copy from a null pointer. PNGs now decode through libpng.
  for (const char* name : {"regression_png_chunk_past_end.png", "regression_png_empty_idat.png"}) {
    CAPTURE(name);
    std::string png = read_bytes(fs::path(EMBER_SOURCE_DIR) / "tests/fuzz/corpus/image" / name);
    write_bytes(dir / name, png);
    CHECK_THROWS_WITH_AS(
        data::read_image((dir / name).string(), 3, 28, 28),
        doctest::Contains(
            ("read_image: '" + (dir / name).string() + "' is not a readable PNG (").c_str()),
        Error);
  }
  // fuzz_image: an 80-byte JPEG whose Huffman table counts add up to more than 256 codes made
  // stb_image 2.27 write past its 257-entry table (UBSan: index 257 out of bounds). JPEGs now
  // decode through libjpeg-turbo, which refuses the table.
  std::string jpeg = read_bytes(fs::path(EMBER_SOURCE_DIR) /
                                "tests/fuzz/corpus/image/regression_jpeg_huffman_counts.jpg");
  REQUIRE(jpeg.size() == 80);
  write_bytes(dir / "huffman.jpg", jpeg);
  for (int64_t channels : {1, 3}) {
    CHECK_THROWS_WITH_AS(data::read_image((dir / "huffman.jpg").string(), channels, 28, 28),
                         doctest::Contains(("read_image: '" + (dir / "huffman.jpg").string() +
                                            "' is not a readable JPEG (")
                                               .c_str()),
                         Error);
  }
  // What it found: a valid PNG whose first IDAT chunk is empty (stb copies 0 bytes to a null
  // buffer; see CMakeLists.txt). Built here from a written PNG with an empty IDAT inserted
  // before its data: it decodes to the same image.
  Tensor gray = reshape(arange(0, 20, 1, kFloat32) / 20.0, {1, 4, 5});
  data::write_png((dir / "plain.png").string(), gray);
  std::string plain = read_bytes(dir / "plain.png");
  size_t idat = plain.find("IDAT");
  REQUIRE(idat != std::string::npos);
  const unsigned char type[4] = {'I', 'D', 'A', 'T'};
  uint32_t crc = static_cast<uint32_t>(crc32(0, type, 4));
  std::string empty_chunk("\0\0\0\0IDAT", 8);
  for (int shift = 24; shift >= 0; shift -= 8)
    empty_chunk += static_cast<char>((crc >> shift) & 0xff);
  std::string with_empty = plain.substr(0, idat - 4) + empty_chunk + plain.substr(idat - 4);
  write_bytes(dir / "empty_idat.png", with_empty);
  Tensor decoded = data::read_image((dir / "empty_idat.png").string(), 1);
  CHECK_EQUAL_TENSOR(decoded, data::read_image((dir / "plain.png").string(), 1));
  CHECK_CLOSE_ABS(decoded, gray, 0, 1.0 / 255);  // 8-bit rounding
  fs::remove_all(dir);
}

// tools/make_image_goldens.py: small files in tests/golden/images/ and what Pillow, the decoder
// behind torchvision's ImageFolder, reads from each with convert("RGB") and convert("L").
TEST_CASE("read_image decodes JPEG, PNG, BMP and TGA to Pillow's values") {
  TensorMap golden = load_safetensors(std::string(EMBER_GOLDEN_DIR) + "/images.safetensors");
  std::set<std::string> files;
  for (const auto& [key, value] : golden) files.insert(key.substr(0, key.rfind('.')));
  REQUIRE(files.size() == 9);
  for (const std::string& file : files) {
    CAPTURE(file);
    std::string path = std::string(EMBER_GOLDEN_DIR) + "/images/" + file;
    Tensor want_rgb = golden.at(file + ".rgb"), want_gray = golden.at(file + ".gray");
    // read_image gives (C, H, W) in [0, 1]; the goldens are Pillow's (H, W, C) bytes.
    Tensor rgb = permute(data::read_image(path, 3), {1, 2, 0}) * 255.0;
    Tensor gray = select(data::read_image(path, 1), 0, 0) * 255.0;
    REQUIRE(shape(rgb) == shape(want_rgb));
    REQUIRE(shape(gray) == shape(want_gray));
    CHECK_CLOSE_ABS(to(rgb, kFloat64), want_rgb, 0, 1e-3);
    CHECK_CLOSE_ABS(to(gray, kFloat64), want_gray, 0, 1e-3);
  }
}

TEST_CASE("ImageFolder: sorted classes, grayscale and RGB, resize, unreadable files") {
  fs::path root = scratch("folder");
  fs::create_directories(root / "cat");
  fs::create_directories(root / "ant");
  Tensor red = zeros({3, 4, 6});
  select(red, 0, 0).fill_(1.0);
  data::write_png((root / "cat" / "b.png").string(), red);
  data::write_png((root / "cat" / "a.png").string(), full({3, 4, 6}, 0.5));
  data::write_png((root / "ant" / "x.png").string(), full({1, 4, 6}, 0.2));
  data::ImageFolder rgb(root.string());
  CHECK(rgb.classes() == std::vector<std::string>{"ant", "cat"});
  REQUIRE(rgb.size() == 3);
  Generator gen;
  data::Example<> first = rgb.get(0, gen), red_back = rgb.get(2, gen);
  CHECK(first.target.item<int64_t>() == 0);
  CHECK(shape(first.data) == Shape{3, 4, 6});
  CHECK(values(first.data)[0] == doctest::Approx(51 / 255.0));
  CHECK(fs::path(rgb.path(2)).filename() == "b.png");  // files sorted within a class
  CHECK(values(select(red_back.data, 0, 0))[0] == 1.0);
  CHECK(values(select(red_back.data, 0, 1))[0] == 0.0);
  data::ImageFolder gray(root.string(), {.channels = 1, .height = 8, .width = 3});
  CHECK(shape(gray.get(1, gen).data) == Shape{1, 8, 3});
  write_bytes(root / "cat" / "broken.png", "not a png at all");
  data::ImageFolder with_broken(root.string());
  REQUIRE(with_broken.size() == 4);  // ant/x, cat/a, cat/b, cat/broken
  CHECK_THROWS_WITH_AS(with_broken.get(3, gen), doctest::Contains("broken.png"), Error);
  CHECK(data::ImageFolder(root.string(), {.skip_unreadable = true}).size() == 3);
  CHECK_THROWS_WITH_AS(data::ImageFolder((root / "nope").string()),
                       doctest::Contains("is not a directory"), Error);
  fs::remove_all(root);
}

TEST_CASE(
    "DataLoader: every sample once per epoch, seeded order, same batches at 1 and 2 threads") {
  Tensor x = view(arange(0, 103 * 2, 1, kFloat32), {103, 2});
  Tensor y = arange(103);
  auto dataset = std::make_shared<data::TensorDataset>(x, y);
  auto epoch_batches = [&](uint64_t seed, int64_t epoch, bool prefetch) {
    data::DataLoader loader(
        dataset, {.batch_size = 10, .shuffle = true, .seed = seed, .prefetch = prefetch});
    loader.start_epoch(epoch);
    std::vector<std::vector<double>> out;
    while (auto b = loader.next()) {
      CHECK(values(select(b->data, 1, 0)) ==
            values(to(b->targets, kFloat32) * 2.0));  // rows stay paired
      out.push_back(values(b->targets));
    }
    return out;
  };
  auto a = epoch_batches(7, 0, true);
  REQUIRE(a.size() == 11);
  CHECK(a.back().size() == 3);
  std::multiset<double> seen;
  for (auto& batch : a) seen.insert(batch.begin(), batch.end());
  CHECK(seen.size() == 103);
  CHECK(std::set<double>(seen.begin(), seen.end()).size() == 103);
  CHECK(epoch_batches(7, 0, false) == a);
  CHECK(epoch_batches(7, 1, true) != a);
  CHECK(epoch_batches(8, 0, true) != a);
  int before = get_num_threads();
  set_num_threads(1);
  auto one = epoch_batches(7, 3, true);
  set_num_threads(2);
  CHECK(epoch_batches(7, 3, true) == one);
  set_num_threads(before);
  data::DataLoader drop(dataset, {.batch_size = 10, .drop_last = true});
  CHECK(drop.batches_per_epoch() == 10);
}

TEST_CASE("DataLoader: an epoch started at batch k gives that epoch's batches from k on") {
  Tensor x = view(arange(0, 47 * 2, 1, kFloat32), {47, 2});
  auto dataset = std::make_shared<data::TensorDataset>(x, arange(47));
  for (bool prefetch : {true, false}) {
    CAPTURE(prefetch);
    data::DataLoader loader(dataset,
                            {.batch_size = 5, .shuffle = true, .seed = 3, .prefetch = prefetch});
    loader.start_epoch(2);  // the whole of epoch 2, after epochs 0 and 1 were drawn
    std::vector<std::vector<double>> whole;
    while (auto b = loader.next()) whole.push_back(values(b->targets));
    REQUIRE(whole.size() == 10);
    data::DataLoader resumed(dataset,
                             {.batch_size = 5, .shuffle = true, .seed = 3, .prefetch = prefetch});
    resumed.start_epoch(2, 7);
    std::vector<std::vector<double>> rest;
    for (auto& batch : resumed) rest.push_back(values(batch.target));  // range-for: epoch 2 too
    CHECK(rest == std::vector<std::vector<double>>(whole.begin() + 7, whole.end()));
    resumed.start_epoch(2, 10);  // at its end: nothing left
    CHECK_FALSE(resumed.next().has_value());
    CHECK_THROWS_WITH_AS(resumed.start_epoch(2, 11),
                         "DataLoader: epoch 2 has 10 batches; cannot start it at batch 11", Error);
  }
}

TEST_CASE("transforms: normalize, seeded random crop and flip") {
  Tensor img = view(arange(0, 2 * 3 * 3, 1, kFloat32), {2, 3, 3});
  Generator g1(5), g2(5);
  Tensor n = data::Normalize({1.0, 2.0}, {2.0, 4.0})(img, g1);
  CHECK(values(n)[0] == -0.5);
  auto augment = data::Compose({data::RandomCrop(3, 1), data::RandomHorizontalFlip(0.5)});
  CHECK(values(augment(img, g1)) == values(augment(img, g2)));
  CHECK(shape(augment(img, g1)) == Shape{2, 3, 3});
  Generator always;
  Tensor flipped = data::RandomHorizontalFlip(1.0)(img, always);
  CHECK(values(select(select(flipped, 0, 0), 0, 0)) == values(tensor({2, 1, 0})));
}

TEST_CASE("DataLoader with a DistributedSampler: the rank's shard, padded or each index once") {
  auto dataset = std::make_shared<data::TensorDataset>(arange(10), arange(10));
  auto sampler = std::make_shared<data::DistributedSampler>(
      10, data::DistributedSamplerOptions{.num_replicas = 3, .rank = 1, .shuffle = false});
  data::DataLoader loader(dataset, {.batch_size = 2, .sampler = sampler});
  CHECK(loader.batches_per_epoch() == 2);
  CHECK(values(loader.next()->targets) == std::vector<double>{1, 4});
  CHECK(values(loader.next()->targets) == std::vector<double>{7, 0});  // padded from the start
  std::vector<int64_t> all;
  for (int64_t rank = 0; rank < 3; ++rank) {
    data::DistributedSampler even(
        10, {.num_replicas = 3, .rank = rank, .shuffle = true, .seed = 2, .pad = false});
    auto shard = even.indices(5);
    CHECK(static_cast<int64_t>(shard.size()) == even.num_samples());
    all.insert(all.end(), shard.begin(), shard.end());
  }
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK_THROWS_WITH_AS(data::DataLoader(dataset, {.shuffle = true, .sampler = sampler}),
                       doctest::Contains("shuffle must be false with a sampler"), Error);
  CHECK_THROWS_WITH_AS(data::DistributedSampler(10, {.num_replicas = 2, .rank = 2}),
                       doctest::Contains("rank 2 is not in [0, 2)"), Error);
}

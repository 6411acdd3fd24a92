// bool, uint8 and int32 next to the floating types and int64: PyTorch's promotion table, checked
// against PyTorch's own answers through the ops themselves; masks; conversions; files; printing.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "helpers.h"

using namespace ember;
using testing::values;

namespace {

DType dtype_named(const std::string& name) {
  for (DType d : {kFloat32, kFloat64, kInt64, kBool, kUInt8, kInt32})
    if (dtype_name(d) == name) return d;
  FAIL("unknown dtype name in promotion.txt: ", name);
  return kFloat32;
}

Scalar scalar_named(const std::string& kind) {
  if (kind == "bool") return Scalar(true);
  if (kind == "int") return Scalar(1);
  return Scalar(0.5);
}

// ember's answer to one question of tests/golden/promotion.txt, asked of the ops, not the table.
std::string answer(const std::string& question, std::istringstream& in) {
  std::string a, b;
  in >> a;
  Tensor x = ones({2}, dtype_named(a));
  if (question == "sum") return std::string(dtype_name(x.sum().dtype()));
  if (question == "all") return std::string(dtype_name(x.all().dtype()));
  in >> b;
  if (question == "add_scalar") return std::string(dtype_name((x + scalar_named(b)).dtype()));
  DType db = dtype_named(b);
  Tensor y = ones({2}, db);
  if (question == "promote") return std::string(dtype_name(promote_types(dtype_named(a), db)));
  if (question == "add") return std::string(dtype_name((x + y).dtype()));
  if (question == "add_zerodim") return std::string(dtype_name((x + ones({}, db)).dtype()));
  if (question == "div") return std::string(dtype_name((x / y).dtype()));
  if (question == "eq") return std::string(dtype_name((x == y).dtype()));
  if (question == "can_cast") return can_cast(dtype_named(a), db) ? "1" : "0";
  FAIL("unknown question in promotion.txt: ", question);
  return "";
}

}  // namespace

TEST_CASE("type promotion gives PyTorch's dtype for every pair, through the ops") {
  std::ifstream file(std::string(EMBER_GOLDEN_DIR) + "/promotion.txt");
  REQUIRE(file.good());
  int64_t checked = 0;
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string question, want;
    in >> question;
    std::string got = answer(question, in);
    in >> want;
    CHECK_MESSAGE(got == want, line, ": ember says ", got);
    ++checked;
  }
  CHECK(checked == 246);  // 6 dtypes: 3 + 3 scalar kinds each, 6 questions per ordered pair
}

TEST_CASE("mixed dtypes compute in the promoted dtype and each input gets its own gradient") {
  Tensor a = tensor({1.5, 2.0}, TensorOptions().dtype(kFloat32).requires_grad(true));
  Tensor b = tensor({0.25, 4.0}, TensorOptions().dtype(kFloat64).requires_grad(true));
  Tensor y = a * b;
  CHECK(y.dtype() == kFloat64);
  CHECK(values(y) == std::vector<double>{0.375, 8.0});
  y.sum().backward();
  CHECK(a.grad().dtype() == kFloat32);
  CHECK(values(a.grad()) == std::vector<double>{0.25, 4.0});
  CHECK(b.grad().dtype() == kFloat64);
  // int64 + 0.5 is float32; int64 / int64 is true division; int64 + 1 stays int64.
  Tensor i = tensor({1, 2, 3});
  CHECK((i + 0.5).dtype() == kFloat32);
  CHECK(values(i / 2) == std::vector<double>{0.5, 1.0, 1.5});
  CHECK((i + 1).dtype() == kInt64);
  CHECK(values(i * 3) == std::vector<double>{3, 6, 9});
}

TEST_CASE("uint8 and int32 arithmetic wraps as C's unsigned and PyTorch's does") {
  Tensor u = tensor({200, 100, 5}, kUInt8);
  CHECK(values(u + tensor({100, 100, 5}, kUInt8)) == std::vector<double>{44, 200, 10});
  CHECK(values(u - 10) == std::vector<double>{190, 90, 251});
  Tensor w = tensor({2147483647, -5}, kInt32);
  CHECK((w + 1).dtype() == kInt32);
  CHECK(values(w * 2) == std::vector<double>{-2, -10});
}

TEST_CASE("comparisons return bool masks that index, select, fill and reduce") {
  Tensor x = tensor({{-1.0, 2.0, -3.0}, {4.0, -5.0, 6.0}});
  Tensor m = x > 0.0;
  CHECK(m.dtype() == kBool);
  CHECK(values(m) == std::vector<double>{0, 1, 0, 1, 0, 1});
  CHECK(values(x.index({m})) == std::vector<double>{2, 4, 6});
  CHECK(values(x.masked_select(m)) == std::vector<double>{2, 4, 6});
  CHECK(values(x.masked_fill(m, 0.0)) == std::vector<double>{-1, 0, -3, 0, -5, 0});
  CHECK(values(where(m, x, 0.0)) == std::vector<double>{0, 2, 0, 4, 0, 6});
  CHECK(m.sum().item<int64_t>() == 3);
  CHECK(m.sum().dtype() == kInt64);
  CHECK(values(m.any(1)) == std::vector<double>{1, 1});
  CHECK(values(m.all(1)) == std::vector<double>{0, 0});
  CHECK(!m.all().item<bool>());
  CHECK(zeros({0}, kBool).all().item<bool>());  // all of nothing is true
  CHECK(!zeros({0}, kBool).any().item<bool>());
  // x[mask] = value, the idiom x[x < 0] = 0:
  Tensor c = x.clone();
  c.index_put_({c < 0.0}, 0.0);
  CHECK(values(c) == std::vector<double>{0, 2, 0, 4, 0, 6});
  // A mask over the first dim only selects rows, with the rest of the dims kept.
  CHECK(values(x.index({tensor({false, true})})) == std::vector<double>{4, -5, 6});
  CHECK_THROWS_WITH_AS(x.index({tensor({true, false, true})}),
                       "index: the shape of the mask [3] at index 0 does not match the shape of "
                       "the indexed tensor [2, 3] at index 0",
                       Error);
  CHECK_THROWS_WITH_AS(where(x, x, x),
                       "where: expected the condition to be a bool tensor, got float32", Error);
  CHECK_THROWS_WITH_AS(x.masked_select(x), "masked_select: expected a bool mask, got float32",
                       Error);
}

TEST_CASE("the gradient flows through a bool mask index to the selected elements") {
  Tensor x = tensor({1.0, -2.0, 3.0, -4.0}, TensorOptions().dtype(kFloat64).requires_grad(true));
  (x.index({x > 0.0}) * 5.0).sum().backward();
  CHECK(values(x.grad()) == std::vector<double>{5, 0, 5, 0});
}

TEST_CASE("logical and bitwise ops") {
  Tensor a = tensor({true, true, false, false}), b = tensor({true, false, true, false});
  CHECK(values(a & b) == std::vector<double>{1, 0, 0, 0});
  CHECK(values(a | b) == std::vector<double>{1, 1, 1, 0});
  CHECK(values(a ^ b) == std::vector<double>{0, 1, 1, 0});
  CHECK(values(~a) == std::vector<double>{0, 0, 1, 1});
  CHECK((~a).dtype() == kBool);
  CHECK(values(logical_and(a, b)) == std::vector<double>{1, 0, 0, 0});
  CHECK(values(logical_or(a, b)) == std::vector<double>{1, 1, 1, 0});
  CHECK(values(logical_xor(a, b)) == std::vector<double>{0, 1, 1, 0});
  CHECK(values(logical_and(tensor({2.0, 0.0}), tensor({-1, 3}))) == std::vector<double>{1, 0});
  CHECK(values(logical_not(tensor({0.5, 0.0}))) == std::vector<double>{0, 1});
  CHECK(values(tensor({12}, kInt32) & tensor({10}, kInt32)) == std::vector<double>{8});
  CHECK(values(~tensor({0}, kUInt8)) == std::vector<double>{255});
  CHECK_THROWS_WITH_AS(tensor({1.0}) & tensor({1.0}),
                       "bitwise_and: expected bool or integer tensors, got float32", Error);
  CHECK_THROWS_WITH_AS(a - b, doctest::Contains("sub: subtraction of bool tensors"), Error);
  CHECK_THROWS_WITH_AS(-a, doctest::Contains("neg: negation of bool tensors"), Error);
}

TEST_CASE("conversions: to bool is != 0; floating to integral truncates; NaN is 0") {
  Tensor x = tensor({-1.5, 0.0, 0.25, 2.9, NAN}, kFloat64);
  CHECK(values(x.to(kBool)) == std::vector<double>{1, 0, 1, 1, 1});
  CHECK(values(x.to(kInt32)) == std::vector<double>{-1, 0, 0, 2, 0});
  CHECK(values(tensor({300, -1}).to(kUInt8)) == std::vector<double>{44, 255});
  CHECK(values(tensor({1e30}).to(kInt64)) == std::vector<double>{0});
}

TEST_CASE("in-place ops refuse a result their tensor cannot hold, as PyTorch") {
  Tensor i = tensor({1, 2});
  CHECK_THROWS_WITH_AS(i.add_(0.5),
                       "add_: result type float32 can't be cast to the desired output type int64",
                       Error);
  CHECK_THROWS_WITH_AS(i /= 2, doctest::Contains("div_: result type float32"), Error);
  Tensor f = tensor({1.0, 2.0});
  f += tensor({1, 1});  // int64 into float32 is fine
  CHECK(values(f) == std::vector<double>{2, 3});
}

TEST_CASE("bool, uint8 and int32 tensors print as PyTorch's and round-trip through safetensors") {
  std::ostringstream a, b;
  a << tensor({true, false});
  CHECK(a.str() == "tensor([ True, False])");
  b << tensor({1, 2}, kInt32);
  CHECK(b.str() == "tensor([1, 2], dtype=int32)");
  const TensorMap& py = testing::golden_file("sampling.safetensors");
  CHECK(py.at("written.bool").dtype() == kBool);
  CHECK(values(py.at("written.bool")) == std::vector<double>{1, 0, 1});
  CHECK(values(py.at("written.uint8")) == std::vector<double>{0, 200, 255});
  CHECK(values(py.at("written.int32")) == std::vector<double>{-5, 7, 2147483647});
  std::string path =
      (std::filesystem::temp_directory_path() / "ember_test_dtypes.safetensors").string();
  save_safetensors(path, {{"b", py.at("written.bool")}, {"u", py.at("written.uint8")}});
  TensorMap back = load_safetensors(path);
  CHECK(back.at("b").dtype() == kBool);
  CHECK(values(back.at("u")) == std::vector<double>{0, 200, 255});
}

TEST_CASE("from_blob wraps the caller's memory: no copy, strides, a deleter, checks") {
  std::vector<float> data{1, 2, 3, 4, 5, 6};
  Tensor t = from_blob(data.data(), {2, 3});
  CHECK(t.dtype() == kFloat32);
  t.mul_(2.0);
  CHECK(data == std::vector<float>{2, 4, 6, 8, 10, 12});
  Tensor col = from_blob(data.data(), {3}, {2});  // every other element
  CHECK(values(col) == std::vector<double>{2, 6, 10});
  bool freed = false;
  {
    auto* owned = new int64_t[2]{7, 8};
    Tensor o = from_blob(
        owned, {2}, [&](void* p) { delete[] static_cast<int64_t*>(p), freed = true; }, kInt64);
    Tensor view = o.narrow(0, 1, 1);
    o = Tensor();
    CHECK(!freed);  // the view still holds the memory
    CHECK(view.item<int64_t>() == 8);
  }
  CHECK(freed);
  std::vector<double> d{1, 2};
  Tensor g = from_blob(d.data(), {2}, TensorOptions().dtype(kFloat64).requires_grad(true));
  CHECK(g.requires_grad());
  CHECK_THROWS_WITH_AS(from_blob(reinterpret_cast<char*>(data.data()) + 1, {2}),
                       doctest::Contains("is not aligned to its 4-byte float32 elements"), Error);
  CHECK_THROWS_WITH_AS(from_blob(data.data(), {2}, {-1}), "from_blob: negative stride -1 in [-1]",
                       Error);
}

TEST_CASE("bernoulli, exponential_ and multinomial draw PyTorch's samples for a seed") {
  const TensorMap& py = testing::golden_file("sampling.safetensors");
  manual_seed(0);
  CHECK(testing::mismatch(bernoulli(py.at("p_f32")), py.at("bernoulli_f32"), 0) == "");
  CHECK(testing::mismatch(bernoulli(py.at("p_f64")), py.at("bernoulli_f64"), 0) == "");
  CHECK(testing::mismatch(empty({300}).bernoulli_(0.3), py.at("bernoulli_p"), 0) == "");
  CHECK(testing::mismatch(empty({200}, kFloat64).exponential_(2.5), py.at("exponential"), 0) == "");
  const Tensor& w = py.at("weights");
  CHECK(testing::mismatch(multinomial(w, 50, true), py.at("multinomial_replacement"), 0) == "");
  CHECK(testing::mismatch(multinomial(w, 3), py.at("multinomial_no_replacement"), 0) == "");
  CHECK(testing::mismatch(w[1].multinomial(1), py.at("multinomial_one"), 0) == "");
  CHECK(testing::mismatch(multinomial(w.to(kFloat64), 40, true), py.at("multinomial_f64"), 0) ==
        "");
}

TEST_CASE("sampling refuses what PyTorch refuses") {
  CHECK_THROWS_WITH_AS(bernoulli(tensor({0.5, 1.5})),
                       "bernoulli: expected every probability of [2] to be in [0, 1]", Error);
  CHECK_THROWS_WITH_AS(multinomial(tensor({1.0, 2.0}), 3),
                       "multinomial: cannot draw 3 samples without replacement from 2 categories",
                       Error);
  CHECK_THROWS_WITH_AS(multinomial(tensor({0.0, 0.0}), 1),
                       doctest::Contains("row 0 of [2] sums to 0"), Error);
  CHECK_THROWS_WITH_AS(multinomial(tensor({1.0, -1.0}), 1, true),
                       doctest::Contains("contains inf, nan or an element < 0"), Error);
  CHECK_THROWS_WITH_AS(multinomial(tensor({1, 2}), 1), doctest::Contains("floating"), Error);
}

TEST_CASE("multinomial's frequencies follow the weights (a loop count, 20000 draws)") {
  manual_seed(3);
  Tensor w = tensor({1.0, 0.0, 3.0, 6.0});
  Tensor s = multinomial(w, 20000, true);
  std::vector<double> counts(4, 0);
  for (double v : values(s)) counts[static_cast<size_t>(v)] += 1;
  CHECK(counts[1] == 0);
  for (size_t k : {0, 2, 3}) CHECK(std::abs(counts[k] / 20000 - values(w)[k] / 10) < 0.015);
  // Without replacement every draw of a row is a different category.
  Tensor d = multinomial(tensor({1.0, 1.0, 1.0, 1.0, 1.0}), 5);
  auto v = values(std::get<0>(d.sort()));
  CHECK(v == std::vector<double>{0, 1, 2, 3, 4});
}

TEST_CASE("sums and products of bool and integer tensors run in int64, as PyTorch's") {
  Tensor b = tensor({true, true, false}), u = tensor({200, 2}, kUInt8);
  CHECK(b.cumsum(0).dtype() == kInt64);
  CHECK(values(b.cumsum(0)) == std::vector<double>{1, 2, 2});
  CHECK(values(u.prod()) == std::vector<double>{400});
  CHECK(values(u.cumprod(0)) == std::vector<double>{200, 400});
  CHECK(tensor({3, 4}, kInt32).prod().dtype() == kInt64);
  CHECK(u.max().dtype() == kUInt8);
  CHECK(std::get<0>(u.sort()).dtype() == kUInt8);
}

TEST_CASE("a brace list's dtype is libtorch's, whatever C++ types its numbers have") {
  int64_t n = int64_t{1} << 40;
  Tensor mixed = tensor({n, -n, 5});
  CHECK(mixed.dtype() == kInt64);
  CHECK(mixed[0].item<int64_t>() == n);  // exact, not through a double
  CHECK(tensor({1, 2.5}).dtype() == kFloat32);
  CHECK(tensor({{n, 1}, {2, 3}}).dtype() == kInt64);
  CHECK(shape_of(tensor({{1}, {2}})) == Shape{2, 1});
  CHECK(tensor({true, false}).dtype() == kBool);
  CHECK(tensor({1.0, 2.0}).dtype() == kFloat32);
  CHECK(tensor({1, 2}, kUInt8).dtype() == kUInt8);
}

TEST_CASE("alpha is a Scalar too: an integer alpha keeps an integer add_ integer") {
  Tensor i = tensor({1, 2});
  i.add_(tensor({3, 4}), 2);
  CHECK(i.dtype() == kInt64);
  CHECK(values(i) == std::vector<double>{7, 10});
  CHECK(values(tensor({1.0, 2.0}).sub(tensor({2.0, 2.0}), 0.5)) == std::vector<double>{0, 1});
  CHECK_THROWS_WITH_AS(i.add_(i, 0.5), doctest::Contains("add_: result type float32"), Error);
}

TEST_CASE("images load as their uint8 bytes when asked, as torchvision.io.read_image") {
  Tensor image = tensor({0, 10, 128, 255, 7, 99}, kUInt8).reshape({1, 2, 3});
  std::string path = (std::filesystem::temp_directory_path() / "ember_test_u8.png").string();
  data::write_png(path, image);  // uint8 is written as it is
  Tensor bytes = data::read_image(path, 1, 0, 0, kUInt8);
  CHECK(bytes.dtype() == kUInt8);
  CHECK(values(bytes) == std::vector<double>{0, 10, 128, 255, 7, 99});
  CHECK(testing::mismatch(data::read_image(path, 1), bytes.to(kFloat32) / 255, 0) == "");
  CHECK_THROWS_WITH_AS(data::read_image(path, 1, 0, 0, kInt64),
                       doctest::Contains("images load as uint8 or a floating dtype, not int64"),
                       Error);
}

TEST_CASE("signed integers wrap around on overflow instead of being undefined") {
  Tensor big = tensor({int64_t{9223372036854775807}});
  CHECK((big + 1).item<int64_t>() == std::numeric_limits<int64_t>::min());
  CHECK((tensor({-2147483647 - 1}, kInt32) - 1).item<int>() == 2147483647);
  CHECK((-tensor({-2147483647 - 1}, kInt32)).item<int>() == -2147483647 - 1);
  CHECK((tensor({65536}, kInt32) * tensor({65536}, kInt32)).item<int>() == 0);
}

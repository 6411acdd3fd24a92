// Python's indexing (autograd/indexing.h) and scatter: their lines of the gradient-check table,
// and the rules PyTorch's goldens (test_golden.cpp) do not spell out one by one: views for basic
// entries, where the broadcast dims go, writes through index_put_, bounds and the errors that
// name them; one_hot and accessor, against loops.
#include "helpers.h"

using namespace ember;
using namespace ember::indexing;
using ember::testing::values;
using Inputs = std::vector<Tensor>;
using Line = ember::testing::GradcheckLine;

namespace {
Tensor in(const Shape& s) { return randn(s, kFloat64).requires_grad_(); }
}  // namespace

std::vector<Line> ember::testing::indexing_lines() {
  manual_seed(78);
  Tensor i = tensor({{0, 2}, {1, 1}}), j = tensor({3, 0}), twice = tensor({1, 1, 0});
  Tensor once = tensor({{0, 2}, {1, 0}}), rows = tensor({{1, 0}, {0, 1}});
  Tensor mask = tensor({{1, 0, 1, 1}, {0, 0, 1, 0}, {1, 1, 0, 1}}) != 0;
  return {
      {"index",
       [](const Inputs& x) {
         return x[0].index({Slice(1, None), None, "...", Slice(None, None, 2)});
       },
       {in({3, 2, 4})}},
      {"index",
       [i, j](const Inputs& x) {
         return x[0].index({Slice(), i, j});
       },
       {in({2, 3, 4})}},
      {"index",  // apart: the broadcast dims go in front; repeated positions add up
       [twice, j](const Inputs& x) {
         return x[0].index({twice, 1, j.index({Slice(0, 1)})});
       },
       {in({3, 2, 4})}},
      {"index_put",
       [i, j](const Inputs& x) {
         return index_put(x[0] * 1.0, {Slice(), i, j}, x[1]);
       },
       {in({2, 3, 4}), in({2, 1})}},
      {"index_put",
       [twice](const Inputs& x) { return index_put(x[0], {twice}, x[1], /*accumulate=*/true); },
       {in({3, 4}), in({4})}},
      // src larger than index: its corner is read. No position twice: PyTorch's gradient, which
      // ember's is, reaches every src entry aimed at a position, not only the one that stays.
      {"scatter(Tensor, int64_t, Tensor, Tensor)",
       [once](const Inputs& x) { return scatter(x[0], 1, once, x[1]); },
       {in({2, 3}), in({2, 3})}},
      {"scatter(Tensor, int64_t, Tensor, double)",
       [rows](const Inputs& x) { return x[0].scatter(0, rows, -1.5) * x[0]; },
       {in({2, 3})}},
      {"masked_select",
       [mask](const Inputs& x) { return masked_select(x[0], mask); },
       {in({3, 4})}},
  };
}

TEST_CASE("basic entries are views, and integers go before tensors") {
  Tensor x = reshape(arange(24), {2, 3, 4});
  Tensor v = x.index({1, Slice(None, None, 2), "..."});
  CHECK(shape_of(v) == Shape{2, 4});
  CHECK(v.storage() == x.storage());  // a view: no copy
  CHECK(values(v) == std::vector<double>{12, 13, 14, 15, 20, 21, 22, 23});
  CHECK(shape_of(x.index({None, "...", None})) == Shape{1, 2, 3, 4, 1});
  CHECK(shape_of(x.index({Ellipsis, 0})) == Shape{2, 3});
  CHECK(values(x[1][2]) == std::vector<double>{20, 21, 22, 23});
  CHECK(values(x.index({-1, -1, Slice(-2, None)})) == std::vector<double>{22, 23});
  // tensors: adjacent dims keep their place, apart ones go in front; x[0, :, t] is (3, 2)
  Tensor t = tensor({3, 0});
  CHECK(shape_of(x.index({0, Slice(), t})) == Shape{3, 2});
  CHECK(values(x.index({0, Slice(), t})) == std::vector<double>{3, 0, 7, 4, 11, 8});
  CHECK(shape_of(x.index({tensor({1, 0}), Slice(), t})) == Shape{2, 3});
  CHECK(shape_of(x.index({Slice(), tensor({{0}, {2}}), t})) == Shape{2, 2, 2});
  CHECK(values(x[tensor({-1})]) == values(x.index({Slice(1, 2)})));
  CHECK(values(nonzero(tensor({{0, 3}, {5, 0}}))) == std::vector<double>{0, 1, 1, 0});
  CHECK(shape_of(nonzero(zeros({2, 2}))) == Shape{0, 2});
}

TEST_CASE("index_put_ writes through the indices into the tensor") {
  Tensor x = zeros({3, 4});
  x.index_put_({Slice(), 1}, 5.0);
  x.index_put_({tensor({0, 2}), tensor({3, 0})}, tensor({7.0f, 8.0f}));
  x.index_put_({tensor({1, 1})}, tensor({1.0f, 1.0f, 1.0f, 1.0f}), /*accumulate=*/true);
  CHECK(values(x) == std::vector<double>{0, 5, 0, 7, 2, 7, 2, 2, 8, 5, 0, 0});
  Tensor y = zeros({2, 3});
  y[1].index_put_({Slice(1, None)}, 4.0);  // a view of y: y changes
  CHECK(values(y) == std::vector<double>{0, 0, 0, 0, 4, 4});
  Tensor w = zeros({2}, kFloat64).requires_grad_();
  CHECK_THROWS_WITH_AS(w.index_put_({0}, 1.0), doctest::Contains("index_put_"), Error);
  CHECK_THROWS_WITH_AS(x.index_put_({0}, tensor({1.0, 2.0}, kFloat64)),
                       doctest::Contains("index_put: values of dtype float64"), Error);
}

TEST_CASE("bad indices are errors that name the dim, the size and the index") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_AS(x.index({0, 0, 0}),
                       doctest::Contains("too many indices for a tensor of dimension 2"), Error);
  CHECK_THROWS_WITH_AS(x.index({0, 3}),
                       doctest::Contains("index 3 is out of bounds for dimension 0 with size 3"),
                       Error);
  CHECK_THROWS_WITH_AS(x.index({Slice(), tensor({0, -4})}),
                       doctest::Contains("index -4 is out of bounds for dimension 1 with size 3"),
                       Error);
  CHECK_THROWS_WITH_AS(x.index({"...", "..."}), doctest::Contains("one ellipsis"), Error);
  CHECK_THROWS_WITH_AS(x.index({"::"}), doctest::Contains("the only string an index takes"), Error);
  CHECK_THROWS_WITH_AS(x.index({tensor({0.0f})}),
                       doctest::Contains("tensors used as indices must be int64"), Error);
  CHECK_THROWS_WITH_AS(x.index({Slice(0, 2, 0)}), doctest::Contains("step must be greater"), Error);
  CHECK_THROWS_WITH_AS(x.index({tensor({0, 1}), tensor({0, 1, 2})}),
                       doctest::Contains("cannot be broadcast"), Error);
}

TEST_CASE("scatter writes, one_hot marks classes, where and accessor as libtorch's") {
  Tensor x = zeros({2, 4});
  Tensor idx = tensor({{3, 0}, {1, 1}});
  x.scatter_(1, idx, tensor({{1.0f, 2.0f}, {3.0f, 4.0f}}));
  CHECK(values(x) == std::vector<double>{2, 0, 0, 1, 0, 4, 0, 0});  // [1][1] keeps the last
  CHECK(values(scatter(x, 0, tensor({{1, 0}}), 9.0)) ==
        std::vector<double>{2, 9, 0, 1, 9, 4, 0, 0});
  Tensor classes = tensor({{2, 0}, {1, 2}});
  Tensor hot = one_hot(classes);
  CHECK(shape_of(hot) == Shape{2, 2, 3});
  CHECK(values(hot) == std::vector<double>{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(shape_of(one_hot(tensor({0, 1}), 5)) == Shape{2, 5});
  CHECK_THROWS_WITH_AS(one_hot(tensor({0, 5}), 5), doctest::Contains("classes must lie in [0, 5)"),
                       Error);
  Tensor a = tensor({1.0, -2.0, 3.0});
  CHECK(values(a.where(a > 0.0, 0.0)) == std::vector<double>{1, 0, 3});
  CHECK(values(a.where(a < 0.0, tensor({7.0, 8.0, 9.0}))) == std::vector<double>{7, -2, 9});
  Tensor m = reshape(arange(0, 6, 1, kFloat64), {2, 3}).transpose(0, 1);  // strided (3, 2)
  auto acc = m.accessor<double, 2>();
  double total = 0;
  for (int64_t r = 0; r < acc.size(0); ++r)
    for (int64_t c = 0; c < acc.size(1); ++c) total += acc[r][c] * (r * 2 + c);
  CHECK(total == 0 * 0 + 3 * 1 + 1 * 2 + 4 * 3 + 2 * 4 + 5 * 5);
  acc[2][1] = -1;  // writes the tensor
  CHECK(values(m).back() == -1);
  auto one_dim = [&] { return m.accessor<double, 1>(); };  // (a comma inside a macro)
  auto as_float = [&] { return m.accessor<float, 2>(); };
  CHECK_THROWS_WITH_AS(one_dim(), doctest::Contains("accessor: expected a tensor of 1"), Error);
  CHECK_THROWS_WITH_AS(as_float(), doctest::Contains("data_ptr"), Error);
}

// Reductions (sum, mean, var, amax, amin, max, min, argmax, argmin) over any dims, against each
// reduced group's values taken from the logical view, on contiguous and permuted inputs.
#include <algorithm>
#include <cmath>

#include "reference.h"

using namespace ember;
using ember::testing::shape;
using ember::testing::values;

namespace {

// The elements of x in each group that a reduction over `dims` folds together, groups in the
// order of the keepdim result, elements in row-major order (along a single dim: by index).
std::vector<std::vector<double>> reduced_groups(const Tensor& x, Shape dims) {
  Shape sizes = shape(x);
  int64_t rank = static_cast<int64_t>(sizes.size());
  std::vector<bool> reduced(rank, dims.empty());
  for (int64_t d : dims) reduced[(d + rank) % rank] = true;
  Shape out_sizes = sizes;
  for (int64_t d = 0; d < rank; ++d)
    if (reduced[d]) out_sizes[d] = 1;
  std::vector<std::vector<double>> groups(numel_of(out_sizes));
  auto v = values(x);
  for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
    Shape idx = ember::reference::unravel(i, sizes);
    groups[ember::reference::ravel_broadcast(idx, out_sizes)].push_back(v[i]);
  }
  return groups;
}

}  // namespace

TEST_CASE("sum, mean, var, amax and max over any dims match the reference") {
  manual_seed(3);
  Tensor x = randn({3, 4, 5}, kFloat64);
  Tensor tx = permute(randn({5, 3, 4}, kFloat64), {1, 2, 0});  // non-contiguous
  for (const Tensor& in : {x, tx}) {
    for (Shape dims : {Shape{}, Shape{0}, Shape{1}, Shape{2}, Shape{0, 2}, Shape{-1, -2}}) {
      CAPTURE(shape_str(dims));
      auto want = ember::reference::sum_keepdim(in, dims);
      auto got = values(sum(in, dims, /*keepdim=*/true));
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < got.size(); ++i)
        CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
      // mean, var (both corrections) and amax from the values of each reduced group, and max
      // (with its index) for single dims.
      auto groups = reduced_groups(in, dims);
      REQUIRE(groups.size() == want.size());
      auto m = values(mean(in, dims, true)), v1 = values(var(in, dims, 1, true)),
           v0 = values(var(in, dims, 0, true)), am = values(amax(in, dims, true));
      for (size_t i = 0; i < groups.size(); ++i) {
        const auto& g = groups[i];
        double mu = 0, ss = 0;
        for (double e : g) mu += e / g.size();
        for (double e : g) ss += (e - mu) * (e - mu);
        CHECK(m[i] == doctest::Approx(mu).epsilon(1e-12));
        CHECK(v1[i] == doctest::Approx(ss / (g.size() - 1)).epsilon(1e-12));
        CHECK(v0[i] == doctest::Approx(ss / g.size()).epsilon(1e-12));
        CHECK(am[i] == *std::max_element(g.begin(), g.end()));
      }
      if (dims.size() == 1) {
        auto [mx, arg] = max(in, dims[0], true);
        auto mv = values(mx), av = values(arg);
        for (size_t i = 0; i < groups.size(); ++i) {
          const auto& g = groups[i];
          auto best = std::max_element(g.begin(), g.end());
          CHECK(mv[i] == *best);
          CHECK(av[i] == double(best - g.begin()));
        }
      }
    }
  }
  CHECK(shape(sum(x, {1})) == Shape{3, 5});
  CHECK(shape(sum(x, {1}, true)) == Shape{3, 1, 5});
  CHECK(sum(x).dim() == 0);
  CHECK(values(sum(zeros({0, 3}), {0})) == std::vector<double>{0, 0, 0});
  CHECK(values(sum(arange(5))) == std::vector<double>{10});
  Tensor v = tensor({1, 2, 3, 4}, kFloat64);
  CHECK(var(v).item<double>() == doctest::Approx(1.6666666666666667));
  CHECK(var(v, {}).item<double>() == doctest::Approx(1.6666666666666667));
  CHECK(var(v, {}, 0).item<double>() == doctest::Approx(1.25));

  Tensor m = tensor({{1, 5, 2}, {7, 0, 7}}, kFloat64);
  CHECK(values(amax(m, {1})) == std::vector<double>{5, 7});
  CHECK(values(amin(m, {0})) == std::vector<double>{1, 0, 2});
  CHECK(max(m).item<double>() == 7);
  CHECK(min(m).item<double>() == 0);
  auto [vals, idx] = max(m, 1);
  CHECK(values(vals) == std::vector<double>{5, 7});
  CHECK(values(idx) == std::vector<double>{1, 0});  // first index wins a tie
  CHECK(values(argmax(m, 0)) == std::vector<double>{1, 0, 1});
  CHECK(values(argmin(m, 1, true)) == std::vector<double>{0, 1});
  CHECK(shape(argmin(m, 1, true)) == Shape{2, 1});
  CHECK(std::isnan(max(tensor({1.0, NAN, 3.0})).item<double>()));
  CHECK_THROWS_WITH_AS(amax(zeros({0}), {0}),
                       doctest::Contains("amax: cannot reduce over dim 0 of size 0"), Error);
}

TEST_CASE("large sums are accurate and split into fixed blocks") {
  Tensor x = full({5'000'000}, 0.1f);
  CHECK(sum(x).item<double>() == doctest::Approx(500000.0).epsilon(1e-6));
}

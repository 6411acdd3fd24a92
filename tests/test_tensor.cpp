// core/: tensors, factories, views sharing storage, printing, the tracking allocator, the
// generator, threads, and the errors a user's mistakes produce.
#include "helpers.h"

using namespace ember;
using ember::testing::shape;
using ember::testing::values;

TEST_CASE("factories fill the values PyTorch gives") {
  CHECK(values(zeros({2, 3})) == std::vector<double>(6, 0.0));
  CHECK(values(ones({4}, kInt64)) == std::vector<double>(4, 1.0));
  CHECK(values(full({2}, 2.5, kFloat64)) == std::vector<double>{2.5, 2.5});
  CHECK(values(arange(5)) == std::vector<double>{0, 1, 2, 3, 4});
  CHECK(arange(5).dtype() == kInt64);
  CHECK(values(arange(0, 1, 0.25)) == std::vector<double>{0, 0.25, 0.5, 0.75});
  CHECK(values(linspace(0, 1, 5, kFloat64)) == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  CHECK(values(eye(2, 3)) == std::vector<double>{1, 0, 0, 0, 1, 0});
  CHECK(values(tensor({{1, 2}, {3, 4}})) == std::vector<double>{1, 2, 3, 4});
  CHECK(shape(tensor({{1, 2}, {3, 4}})) == Shape{2, 2});
  CHECK(scalar_tensor(3).dim() == 0);
  // An int64 value beyond 2^53 is kept exactly (a double would round it to an even neighbour).
  const int64_t big = (int64_t{1} << 53) + 1;
  CHECK(full({2}, big, kInt64).data_ptr<int64_t>()[1] == big);
  CHECK(scalar_tensor(big, kInt64).item<int64_t>() == big);
  CHECK(full_like(zeros({1}, kInt64), -big).item<int64_t>() == -big);
  CHECK(values(from_vector<int64_t>({5, 6}, {2})) == std::vector<double>{5, 6});
  Tensor like = zeros_like(ones({3, 1}, kFloat64));
  CHECK(like.dtype() == kFloat64);
  CHECK(shape(like) == Shape{3, 1});
  CHECK(empty({0, 3}).numel() == 0);
}

TEST_CASE("random factories: seeded, in range, and the same at every thread count") {
  manual_seed(42);
  Tensor a = rand({1000});
  manual_seed(42);
  Tensor b = rand({1000});
  CHECK(values(a) == values(b));
  for (double v : values(a)) CHECK((v >= 0 && v < 1));
  Tensor n = randn({200000}, kFloat64);
  CHECK(std::abs(mean(n).item<double>()) < 0.01);
  CHECK(std::abs(var(n, {}).item<double>() - 1.0) < 0.02);
  for (double v : values(randint(3, 7, {500}))) CHECK((v >= 3 && v < 7));
  auto perm = values(randperm(100));
  std::sort(perm.begin(), perm.end());
  for (int i = 0; i < 100; ++i) CHECK(perm[i] == i);

  int before = get_num_threads();
  set_num_threads(1);
  manual_seed(7);
  auto one = values(randn({100000}));
  set_num_threads(2);
  manual_seed(7);
  auto two = values(randn({100000}));
  CHECK(one == two);
  set_num_threads(before);
}

TEST_CASE("views share storage with their base") {
  Tensor x = arange(0, 24, 1, kFloat32);
  Tensor v = view(x, {2, 3, 4});
  CHECK(v.storage() == x.storage());
  Tensor p = permute(v, {2, 0, 1});
  CHECK(shape(p) == Shape{4, 2, 3});
  CHECK(p.storage() == x.storage());
  CHECK(!p.is_contiguous());
  CHECK(values(select(v, 1, 2)) == std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23});
  CHECK(values(slice(x, 0, 1, 10, 3)) == std::vector<double>{1, 4, 7});
  CHECK(values(narrow(x, 0, 20, 4)) == std::vector<double>{20, 21, 22, 23});
  Tensor e = expand(tensor({1, 2}), {3, 2});
  CHECK(e.stride(0) == 0);
  CHECK(values(e) == std::vector<double>{1, 2, 1, 2, 1, 2});
  CHECK(shape(squeeze(zeros({1, 3, 1}))) == Shape{3});
  CHECK(shape(squeeze(zeros({1, 3, 1}), 2)) == Shape{1, 3});
  CHECK(shape(unsqueeze(zeros({3}), 0)) == Shape{1, 3});
  CHECK(shape(flatten(zeros({2, 3, 4}), 1)) == Shape{2, 12});
  CHECK(shape(unflatten(zeros({2, 12}), 1, {3, -1})) == Shape{2, 3, 4});
  CHECK(shape(t(zeros({2, 5}))) == Shape{5, 2});

  // Writing through a view writes the base.
  {
    Tensor row = select(v, 0, 1);
    row.fill_(-1);
  }
  CHECK(values(x)[12] == -1);
  CHECK(values(x)[11] == 11);

  // reshape copies only when the strides forbid a view.
  Tensor tr = transpose(view(arange(0, 6, 1), {2, 3}), 0, 1);
  Tensor r = reshape(tr, {6});
  CHECK(r.storage() != tr.storage());
  CHECK(values(r) == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK(reshape(v, {6, 4}).storage() == x.storage());
  CHECK_THROWS_WITH_AS(view(tr, {6}), doctest::Contains("view: shape [6] is not compatible"),
                       Error);
}

TEST_CASE("contiguous, clone, to, copy_ and fill_") {
  Tensor x = transpose(view(arange(0, 6, 1, kFloat64), {2, 3}), 0, 1);
  Tensor c = x.contiguous();
  CHECK(c.is_contiguous());
  CHECK(values(c) == values(x));
  Tensor same = c.contiguous();
  CHECK(same.is_same(c));
  Tensor k = clone(c);
  CHECK(k.storage() != c.storage());
  Tensor i = to(tensor({1.7, -2.2}), kInt64);
  CHECK(values(i) == std::vector<double>{1, -2});
  Tensor dst = zeros({2, 3});
  dst.copy_(tensor({1, 2, 3}));
  CHECK(values(dst) == std::vector<double>{1, 2, 3, 1, 2, 3});
  CHECK_THROWS_WITH_AS(dst.copy_(zeros({4})), doctest::Contains("copy_: source of shape [4]"),
                       Error);
}

TEST_CASE("printing looks like PyTorch's repr") {
  std::ostringstream a, b, c, d;
  a << tensor({{1, 2}, {3, 4}}, kFloat32);
  CHECK(a.str() == "tensor([[1., 2.],\n        [3., 4.]])");
  b << tensor({0.5, -1.25}, kFloat64);
  CHECK(b.str() == "tensor([ 0.5000, -1.2500], dtype=float64)");
  c << arange(3);
  CHECK(c.str() == "tensor([0, 1, 2])");  // as PyTorch: no dtype for int64
  d << arange(0, 5000, 1);
  CHECK(d.str() == "tensor([   0.,    1.,    2., ..., 4997., 4998., 4999.])");
}

TEST_CASE("memory_stats counts storage bytes exactly") {
  reset_peak_memory_stats();
  MemoryStats start = memory_stats();
  {
    Tensor a = empty({1000}, kFloat32);  // 4000 bytes
    CHECK(memory_stats().current == start.current + 4000);
    {
      Tensor b = empty({10, 10}, kFloat64);   // 800 bytes
      Tensor view_of_b = transpose(b, 0, 1);  // a view allocates nothing
      CHECK(memory_stats().current == start.current + 4800);
    }
    CHECK(memory_stats().current == start.current + 4000);
    CHECK(memory_stats().peak == start.current + 4800);
  }
  CHECK(memory_stats().current == start.current);
  reset_peak_memory_stats();
  CHECK(memory_stats().peak == start.current);
}

TEST_CASE("freed buffers are kept for the next request of their size, under the peak in use") {
  empty_cache();
  reset_peak_memory_stats();
  const int64_t mib = 1 << 20, start = memory_stats().current;
  // What the bytes in use and the bytes kept may reach: the peak, give or take the alignment
  // room of each block (64 bytes; 2 MiB from 32 MiB on).
  auto under_peak = [&] {
    MemoryStats m = memory_stats();
    return m.current + m.cached <= m.peak + 4 * mib;
  };
  const void* small_block = nullptr;
  {
    Tensor a = empty({40 * mib / 4}, kFloat32);  // a huge-page block
    Tensor b = empty({8 * mib / 4}, kFloat32);
    small_block = b.data_ptr<float>();
  }
  CHECK(memory_stats().peak == start + 48 * mib);
  CHECK(memory_stats().cached >= 48 * mib);
  CHECK(under_peak());
  {
    Tensor c = empty({2 * mib}, kFloat32);  // 8 MiB again: b's block, nothing freed
    CHECK(static_cast<const void*>(c.data_ptr<float>()) == small_block);
    CHECK(memory_stats().cached >= 40 * mib);
    CHECK(memory_stats().cached < 48 * mib);
    CHECK(memory_stats().current == start + 8 * mib);
  }
  {
    // 16 MiB matches nothing: in use 16 + kept 48 would pass the peak of 48, so the longest
    // kept block (a's 40 MiB; b's was taken and given back since) goes and the 8 MiB one stays.
    Tensor d = empty({4 * mib}, kFloat32);
    CHECK(memory_stats().cached >= 8 * mib);
    CHECK(memory_stats().cached < 9 * mib);
    CHECK(under_peak());
  }
  {
    Tensor e = empty({60 * mib / 4}, kFloat32);  // a new peak: every kept block goes first
    CHECK(memory_stats().cached == 0);
  }
  CHECK(memory_stats().cached >= 60 * mib);
  Tensor tiny = empty({1000}, kFloat32);  // buffers below 1 MiB are malloc's, never kept
  tiny = Tensor();
  CHECK(memory_stats().cached < 80 * mib);
  empty_cache();
  CHECK(memory_stats().cached == 0);
}

TEST_CASE("a kept block nobody asks for again goes before one in use every step") {
  empty_cache();
  reset_peak_memory_stats();
  const int64_t mib = 1 << 20;
  {
    Tensor big = empty({16 * mib / 4}, kFloat32);
    Tensor stale = empty({4 * mib / 4}, kFloat32);  // freed first: kept the longest
  }
  { Tensor again = empty({16 * mib / 4}, kFloat32); }  // the 16 MiB block, taken and kept again
  {
    // 2 MiB matches nothing, and in use 2 + kept 20 passes the peak of 20: the stale 4 MiB block
    // goes, the 16 MiB one stays (largest first would free the 16 MiB block the next step needs).
    Tensor other = empty({2 * mib / 4}, kFloat32);
    CHECK(memory_stats().cached >= 16 * mib);
    CHECK(memory_stats().cached < 17 * mib);
  }
  empty_cache();
}

TEST_CASE("results are identical with 1 and 2 threads") {
  manual_seed(3);
  Tensor x = randn({300, 1000});
  Tensor y = randn({1000, 200});
  Tensor heads = randn({64, 16, 49}), keys = randn({64, 49, 16});
  // Every ember kernel, and batches of small GEMMs spread over ember's threads: bitwise.
  auto layer_norm_weight_grad = [&] {  // a sum over the 300 rows, in blocks of rows
    Tensor w = ones({1000}).requires_grad_();
    nn::functional::layer_norm(x, {1000}, w).backward(x);
    return w.grad();
  };
  auto run = [&] {
    manual_seed(11);
    return std::vector<std::vector<double>>{values(sum(x)),
                                            values(layer_norm_weight_grad()),
                                            values(sum(x, {0})),
                                            values(softmax(x, 1)),
                                            values(exp(x) * 2.0 + x),
                                            values(matmul(heads, keys)),
                                            values(gather(x, 1, randint(0, 1000, {300, 5}))),
                                            values(randn({1000}))};
  };
  int before = get_num_threads();
  set_num_threads(1);
  auto one = run();
  set_num_threads(2);
  auto two = run();
  CHECK(get_num_threads() == 2);
  for (size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    CHECK(one[i] == two[i]);
  }
  // A GEMM large enough for OpenBLAS's own threads agrees to float32 rounding (see
  // kernels/matmul.cpp): entries are sums of 1000 products, of typical size sqrt(1000) ~ 32.
  set_num_threads(1);
  Tensor single = matmul(x, y);
  set_num_threads(2);
  CHECK_CLOSE_ABS(matmul(x, y), single, 1e-5, 32 * 1e-5);
  set_num_threads(before);
  CHECK_THROWS_WITH_AS(set_num_threads(0), "set_num_threads: expected 1 to 1024 threads, got 0",
                       Error);
}

TEST_CASE("user mistakes raise ember::Error naming the op and the values") {
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({4, 5})),
                       "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)", Error);
  CHECK_THROWS_WITH_AS(zeros({2, 3}) + zeros({4}),
                       "add: shapes [2, 3] and [4] cannot be broadcast (dim 1: 3 vs 4)", Error);
  CHECK_THROWS_WITH_AS(sum(zeros({2, 3}), {2}),
                       "sum: dim 2 is out of range for a tensor of rank 2 (expected in [-2, 1])",
                       Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 2}), zeros({2, 2}, kFloat64)),
                       doctest::Contains("expected both operands to have the same dtype"), Error);
  CHECK_THROWS_WITH_AS(index_select(zeros({3}), 0, tensor({5}, kInt64)),
                       "index_select: index 5 is out of range for dim 0 of size 3", Error);
  CHECK_THROWS_WITH_AS(zeros({2}).data_ptr<double>(),
                       "data_ptr: tensor has dtype float32, asked for float64", Error);
  CHECK_THROWS_WITH_AS(zeros({2, 2}).item<double>(), doctest::Contains("item: a tensor with 4"),
                       Error);
  CHECK_THROWS_WITH_AS(view(zeros({6}), {4, -1}),
                       doctest::Contains("is invalid for input of size 6"), Error);
  CHECK_THROWS_WITH_AS(exp(arange(3)), doctest::Contains("exp: expected a floating tensor"), Error);
  CHECK_THROWS_WITH_AS(empty({-1}), "empty: negative size in [-1]", Error);
  CHECK_THROWS_WITH_AS(expand(zeros({2}), {3}), doctest::Contains("cannot be expanded"), Error);
  CHECK_THROWS_WITH_AS(cat({zeros({2, 3}), zeros({2, 4})}, 0),
                       doctest::Contains("cat: tensor 1 (float32 [2, 4]) does not match"), Error);
}

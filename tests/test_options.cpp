// TensorOptions and Device as libtorch spells them: every factory takes options (dtype, device,
// requires_grad) or a plain dtype; tensor({1, 2, 3}) is int64; only the CPU exists, and naming
// another device for a tensor is an Error.
#include "helpers.h"

using namespace ember;

TEST_CASE("every factory takes TensorOptions, and a plain dtype still works") {
  auto f64 = TensorOptions().dtype(kFloat64).requires_grad(true);
  std::vector<Tensor> made{empty({2}, f64),
                           zeros({2}, f64),
                           ones({2}, f64),
                           full({2}, 3.0, f64),
                           arange(0, 3, 1, f64),
                           linspace(0, 1, 3, f64),
                           eye(2, -1, f64),
                           rand({2}, f64),
                           randn({2}, f64),
                           tensor({1.5, 2.0}, f64),
                           tensor({{1.0, 2.0}, {3.0, 4.0}}, f64),
                           scalar_tensor(2.0, f64),
                           zeros_like(ones({3}), f64),
                           randn_like(ones({3}), f64),
                           tensor({1, 2}, f64)};
  for (size_t i = 0; i < made.size(); ++i) {
    CAPTURE(i);
    CHECK(made[i].dtype() == kFloat64);
    CHECK(made[i].requires_grad());
    CHECK(made[i].is_leaf());
  }
  // The defaults, as libtorch's: float32, and int64 where the factory makes integers.
  CHECK(zeros({2}).dtype() == kFloat32);
  CHECK(arange(5).dtype() == kInt64);
  CHECK(arange(5, dtype(kFloat64)).dtype() == kFloat64);
  CHECK(randint(0, 5, {3}).dtype() == kInt64);
  CHECK(zeros({2}, kInt64).dtype() == kInt64);
  CHECK(zeros_like(ones({2}, kFloat64)).dtype() == kFloat64);
  CHECK(zeros({2}, requires_grad()).requires_grad());
  CHECK(!zeros({2}, TensorOptions()).requires_grad());
  CHECK_THROWS_WITH_AS(zeros({2}, TensorOptions().dtype(kInt64).requires_grad(true)),
                       doctest::Contains("only floating tensors can require gradients"), Error);
}

TEST_CASE("integer braces make int64, as libtorch's tensor({1, 2, 3})") {
  Tensor v = tensor({1, 2, 3});
  CHECK(v.dtype() == kInt64);
  CHECK(testing::values(v) == std::vector<double>{1, 2, 3});
  Tensor big = tensor({int64_t{1} << 60, int64_t{-7}});  // exact: never through a double
  CHECK(big.data_ptr<int64_t>()[0] == int64_t{1} << 60);
  Tensor m = tensor({{1, 2}, {3, 4}});
  CHECK(m.dtype() == kInt64);
  CHECK(shape_of(m) == Shape{2, 2});
  CHECK(tensor({1.0, 2.5}).dtype() == kFloat32);
  CHECK(tensor({1, 2}, kFloat32).dtype() == kFloat32);
  CHECK_THROWS_WITH_AS(tensor({{1, 2}, {3}}), "tensor: rows have different lengths (2 and 1)",
                       Error);
}

TEST_CASE("Device: the CPU, names parsed as torch.device does, CUDA refused with a reason") {
  Tensor x = ones({2, 2});
  CHECK(x.device() == Device(kCPU));
  CHECK(x.device().str() == "cpu");
  CHECK(x.to(kCPU).is_same(x));
  CHECK(x.to(Device("cpu"), kFloat64).dtype() == kFloat64);
  CHECK(x.options().dtype() == kFloat32);
  CHECK(zeros({1}, x.options().dtype(kFloat64)).dtype() == kFloat64);
  CHECK(Device("cuda:1").index() == 1);
  CHECK(!cuda::is_available());
  Device device(cuda::is_available() ? kCUDA : kCPU);  // the libtorch idiom
  auto model = nn::Linear(2, 3);
  model->to(device);
  model->to(device, kFloat64);
  CHECK(model->weight.dtype() == kFloat64);
  CHECK_THROWS_WITH_AS(zeros({2}, Device(kCUDA, 0)),
                       "zeros: ember runs on the CPU only; got device cuda:0 "
                       "(cuda::is_available() is false)",
                       Error);
  CHECK_THROWS_WITH_AS(x.to(kCUDA), doctest::Contains("to: ember runs on the CPU only"), Error);
  CHECK_THROWS_WITH_AS(model->to(Device("cuda")), doctest::Contains("Module::to"), Error);
  CHECK_THROWS_WITH_AS(Device("tpu"), "Device: expected cpu, cuda or cuda:N, got 'tpu'", Error);
  CHECK_THROWS_WITH_AS(Device("cuda:x"), doctest::Contains("expected a device index"), Error);
}

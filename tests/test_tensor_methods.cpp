// libtorch's method spellings (core/tensor_methods.inc): one line per method, written as libtorch
// code is, against the free function it stands for. A missing method fails the build of the
// suite; a method that maps its arguments wrongly (a default, alpha, a dim) fails the test.
#include <cmath>
#include <map>

#include "helpers.h"

using namespace ember;
using ember::testing::shape;
using ember::testing::values;

namespace {

// Same shape and the same values (bit for bit: a method is its free function).
void check_same(const std::string& name, const Tensor& method, const Tensor& function) {
  CAPTURE(name);
  REQUIRE(method.defined());
  CHECK(shape(method) == shape(function));
  CHECK(method.dtype() == function.dtype());
  CHECK(values(method) == values(function));
}

}  // namespace

TEST_CASE("every Tensor method gives its free function's result") {
  manual_seed(5);
  Tensor x = randn({3, 4}), y = randn({3, 4}), p = rand({3, 4}) + 0.5, m = randn({4, 2});
  Tensor b = randn({2, 3, 4}), c = randn({2, 4, 5}), v = randn({4});
  Tensor idx = tensor({2, 0}, kInt64), gidx = tensor({{0, 3}, {1, 1}, {2, 0}}, kInt64);
  Tensor mask = tensor({{1, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 1, 1}}) != 0;
  std::vector<std::tuple<std::string, Tensor, Tensor>> lines{
      // views and shape
      {"view", x.view({-1, 2}), view(x, {-1, 2})},
      {"reshape", x.reshape({4, 3}), reshape(x, {4, 3})},
      {"flatten", b.flatten(), flatten(b)},
      {"flatten(1)", b.flatten(1), flatten(b, 1)},
      {"unflatten", x.unflatten(1, {2, 2}), unflatten(x, 1, {2, 2})},
      {"squeeze", x.unsqueeze(0).squeeze(), squeeze(unsqueeze(x, 0))},
      {"squeeze(dim)", x.unsqueeze(1).squeeze(1), squeeze(unsqueeze(x, 1), 1)},
      {"permute", b.permute({2, 0, 1}), permute(b, {2, 0, 1})},
      {"transpose", x.transpose(0, 1), transpose(x, 0, 1)},
      {"t", x.t(), t(x)},
      {"narrow", x.narrow(1, 1, 2), narrow(x, 1, 1, 2)},
      {"select", x.select(0, -1), select(x, 0, -1)},
      {"slice", x.slice(1, 1), slice(x, 1, 1, 4)},
      {"slice(step)", x.slice(1, 0, 4, 2), slice(x, 1, 0, 4, 2)},
      {"expand", v.expand({3, 4}), expand(v, {3, 4})},
      {"expand_as", v.expand_as(x), expand(v, {3, 4})},
      {"chunk", x.chunk(2, 1)[1], chunk(x, 2, 1)[1]},
      {"split", x.split(2)[1], split(x, 2)[1]},
      {"contiguous", x.t().contiguous(), clone(t(x))},
      {"clone", x.clone(), clone(x)},
      {"to", x.to(kFloat64), to(x, kFloat64)},
      // arithmetic and math
      {"add", x.add(y), add(x, y)},
      {"add(alpha)", x.add(y, 2.5), add(x, mul(y, 2.5))},
      {"add(scalar)", x.add(1.5), add(x, 1.5)},
      {"sub", x.sub(y), sub(x, y)},
      {"sub(alpha)", x.sub(y, -0.5), sub(x, mul(y, -0.5))},
      {"sub(scalar)", x.sub(2.0), sub(x, 2.0)},
      {"mul", x.mul(y), mul(x, y)},
      {"mul(scalar)", x.mul(3.0), mul(x, 3.0)},
      {"div", x.div(p), div(x, p)},
      {"div(scalar)", x.div(4.0), div(x, 4.0)},
      {"pow", p.pow(1.5), pow(p, 1.5)},
      {"pow(Tensor)", p.pow(x), pow(p, x)},
      {"neg", x.neg(), neg(x)},
      {"abs", x.abs(), abs(x)},
      {"sign", x.sign(), sign(x)},
      {"sqrt", p.sqrt(), sqrt(p)},
      {"rsqrt", p.rsqrt(), rsqrt(p)},
      {"exp", x.exp(), exp(x)},
      {"log", p.log(), log(p)},
      {"sin", x.sin(), sin(x)},
      {"cos", x.cos(), cos(x)},
      {"tanh", x.tanh(), tanh(x)},
      {"sigmoid", x.sigmoid(), sigmoid(x)},
      {"relu", x.relu(), relu(x)},
      {"erf", x.erf(), erf(x)},
      {"maximum", x.maximum(y), maximum(x, y)},
      {"minimum", x.minimum(y), minimum(x, y)},
      {"clamp", x.clamp(-0.5, 0.5), clamp(x, -0.5, 0.5)},
      {"clamp(min)", x.clamp(0.0), clamp(x, 0.0, std::nullopt)},
      {"matmul", x.matmul(m), matmul(x, m)},
      {"mm", x.mm(m), matmul(x, m)},
      {"bmm", b.bmm(c), bmm(b, c)},
      // reductions
      {"sum", x.sum(), sum(x)},
      {"sum(dims)", b.sum({0, 2}, true), sum(b, {0, 2}, true)},
      {"mean", x.mean(), mean(x)},
      {"mean(dims)", b.mean({1}), mean(b, {1})},
      {"var", x.var(), var(x)},
      {"var(dims)", x.var({1}, 0, true), var(x, {1}, 0, true)},
      {"std", x.std(), sqrt(var(x))},
      {"std(dims)", x.std({0}), sqrt(var(x, {0}))},
      {"max", x.max(), max(x)},
      {"min", x.min(), min(x)},
      {"max(dim)", x.max(1).first, max(x, 1).first},
      {"max(dim) indices", x.max(1, true).second, max(x, 1, true).second},
      {"min(dim)", x.min(0).second, min(x, 0).second},
      {"amax", b.amax({0, 2}), amax(b, {0, 2})},
      {"amin", b.amin({1}, true), amin(b, {1}, true)},
      {"argmax", x.argmax(), argmax(reshape(x, {-1}), 0)},
      {"argmax(dim)", x.argmax(1), argmax(x, 1)},
      {"argmin", x.argmin(), argmin(reshape(x, {-1}), 0)},
      {"argmin(dim)", x.argmin(0, true), argmin(x, 0, true)},
      {"softmax", x.softmax(1), softmax(x, 1)},
      {"log_softmax", x.log_softmax(0), log_softmax(x, 0)},
      {"norm", x.norm(), sqrt(sum(x * x))},
      {"norm(p, dims)", x.norm(1.0, {1}), norm(x, 1.0, {1})},
      // comparisons
      {"eq", x.eq(y), eq(x, y)},
      {"eq(scalar)", idx.eq(2.0), eq(idx, 2.0)},
      {"ne", x.ne(y), ne(x, y)},
      {"ne(scalar)", x.ne(0.0), ne(x, 0.0)},
      {"lt", x.lt(y), lt(x, y)},
      {"lt(scalar)", x.lt(0.0), lt(x, 0.0)},
      {"le", x.le(y), le(x, y)},
      {"le(scalar)", x.le(0.1), le(x, 0.1)},
      {"gt", x.gt(y), gt(x, y)},
      {"gt(scalar)", x.gt(0.0), gt(x, 0.0)},
      {"ge", x.ge(y), ge(x, y)},
      {"ge(scalar)", x.ge(-0.1), ge(x, -0.1)},
      // indexing
      {"index_select", x.index_select(0, idx), index_select(x, 0, idx)},
      {"index_add", x.index_add(0, idx, ones({2, 4})), index_add(x, 0, idx, ones({2, 4}))},
      {"gather", x.gather(1, gidx), gather(x, 1, gidx)},
      {"scatter_add", x.scatter_add(1, gidx, ones({3, 2})), scatter_add(x, 1, gidx, ones({3, 2}))},
      {"masked_fill", x.masked_fill(mask, -1.0), where(logical_not(mask), x, -1.0)},
  };
  for (const auto& [name, method, function] : lines) check_same(name, method, function);
  CHECK(x.max(0).first.dim() == 1);
  CHECK(x.sum().item<float>() == sum(x).item<float>());
}

TEST_CASE(
    "in-place methods write the out-of-place result, and autograd refuses what it cannot follow") {
  manual_seed(6);
  Tensor x = randn({3, 4}), y = randn({3, 4});
  Tensor mask = tensor({{1, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 1, 1}}) != 0;
  std::map<std::string, std::pair<std::function<void(const Tensor&)>, Tensor>> lines{
      {"add_", {[&](const Tensor& t) { t.add_(y); }, x + y}},
      {"add_(alpha)", {[&](const Tensor& t) { t.add_(y, -2.0); }, x + y * -2.0}},
      {"add_(scalar)", {[&](const Tensor& t) { t.add_(0.5); }, x + 0.5}},
      {"sub_", {[&](const Tensor& t) { t.sub_(y); }, x - y}},
      {"sub_(scalar)", {[&](const Tensor& t) { t.sub_(1.0); }, x - 1.0}},
      {"mul_", {[&](const Tensor& t) { t.mul_(y); }, x * y}},
      {"mul_(scalar)", {[&](const Tensor& t) { t.mul_(3.0); }, x * 3.0}},
      {"div_", {[&](const Tensor& t) { t.div_(exp(y)); }, x / exp(y)}},
      {"div_(scalar)", {[&](const Tensor& t) { t.div_(2.0); }, x / 2.0}},
      {"clamp_", {[&](const Tensor& t) { t.clamp_(-0.2, 0.3); }, clamp(x, -0.2, 0.3)}},
      {"masked_fill_",
       {[&](const Tensor& t) { t.masked_fill_(mask, 9.0); }, where(logical_not(mask), x, 9.0)}},
      {"zero_", {[&](const Tensor& t) { t.zero_(); }, zeros({3, 4})}},
      {"fill_", {[&](const Tensor& t) { t.fill_(2.0); }, full({3, 4}, 2.0)}},
      {"copy_", {[&](const Tensor& t) { t.copy_(y); }, y}},
  };
  for (const auto& [name, line] : lines) {
    CAPTURE(name);
    Tensor t = clone(x);
    const float* before = t.data_ptr<float>();
    line.first(t);
    CHECK(t.data_ptr<float>() == before);  // the same storage, written in place
    CHECK(values(t) == values(line.second));
  }
  // Random fills: the global generator's numbers, as the free functions draw them.
  Tensor u = empty({5}), n = empty({5}, kFloat64), u2 = empty({5}), n2 = empty({5}, kFloat64);
  manual_seed(7);
  u.uniform_(-1, 1);
  n.normal_(2, 0.5);
  manual_seed(7);
  uniform_(u2, -1, 1);
  normal_(n2, 2, 0.5);
  CHECK(values(u) == values(u2));
  CHECK(values(n) == values(n2));
  // p.grad().zero_(), the libtorch habit: the gradient itself is zeroed.
  Tensor w = ones({3}).requires_grad_();
  sum(w * 2.0).backward();
  w.grad().zero_();
  CHECK(values(w.grad()) == std::vector<double>{0, 0, 0});

  // Autograd: a tensor that requires grad takes no in-place write with grad mode on, and a
  // value that depends on one is not written into a tensor that does not (its gradient would
  // be lost); under NoGradGuard both are fine, as in an optimizer's step.
  Tensor leaf = ones({3}).requires_grad_();
  CHECK_THROWS_WITH_AS(leaf.add_(1.0),
                       doctest::Contains("add_: the tensor of shape [3] requires grad"), Error);
  Tensor plain = zeros({3});
  CHECK_THROWS_WITH_AS(plain.mul_(leaf), doctest::Contains("mul_: the operand requires grad"),
                       Error);
  {
    NoGradGuard no_grad;
    leaf.mul_(2.0);
    plain.add_(leaf);
  }
  CHECK(values(plain) == std::vector<double>{2, 2, 2});
  // A tensor a backward saved and an in-place write then changed: the backward says so.
  Tensor a = ones({3}).requires_grad_(), s = zeros({3});
  Tensor out = sum(a * s);
  s.add_(1.0);
  CHECK_THROWS_WITH_AS(out.backward(), doctest::Contains("modified by an in-place operation"),
                       Error);
  CHECK_THROWS_WITH_AS(plain.add_(ones({2, 3})),
                       doctest::Contains("add_: the result has shape [2, 3]"), Error);
}

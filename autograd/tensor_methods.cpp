// One concept in two files: the definitions of the Tensor methods core/tensor_methods.inc declares:
// each forwards to the free function of the same name (qualified with ember::, since inside a
// member the method's own name would be found first). The in-place forms compute out of place and
// write the result back.
#include "../core/factory.h"
#include "../core/promotion.h"
#include "function.h"
#include "ops.h"

namespace ember {

namespace {

// Writes `value` (this tensor's shape) into `self` for the in-place method `op`: refused when
// autograd would have to follow the write, as copy_ is, and when value depends on a tensor that
// requires grad (the gradient would be lost silently otherwise).
const Tensor& assign(const Tensor& self, const Tensor& value, const char* op) {
  autograd::check_inplace(self, op);
  check(can_cast(value.dtype(), self.dtype()), op, ": result type ", value.dtype(),
        " can't be cast to the desired output type ", self.dtype());
  if (GradMode::is_enabled() && value.requires_grad())
    fail(op, ": the operand requires grad, so autograd cannot follow an in-place write of its ",
         "value into a tensor of shape ", shape_str(self.sizes()),
         " that does not; use the out-of-place op");
  if (shape_of(value) != shape_of(self))
    fail(op, ": the result has shape ", shape_str(value.sizes()), ", not this tensor's ",
         shape_str(self.sizes()), " (an in-place op cannot broadcast this tensor)");
  return self.copy_(value);
}

}  // namespace

// ---- views and shape
Tensor Tensor::view(const Shape& shape) const { return ember::view(*this, shape); }
Tensor Tensor::reshape(const Shape& shape) const { return ember::reshape(*this, shape); }
Tensor Tensor::flatten(int64_t start, int64_t end) const {
  return ember::flatten(*this, start, end);
}
Tensor Tensor::unflatten(int64_t dim, const Shape& s) const {
  return ember::unflatten(*this, dim, s);
}
Tensor Tensor::squeeze() const { return ember::squeeze(*this); }
Tensor Tensor::squeeze(int64_t dim) const { return ember::squeeze(*this, dim); }
Tensor Tensor::unsqueeze(int64_t dim) const { return ember::unsqueeze(*this, dim); }
Tensor Tensor::permute(const Shape& dims) const { return ember::permute(*this, dims); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return ember::transpose(*this, d0, d1); }
Tensor Tensor::t() const { return ember::t(*this); }
Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  return ember::narrow(*this, dim, start, length);
}
Tensor Tensor::select(int64_t dim, int64_t index) const { return ember::select(*this, dim, index); }
Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  return ember::slice(*this, dim, start, end, step);
}
Tensor Tensor::expand(const Shape& sizes) const { return ember::expand(*this, sizes); }
Tensor Tensor::expand_as(const Tensor& other) const { return ember::expand_as(*this, other); }
std::vector<Tensor> Tensor::chunk(int64_t n, int64_t dim) const {
  return ember::chunk(*this, n, dim);
}
std::vector<Tensor> Tensor::split(int64_t size, int64_t dim) const {
  return ember::split(*this, size, dim);
}
std::vector<Tensor> Tensor::split(const Shape& sizes, int64_t dim) const {
  return ember::split(*this, sizes, dim);
}
std::vector<Tensor> Tensor::unbind(int64_t dim) const { return ember::unbind(*this, dim); }
Tensor Tensor::repeat(const Shape& repeats) const { return ember::repeat(*this, repeats); }
Tensor Tensor::flip(const Shape& dims) const { return ember::flip(*this, dims); }
Tensor Tensor::roll(const Shape& shifts, const Shape& dims) const {
  return ember::roll(*this, shifts, dims);
}
Tensor Tensor::roll(int64_t shift, std::optional<int64_t> dim) const {
  return ember::roll(*this, shift, dim);
}
Tensor Tensor::tril(int64_t diagonal) const { return ember::tril(*this, diagonal); }
Tensor Tensor::diagonal(int64_t offset, int64_t d1, int64_t d2) const {
  return ember::diagonal(*this, offset, d1, d2);
}
Tensor Tensor::triu(int64_t diagonal) const { return ember::triu(*this, diagonal); }
Tensor Tensor::clone() const { return ember::clone(*this); }
Tensor Tensor::to(DType dtype) const { return ember::to(*this, dtype); }
Device Tensor::device() const { return kCPU; }
Tensor Tensor::to(Device device) const {
  check_cpu(device, "to");
  return *this;
}
Tensor Tensor::to(Device device, DType dtype) const {
  check_cpu(device, "to");
  return ember::to(*this, dtype);
}
TensorOptions Tensor::options() const { return TensorOptions().dtype(dtype()); }

// ---- arithmetic and math
Tensor Tensor::add(const Tensor& other, const Scalar& alpha) const {
  return ember::add(*this, alpha.to_double() == 1 ? other : ember::mul(other, alpha));
}
Tensor Tensor::add(const Scalar& other) const { return ember::add(*this, other); }
Tensor Tensor::sub(const Tensor& other, const Scalar& alpha) const {
  return ember::sub(*this, alpha.to_double() == 1 ? other : ember::mul(other, alpha));
}
Tensor Tensor::sub(const Scalar& other) const { return ember::sub(*this, other); }
Tensor Tensor::mul(const Tensor& other) const { return ember::mul(*this, other); }
Tensor Tensor::mul(const Scalar& other) const { return ember::mul(*this, other); }
Tensor Tensor::div(const Tensor& other) const { return ember::div(*this, other); }
Tensor Tensor::div(const Scalar& other) const { return ember::div(*this, other); }
Tensor Tensor::pow(double exponent) const { return ember::pow(*this, exponent); }
Tensor Tensor::pow(const Tensor& exponent) const { return ember::pow(*this, exponent); }
Tensor Tensor::neg() const { return ember::neg(*this); }
Tensor Tensor::abs() const { return ember::abs(*this); }
Tensor Tensor::sign() const { return ember::sign(*this); }
Tensor Tensor::sqrt() const { return ember::sqrt(*this); }
Tensor Tensor::rsqrt() const { return ember::rsqrt(*this); }
Tensor Tensor::exp() const { return ember::exp(*this); }
Tensor Tensor::log() const { return ember::log(*this); }
Tensor Tensor::sin() const { return ember::sin(*this); }
Tensor Tensor::cos() const { return ember::cos(*this); }
Tensor Tensor::tanh() const { return ember::tanh(*this); }
Tensor Tensor::sigmoid() const { return ember::sigmoid(*this); }
Tensor Tensor::relu() const { return ember::relu(*this); }
Tensor Tensor::erf() const { return ember::erf(*this); }
Tensor Tensor::floor() const { return ember::floor(*this); }
Tensor Tensor::ceil() const { return ember::ceil(*this); }
Tensor Tensor::round() const { return ember::round(*this); }
Tensor Tensor::lerp(const Tensor& end, double w) const { return ember::lerp(*this, end, w); }
Tensor Tensor::lerp(const Tensor& end, const Tensor& w) const { return ember::lerp(*this, end, w); }
Tensor Tensor::maximum(const Tensor& other) const { return ember::maximum(*this, other); }
Tensor Tensor::minimum(const Tensor& other) const { return ember::minimum(*this, other); }
Tensor Tensor::clamp(std::optional<double> lo, std::optional<double> hi) const {
  return ember::clamp(*this, lo, hi);
}
Tensor Tensor::matmul(const Tensor& other) const { return ember::matmul(*this, other); }
Tensor Tensor::mm(const Tensor& other) const { return ember::mm(*this, other); }
Tensor Tensor::bmm(const Tensor& other) const { return ember::bmm(*this, other); }

// ---- reductions
Tensor Tensor::sum() const { return ember::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keep) const { return ember::sum(*this, dims, keep); }
Tensor Tensor::mean() const { return ember::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keep) const { return ember::mean(*this, dims, keep); }
Tensor Tensor::var() const { return ember::var(*this); }
Tensor Tensor::var(const Shape& dims, int64_t correction, bool keep) const {
  return ember::var(*this, dims, correction, keep);
}
Tensor Tensor::std() const { return ember::std(*this); }
Tensor Tensor::std(const Shape& dims, int64_t correction, bool keep) const {
  return ember::std(*this, dims, correction, keep);
}
Tensor Tensor::max() const { return ember::max(*this); }
Tensor Tensor::min() const { return ember::min(*this); }
std::pair<Tensor, Tensor> Tensor::max(int64_t dim, bool keep) const {
  return ember::max(*this, dim, keep);
}
std::pair<Tensor, Tensor> Tensor::min(int64_t dim, bool keep) const {
  return ember::min(*this, dim, keep);
}
Tensor Tensor::amax(const Shape& dims, bool keep) const { return ember::amax(*this, dims, keep); }
Tensor Tensor::amin(const Shape& dims, bool keep) const { return ember::amin(*this, dims, keep); }
Tensor Tensor::argmax() const { return ember::argmax(ember::reshape(*this, {-1}), 0); }
Tensor Tensor::argmax(int64_t dim, bool keep) const { return ember::argmax(*this, dim, keep); }
Tensor Tensor::argmin() const { return ember::argmin(ember::reshape(*this, {-1}), 0); }
Tensor Tensor::argmin(int64_t dim, bool keep) const { return ember::argmin(*this, dim, keep); }
Tensor Tensor::softmax(int64_t dim) const { return ember::softmax(*this, dim); }
Tensor Tensor::log_softmax(int64_t dim) const { return ember::log_softmax(*this, dim); }
Tensor Tensor::norm(double p) const { return ember::norm(*this, p); }
Tensor Tensor::norm(double p, const Shape& dims, bool keep) const {
  return ember::norm(*this, p, dims, keep);
}

// ---- selection and scans
std::tuple<Tensor, Tensor> Tensor::sort(int64_t dim, bool descending) const {
  return ember::sort(*this, dim, descending);
}
Tensor Tensor::argsort(int64_t dim, bool descending) const {
  return ember::argsort(*this, dim, descending);
}
std::tuple<Tensor, Tensor> Tensor::topk(int64_t k, int64_t dim, bool largest, bool sorted) const {
  return ember::topk(*this, k, dim, largest, sorted);
}
Tensor Tensor::cumsum(int64_t dim, std::optional<DType> t) const {
  return ember::cumsum(*this, dim, t);
}
Tensor Tensor::cumprod(int64_t dim, std::optional<DType> t) const {
  return ember::cumprod(*this, dim, t);
}
Tensor Tensor::prod(std::optional<DType> t) const { return ember::prod(*this, t); }
Tensor Tensor::prod(int64_t dim, bool keep, std::optional<DType> t) const {
  return ember::prod(*this, dim, keep, t);
}
Tensor Tensor::logsumexp(const Shape& dims, bool keep) const {
  return ember::logsumexp(*this, dims, keep);
}

// ---- comparisons
Tensor Tensor::eq(const Tensor& other) const { return ember::eq(*this, other); }
Tensor Tensor::eq(const Scalar& other) const { return ember::eq(*this, other); }
Tensor Tensor::ne(const Tensor& other) const { return ember::ne(*this, other); }
Tensor Tensor::ne(const Scalar& other) const { return ember::ne(*this, other); }
Tensor Tensor::lt(const Tensor& other) const { return ember::lt(*this, other); }
Tensor Tensor::lt(const Scalar& other) const { return ember::lt(*this, other); }
Tensor Tensor::le(const Tensor& other) const { return ember::le(*this, other); }
Tensor Tensor::le(const Scalar& other) const { return ember::le(*this, other); }
Tensor Tensor::gt(const Tensor& other) const { return ember::gt(*this, other); }
Tensor Tensor::gt(const Scalar& other) const { return ember::gt(*this, other); }
Tensor Tensor::ge(const Tensor& other) const { return ember::ge(*this, other); }
Tensor Tensor::ge(const Scalar& other) const { return ember::ge(*this, other); }
Tensor Tensor::logical_not() const { return ember::logical_not(*this); }
Tensor Tensor::logical_and(const Tensor& other) const { return ember::logical_and(*this, other); }
Tensor Tensor::logical_or(const Tensor& other) const { return ember::logical_or(*this, other); }
Tensor Tensor::logical_xor(const Tensor& other) const { return ember::logical_xor(*this, other); }
Tensor Tensor::all() const { return ember::all(*this); }
Tensor Tensor::all(int64_t dim, bool keepdim) const { return ember::all(*this, dim, keepdim); }
Tensor Tensor::any() const { return ember::any(*this); }
Tensor Tensor::any(int64_t dim, bool keepdim) const { return ember::any(*this, dim, keepdim); }

// ---- indexing
Tensor Tensor::index_select(int64_t dim, const Tensor& index) const {
  return ember::index_select(*this, dim, index);
}
Tensor Tensor::index_add(int64_t dim, const Tensor& index, const Tensor& source) const {
  return ember::index_add(*this, dim, index, source);
}
Tensor Tensor::gather(int64_t dim, const Tensor& index) const {
  return ember::gather(*this, dim, index);
}
Tensor Tensor::scatter_add(int64_t dim, const Tensor& index, const Tensor& src) const {
  return ember::scatter_add(*this, dim, index, src);
}
Tensor Tensor::masked_fill(const Tensor& mask, double value) const {
  return ember::masked_fill(*this, mask, value);
}
Tensor Tensor::scatter(int64_t dim, const Tensor& index, const Tensor& src) const {
  return ember::scatter(*this, dim, index, src);
}
Tensor Tensor::scatter(int64_t dim, const Tensor& index, double value) const {
  return ember::scatter(*this, dim, index, value);
}
Tensor Tensor::where(const Tensor& cond, const Tensor& other) const {
  return ember::where(cond, *this, other);
}
Tensor Tensor::where(const Tensor& cond, const Scalar& other) const {
  return ember::where(cond, *this, other);
}

// ---- Python's x[...]
Tensor Tensor::index(const std::vector<indexing::TensorIndex>& i) const {
  return ember::index(*this, i);
}
Tensor Tensor::index_put(const std::vector<indexing::TensorIndex>& i, const Tensor& v,
                         bool accumulate) const {
  return ember::index_put(*this, i, v, accumulate);
}
const Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& i, const Tensor& v,
                                 bool accumulate) const {
  return assign(*this, index_put(i, v, accumulate), "index_put_");
}
const Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& i, double v) const {
  return index_put_(i, scalar_tensor(v, dtype()));
}
Tensor Tensor::operator[](int64_t i) const { return ember::select(*this, 0, i); }
Tensor Tensor::operator[](const Tensor& i) const { return ember::index(*this, {i}); }
Tensor Tensor::masked_select(const Tensor& mask) const { return ember::masked_select(*this, mask); }
Tensor Tensor::nonzero() const { return ember::nonzero(*this); }

// ---- in place
const Tensor& Tensor::add_(const Tensor& other, const Scalar& alpha) const {
  return assign(*this, add(other, alpha), "add_");
}
const Tensor& Tensor::add_(const Scalar& other) const { return assign(*this, add(other), "add_"); }
const Tensor& Tensor::sub_(const Tensor& other, const Scalar& alpha) const {
  return assign(*this, sub(other, alpha), "sub_");
}
const Tensor& Tensor::sub_(const Scalar& other) const { return assign(*this, sub(other), "sub_"); }
const Tensor& Tensor::mul_(const Tensor& other) const { return assign(*this, mul(other), "mul_"); }
const Tensor& Tensor::mul_(const Scalar& other) const { return assign(*this, mul(other), "mul_"); }
const Tensor& Tensor::div_(const Tensor& other) const { return assign(*this, div(other), "div_"); }
const Tensor& Tensor::div_(const Scalar& other) const { return assign(*this, div(other), "div_"); }
const Tensor& Tensor::clamp_(std::optional<double> lo, std::optional<double> hi) const {
  return assign(*this, clamp(lo, hi), "clamp_");
}
const Tensor& Tensor::masked_fill_(const Tensor& mask, double value) const {
  return assign(*this, masked_fill(mask, value), "masked_fill_");
}
const Tensor& Tensor::scatter_(int64_t dim, const Tensor& index, const Tensor& src) const {
  return assign(*this, scatter(dim, index, src), "scatter_");
}
const Tensor& Tensor::scatter_(int64_t dim, const Tensor& index, double value) const {
  return assign(*this, scatter(dim, index, value), "scatter_");
}
const Tensor& Tensor::uniform_(double from, double to, Generator* gen) const {
  autograd::check_inplace(*this, "uniform_");
  ember::uniform_(*this, from, to, gen);
  storage()->bump_version();
  return *this;
}
const Tensor& Tensor::normal_(double mean, double stddev, Generator* gen) const {
  autograd::check_inplace(*this, "normal_");
  ember::normal_(*this, mean, stddev, gen);
  storage()->bump_version();
  return *this;
}

const Tensor& Tensor::exponential_(double lambda, Generator* gen) const {
  autograd::check_inplace(*this, "exponential_");
  return ember::exponential_(*this, lambda, gen);
}
const Tensor& Tensor::bernoulli_(double p, Generator* gen) const {
  autograd::check_inplace(*this, "bernoulli_");
  return ember::bernoulli_(*this, p, gen);
}
const Tensor& Tensor::bernoulli_(const Tensor& p, Generator* gen) const {
  autograd::check_inplace(*this, "bernoulli_");
  return ember::bernoulli_(*this, p, gen);
}
Tensor Tensor::bernoulli(Generator* gen) const { return ember::bernoulli(*this, gen); }
Tensor Tensor::bernoulli(double p, Generator* gen) const { return ember::bernoulli(*this, p, gen); }
Tensor Tensor::multinomial(int64_t num_samples, bool replacement, Generator* gen) const {
  return ember::multinomial(*this, num_samples, replacement, gen);
}

}  // namespace ember

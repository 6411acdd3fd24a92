// Selection and scans. sort and topk find a permutation (core/kernels/scan.h) and gather the
// values with it, so their gradient is gather's; cumsum's gradient is a cumsum run backwards;
// prod and logsumexp are composites. Read next: shape.cpp.
#include "scan.h"

#include <cmath>

#include "../core/kernels/scan.h"
#include "../core/profiler.h"
#include "function.h"
#include "ops.h"

namespace ember {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using autograd::save;
using autograd::save_output;

namespace {

// dim wrapped for x; a 0-dim tensor takes dim 0 or -1, as in PyTorch.
int64_t dim_of(const Tensor& x, int64_t dim, const char* op) {
  if (x.dim()) return wrap_dim(dim, x.dim(), op);
  wrap_dim(dim, 1, op);  // refuses any other dim
  return 0;
}

// The running sum from the end of dim backwards: cumsum's adjoint.
Tensor reverse_cumsum(const Tensor& g, int64_t d) { return flip(cumsum(flip(g, {d}), d), {d}); }

// The dtype a sum or product of x runs in: the one asked for, else int64 for bool and integer
// tensors (as PyTorch's cumsum, cumprod and prod), else x's own.
std::optional<DType> accumulating(const Tensor& x, std::optional<DType> dtype) {
  if (!dtype && is_integral(x.dtype(), true) && x.dtype() != kInt64) return kInt64;
  return dtype;
}

}  // namespace

// values = x[indices] along dim      (composite: gather's gradient)
std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) {
  profiler::Scope scope("sort");
  Tensor indices = argsort(x, dim, descending);
  Tensor values = x.dim() ? gather(x, dim_of(x, dim, "sort"), indices) : clone(x);
  return {values, indices};
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) {
  profiler::Scope scope("argsort");
  Tensor indices = kernels::sort_indices(x, dim_of(x, dim, "argsort"), descending);
  return autograd::mark_nondifferentiable("argsort", indices, {x});
}

// The first k of the sort      (composite: gather's gradient)
std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool) {
  profiler::Scope scope("topk");
  int64_t d = dim_of(x, dim, "topk");
  int64_t size = x.dim() ? x.size(d) : 1;
  if (k < 0 || k > size)
    fail("topk: k (", k, ") is out of range for dim ", dim, " of size ", size, " (input ",
         shape_str(x.sizes()), ")");
  Tensor order = kernels::sort_indices(x, d, /*descending=*/largest);
  Tensor indices = x.dim() ? narrow(order, d, 0, k).contiguous() : order;
  autograd::mark_nondifferentiable("topk", indices, {x});
  Tensor values = x.dim() ? gather(x, d, indices) : clone(x);
  return {values, indices};
}

// y_i = Σ_{j≤i} x_j      dx_i = Σ_{j≥i} g_j
Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  profiler::Scope scope("cumsum");
  dtype = accumulating(x, dtype);
  if (dtype && *dtype != x.dtype()) return cumsum(to(x, *dtype), dim);
  int64_t d = dim_of(x, dim, "cumsum");
  Tensor y = kernels::cumulative(x, d, /*product=*/false);
  return record("cumsum", y, {x}, [d](const Tensor& g, const Needs&) {
    return grads{g.dim() ? reverse_cumsum(g, d) : g};
  });
}

// y_i = Π_{j≤i} x_j      dx_i = Σ_{j≥i} g_j y_j / x_i without zeros; exactly otherwise (kernel)
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  profiler::Scope scope("cumprod");
  dtype = accumulating(x, dtype);
  if (dtype && *dtype != x.dtype()) return cumprod(to(x, *dtype), dim);
  int64_t d = dim_of(x, dim, "cumprod");
  Tensor y = kernels::cumulative(x, d, /*product=*/true);
  return record("cumprod", y, {x},
                [x = save(x), y = save_output(y), d](const Tensor& g, const Needs&) {
                  Tensor xv = x.unpack();
                  if (!GradMode::is_enabled()) return grads{kernels::cumprod_backward(xv, g, d)};
                  // create_graph: the formula as differentiable ops, which divides by x.
                  check(eq(xv, 0.0).sum().item<int64_t>() == 0,
                        "cumprod: second derivatives need an input without zeros (input ",
                        shape_str(xv.sizes()), ")");
                  if (!xv.dim()) return grads{g};
                  return grads{reverse_cumsum(g * y.unpack(), d) / xv};
                });
}

// Π x = the last entry of cumprod over the flattened x      (composite)
Tensor prod(const Tensor& x, std::optional<DType> dtype) {
  profiler::Scope scope("prod");
  return prod(reshape(x, {-1}), 0, /*keepdim=*/false, dtype);
}

Tensor prod(const Tensor& x, int64_t dim, bool keepdim, std::optional<DType> dtype) {
  profiler::Scope scope("prod");
  dtype = accumulating(x, dtype);
  Tensor xd = dtype ? to(x, *dtype) : x;
  int64_t d = dim_of(xd, dim, "prod");
  if (!xd.dim()) return clone(xd);
  if (xd.size(d) == 0) {  // the empty product
    Shape sizes = shape_of(xd);
    sizes[d] = 1;
    Tensor one = ones(sizes, xd.dtype());
    return keepdim ? one : squeeze(one, d);
  }
  Tensor last = narrow(cumprod(xd, d), d, xd.size(d) - 1, 1);
  return keepdim ? last : squeeze(last, d);
}

// log Σ e^x = m + log Σ e^(x - m), m the (constant) maximum      (composite)
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim) {
  profiler::Scope scope("logsumexp");
  check(x.is_floating_point(), "logsumexp: expected a floating tensor, got ", x.dtype());
  Tensor m = amax(x, dims, /*keepdim=*/true).detach();
  m = where(eq(abs(m), INFINITY), zeros_like(m), m);  // all -inf (or an inf): shift by 0
  Tensor total = sum(exp(x - m), dims, keepdim);
  return log(total) + reshape(m, shape_of(total));
}

}  // namespace ember

// Reductions and softmax. A reduction's gradient is the output gradient broadcast back over
// the reduced dims: kept as size 1, then expanded (a view, no copy).
// Read next: shape.cpp.
#include "reduce.h"

#include <cmath>

#include "../core/kernels/reduce.h"
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

// g of a reduction's output shape -> g with the reduced dims as size 1 (broadcastable to x).
Tensor keep_reduced_dims(const Tensor& g, IntList x_sizes, const std::vector<bool>& reduced,
                         bool keepdim) {
  if (keepdim) return g;
  return reshape(g, kernels::reduced_shape(x_sizes, reduced, /*keepdim=*/true));
}

// Shared by amax and amin: y = max over dims; dx = g [x = y] / (number of ties).
Tensor extremum(const char* op, const Tensor& x, const Shape& dims, bool keepdim, bool take_max) {
  profiler::Scope scope(op);
  auto reduced = kernels::reduced_dims(dims, x.dim(), op);
  Tensor y = kernels::amax(x, reduced, keepdim, take_max);
  return record(op, y, {x},
                [x = save(x), y = save_output(y), reduced, keepdim](const Tensor& g, const Needs&) {
                  Tensor xv = x.unpack();
                  Tensor yk = keep_reduced_dims(y.unpack(), xv.sizes(), reduced, keepdim);
                  Tensor gk = keep_reduced_dims(g, xv.sizes(), reduced, keepdim);
                  Tensor mask = where(eq(xv, yk), ones({}, xv.dtype()), 0.0);
                  std::vector<int64_t> rdims;
                  for (size_t d = 0; d < reduced.size(); ++d)
                    if (reduced[d]) rdims.push_back(static_cast<int64_t>(d));
                  return grads{gk * mask / sum(mask, rdims, /*keepdim=*/true)};
                });
}

}  // namespace

Tensor sum(const Tensor& x) { return sum(x, {}, false); }

// y = sum over dims of x      dx = g broadcast back over the dims
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  profiler::Scope scope("sum");
  if (is_integral(x.dtype(), true) && x.dtype() != kInt64) return sum(to(x, kInt64), dims, keepdim);
  auto reduced = kernels::reduced_dims(dims, x.dim(), "sum");
  Tensor y = kernels::sum(x, reduced, keepdim);
  return record("sum", y, {x},
                [sizes = shape_of(x), reduced, keepdim](const Tensor& g, const Needs&) {
                  return grads{expand(keep_reduced_dims(g, sizes, reduced, keepdim), sizes)};
                });
}

namespace {

// all and any count the nonzero elements (bool, so the sum is int64): all when none is zero.
Tensor truth(const Tensor& x, const Shape& dims, bool keepdim, bool every) {
  Tensor count = every ? sum(logical_not(x), dims, keepdim) : sum(ne(x, 0), dims, keepdim);
  Tensor y = every ? eq(count, 0) : ne(count, 0);
  return x.dtype() == kUInt8 ? to(y, kUInt8) : y;
}

}  // namespace

// Not differentiable: the comparisons already mark their outputs.
Tensor all(const Tensor& x) { return truth(x, {}, false, true); }
Tensor all(const Tensor& x, int64_t dim, bool keepdim) { return truth(x, {dim}, keepdim, true); }
Tensor any(const Tensor& x) { return truth(x, {}, false, false); }
Tensor any(const Tensor& x, int64_t dim, bool keepdim) { return truth(x, {dim}, keepdim, false); }

Tensor mean(const Tensor& x) { return mean(x, {}, false); }

// y = sum(x) / count      (composite: no backward code)
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  profiler::Scope scope("mean");
  check(x.is_floating_point(), "mean: expected a floating tensor, got ", x.dtype());
  auto reduced = kernels::reduced_dims(dims, x.dim(), "mean");
  int64_t count = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (reduced[d]) count *= x.size(d);
  return sum(x, dims, keepdim) / static_cast<double>(count);
}

// y = sum((x - mean)^2) / (count - correction)      (composite)
Tensor var(const Tensor& x) { return var(x, {}); }

Tensor var(const Tensor& x, const Shape& dims, int64_t correction, bool keepdim) {
  profiler::Scope scope("var");
  check(x.is_floating_point(), "var: expected a floating tensor, got ", x.dtype());
  auto reduced = kernels::reduced_dims(dims, x.dim(), "var");
  int64_t count = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (reduced[d]) count *= x.size(d);
  Tensor centered = x - mean(x, dims, /*keepdim=*/true);
  Tensor squares = sum(centered * centered, dims, keepdim);
  return squares / static_cast<double>(std::max<int64_t>(count - correction, 0));
}

Tensor std(const Tensor& x) { return sqrt(var(x)); }                                // (composite)
Tensor std(const Tensor& x, const Shape& dims, int64_t correction, bool keepdim) {  // (composite)
  profiler::Scope scope("std");
  return sqrt(var(x, dims, correction, keepdim));
}

Tensor norm(const Tensor& x, double p) { return norm(x, p, {}, false); }
Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim) {  // (composite)
  profiler::Scope scope("norm");
  check(x.is_floating_point(), "norm: expected a floating tensor, got ", x.dtype());
  check(p > 0, "norm: expected p > 0 (or INFINITY), got ", p);
  if (std::isinf(p)) return amax(abs(x), dims, keepdim);
  if (p == 2) return sqrt(sum(x * x, dims, keepdim));
  return pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
}

Tensor max(const Tensor& x) { return extremum("max", x, {}, false, true); }
Tensor min(const Tensor& x) { return extremum("min", x, {}, false, false); }
Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) {
  return extremum("amax", x, dims, keepdim, true);
}
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) {
  return extremum("amin", x, dims, keepdim, false);
}

// Shared by max and min along a dim: the values' gradient goes to the index found.
static std::pair<Tensor, Tensor> extremum_along(const char* op, const Tensor& x, int64_t dim,
                                                bool keepdim, bool take_max) {
  std::pair<Tensor, Tensor> found = kernels::max_along(x, dim, keepdim, take_max);
  Tensor values = found.first, indices = found.second;  // (clang 14 cannot capture bindings)
  int64_t d = x.dim() ? wrap_dim(dim, x.dim(), op) : 0;
  autograd::mark_nondifferentiable(op, indices, {x});
  // y = x[index] along dim      dx = scatter_add(zeros, dim, index, g)
  values = record(op, values, {x},
                  [sizes = shape_of(x), indices, d, keepdim](const Tensor& g, const Needs&) {
                    if (sizes.empty()) return grads{g};
                    Tensor idx = keepdim ? indices : unsqueeze(indices, d);
                    Tensor gk = keepdim ? g : unsqueeze(g, d);
                    return grads{scatter_add(zeros(sizes, g.dtype()), d, idx, gk)};
                  });
  return {values, indices};
}

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_along("max", x, dim, keepdim, true);
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_along("min", x, dim, keepdim, false);
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  profiler::Scope scope("argmax");
  Tensor i = kernels::max_along(x, dim, keepdim, true).second;
  return autograd::mark_nondifferentiable("argmax", i, {x});
}

Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  profiler::Scope scope("argmin");
  Tensor i = kernels::max_along(x, dim, keepdim, false).second;
  return autograd::mark_nondifferentiable("argmin", i, {x});
}

// y = softmax(x)      dx = y (g - sum(g y))      (sums along dim)
Tensor softmax(const Tensor& x, int64_t dim) {
  profiler::Scope scope("softmax");
  Tensor y = kernels::softmax(x, dim, /*log=*/false);
  int64_t d = wrap_dim(dim, x.dim(), "softmax");
  return record("softmax", y, {x}, [y = save_output(y), d](const Tensor& g, const Needs&) {
    Tensor yv = y.unpack();
    if (yv.dim() == 0) return grads{zeros_like(g)};
    // One fused pass, unless create_graph needs the formula as differentiable ops.
    if (!GradMode::is_enabled()) return grads{kernels::softmax_backward(yv, g, d)};
    return grads{yv * (g - sum(g * yv, {d}, /*keepdim=*/true))};
  });
}

// y = log_softmax(x)      dx = g - e^y sum(g)      (sum along dim)
Tensor log_softmax(const Tensor& x, int64_t dim) {
  profiler::Scope scope("log_softmax");
  Tensor y = kernels::softmax(x, dim, /*log=*/true);
  int64_t d = wrap_dim(dim, x.dim(), "log_softmax");
  return record("log_softmax", y, {x}, [y = save_output(y), d](const Tensor& g, const Needs&) {
    Tensor yv = y.unpack();
    if (yv.dim() == 0) return grads{zeros_like(g)};
    return grads{g - exp(yv) * sum(g, {d}, /*keepdim=*/true)};
  });
}

}  // namespace ember

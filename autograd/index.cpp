// Indexing ops. Read next: linalg.cpp.
#include "index.h"

#include "../core/kernels/index.h"
#include "../core/profiler.h"
#include "function.h"
#include "ops.h"

namespace ember {

using autograd::grads;
using autograd::Needs;
using autograd::record;

// y = x[index] along dim      dx = index_add(zeros, dim, index, g)
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  profiler::Scope scope("index_select");
  Tensor y = kernels::index_select(x, dim, index);
  Shape sizes(x.sizes().begin(), x.sizes().end());
  return record("index_select", y, {x}, [sizes, dim, index](const Tensor& g, const Needs&) {
    return grads{index_add(zeros(sizes, g.dtype()), dim, index, g)};
  });
}

// y = x; y[index] += src along dim      dx = g      dsrc = g[index]
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  profiler::Scope scope("index_add");
  Tensor y = kernels::index_add(x, dim, index, src);
  return record("index_add", y, {x, src}, [dim, index](const Tensor& g, const Needs& needs) {
    return grads{g, needs[1] ? index_select(g, dim, index) : Tensor()};
  });
}

namespace {

// As PyTorch, src may be larger than index in any dim: only its index-shaped corner is read
// (a narrowed view, whose backward puts zeros elsewhere).
Tensor index_shaped_corner(const char* op, const Tensor& src, const Tensor& index) {
  Tensor corner = src;
  if (src.dim() != index.dim() || shape_of(src) == shape_of(index)) return corner;
  for (int64_t d = 0; d < index.dim(); ++d) {
    if (src.size(d) < index.size(d))
      fail(op, ": src ", shape_str(src.sizes()), " is smaller than index ",
           shape_str(index.sizes()), " in dim ", d);
    if (src.size(d) > index.size(d)) corner = narrow(corner, d, 0, index.size(d));
  }
  return corner;
}

}  // namespace

// y = x at index along dim      dx = scatter_add(zeros, dim, index, g)
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  profiler::Scope scope("gather");
  Tensor y = kernels::gather(x, dim, index);
  Shape sizes(x.sizes().begin(), x.sizes().end());
  return record("gather", y, {x}, [sizes, dim, index](const Tensor& g, const Needs&) {
    return grads{scatter_add(zeros(sizes, g.dtype()), dim, index, g)};
  });
}

// y = x; y at index += src along dim      dx = g      dsrc = gather(g, dim, index)
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& input_src) {
  profiler::Scope scope("scatter_add");
  Tensor src = index_shaped_corner("scatter_add", input_src, index);
  Tensor y = kernels::scatter_add(x, dim, index, src);
  return record("scatter_add", y, {x, src}, [dim, index](const Tensor& g, const Needs& needs) {
    return grads{g, needs[1] ? gather(g, dim, index) : Tensor()};
  });
}

// y = x; y at index = src along dim      dx = g, 0 where written      dsrc = gather(g, dim, index)
// (with a position named twice, the gradient reaches every src entry aimed at it, as PyTorch's)
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& input_src) {
  profiler::Scope scope("scatter");
  Tensor src = index_shaped_corner("scatter", input_src, index);
  Tensor y = kernels::scatter(x, dim, index, src);
  return record("scatter", y, {x, src}, [dim, index](const Tensor& g, const Needs& needs) {
    Tensor dx = needs[0] ? scatter(g, dim, index, 0.0) : Tensor();
    return grads{dx, needs[1] ? gather(g, dim, index) : Tensor()};
  });
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, double value) {  // (composite)
  return scatter(x, dim, index, full(shape_of(index), value, x.dtype()));
}

// y[..., c] = 1 where x[...] = c      (not differentiable: classes are integers)
Tensor one_hot(const Tensor& x, int64_t num_classes) {
  profiler::Scope scope("one_hot");
  check(x.dtype() == kInt64, "one_hot: expected an int64 tensor of classes, got ", x.dtype());
  int64_t lo = x.numel() ? min(x).item<int64_t>() : 0;
  int64_t hi = x.numel() ? max(x).item<int64_t>() : -1;
  if (num_classes < 0) num_classes = hi + 1;
  if (lo < 0 || hi >= num_classes)
    fail("one_hot: classes must lie in [0, ", num_classes, "), got ", lo, " to ", hi);
  Shape sizes = shape_of(x);
  sizes.push_back(num_classes);
  Tensor y = scatter(zeros(sizes, kInt64), -1, unsqueeze(x, -1), 1.0);
  return autograd::mark_nondifferentiable("one_hot", y, {x});
}

}  // namespace ember

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
// As PyTorch, src may be larger than index in any dim: only its index-shaped corner is read
// (a narrowed view, whose backward puts zeros elsewhere).
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& input_src) {
  profiler::Scope scope("scatter_add");
  Tensor src = input_src;
  if (src.dim() == index.dim() && shape_of(src) != shape_of(index)) {
    for (int64_t d = 0; d < index.dim(); ++d) {
      if (src.size(d) < index.size(d))
        fail("scatter_add: src ", shape_str(src.sizes()), " is smaller than index ",
             shape_str(index.sizes()), " in dim ", d);
      if (src.size(d) > index.size(d)) src = narrow(src, d, 0, index.size(d));
    }
  }
  Tensor y = kernels::scatter_add(x, dim, index, src);
  return record("scatter_add", y, {x, src}, [dim, index](const Tensor& g, const Needs& needs) {
    return grads{g, needs[1] ? gather(g, dim, index) : Tensor()};
  });
}

}  // namespace ember

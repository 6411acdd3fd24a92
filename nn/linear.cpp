// nn::functional's linear functions: linear (one GEMM with the bias added in place, its own
// backward) and embedding (a row lookup, the sparse form of a linear map; a composite).
// Read next: convolution.cpp.
#include "../autograd/function.h"
#include "../core/kernels/matmul.h"
#include "../core/parallel.h"
#include "../core/profiler.h"
#include "functional.h"

namespace ember::nn::functional {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using autograd::save;

// y = x Wᵀ + b: one GEMM, with the bias added into its output in place (torch.addmm's saving:
// no second output, no broadcast add). dx = g W, dW = gᵀ x over all leading dims, db = the column
// sums of g, each an ember op, so linear differentiates twice.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  profiler::Scope scope("linear");
  if (weight.dim() != 2 || x.dim() < 1 || x.size(-1) != weight.size(1))
    fail("linear: input ", shape_str(x.sizes()), " does not match weight ",
         shape_str(weight.sizes()), " (expected input (..., ", weight.size(-1), "))");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != weight.size(0)))
    fail("linear: bias ", shape_str(bias.sizes()), " does not match weight ",
         shape_str(weight.sizes()), " (expected (", weight.size(0), "))");
  for (const Tensor* t : {&weight, &bias})
    if (t->defined() && t->dtype() != x.dtype())
      fail("linear: input is ", x.dtype(), " but ", t == &weight ? "weight" : "bias", " is ",
           t->dtype());
  Tensor wt = transpose(weight.detach(), 0, 1);  // a transposed view: BLAS reads it in place
  Tensor y = kernels::matmul(x.detach(), wt);
  if (bias.defined()) {
    Tensor b = bias.detach().contiguous();
    int64_t out = weight.size(0), rows = y.numel() / std::max<int64_t>(out, 1);
    visit_floating(y.dtype(), "linear", [&]<typename T>() {
      T* yp = y.data_ptr<T>();
      const T* bp = b.data_ptr<T>();
      parallel_for(0, rows, std::max<int64_t>(1, kGrainElements / std::max<int64_t>(out, 1)),
                   [&](int64_t lo, int64_t hi) {
                     for (int64_t r = lo; r < hi; ++r)
                       for (int64_t j = 0; j < out; ++j) yp[r * out + j] += bp[j];
                   });
    });
  }
  return record("linear", y, {x, weight, bias},
                [x = save(x), weight = save(weight)](const Tensor& g, const Needs& needs) {
                  Tensor xs = x.unpack(), w = weight.unpack();
                  Tensor rows_g = reshape(g, {-1, g.size(-1)});
                  Tensor dx, dw, db;
                  if (needs[0]) dx = matmul(g, w);
                  if (needs[1])
                    dw = matmul(transpose(rows_g, 0, 1), reshape(xs, {-1, xs.size(-1)}));
                  if (needs[2]) db = sum(rows_g, {0});
                  return grads{dx, dw, db};
                });
}

Tensor embedding(const Tensor& indices, const Tensor& weight) {  // (composite)
  profiler::Scope scope("embedding");
  if (weight.dim() != 2 || indices.dtype() != kInt64)
    fail("embedding: expected int64 indices and a 2-D weight, got ", indices.dtype(), " and ",
         shape_str(weight.sizes()));
  Shape out = shape_of(indices);
  out.push_back(weight.size(1));
  return reshape(index_select(weight, 0, reshape(indices, {-1})), out);
}

}  // namespace ember::nn::functional

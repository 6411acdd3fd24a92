// Matrix products. Read next: gradcheck.cpp.
#include "linalg.h"

#include "../core/kernels/matmul.h"
#include "../core/profiler.h"
#include "function.h"
#include "ops.h"

namespace ember {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using autograd::save;

// y = a @ b      da = g @ b^T      db = a^T @ g
// 1-D operands are promoted to matrices (a as a row, b as a column) for the formulas, and the
// promoted dims removed again; the engine sums broadcast batch dims back. Transposes are views,
// which the GEMM reads through its transpose flags: no copies.
Tensor matmul(const Tensor& a, const Tensor& b) {
  profiler::Scope scope("matmul");
  Tensor y = kernels::matmul(a, b);
  return record(
      "matmul", y, {a, b}, [a = save(a), b = save(b)](const Tensor& g, const Needs& needs) {
        Tensor av = a.unpack(), bv = b.unpack();
        if (av.dim() == 1 && bv.dim() == 1)
          return grads{needs[0] ? g * bv : Tensor(), needs[1] ? g * av : Tensor()};
        Tensor a2 = av.dim() == 1 ? unsqueeze(av, 0) : av;
        Tensor b2 = bv.dim() == 1 ? unsqueeze(bv, -1) : bv;
        Tensor g2 = av.dim() == 1 ? unsqueeze(g, -2) : g;
        if (bv.dim() == 1) g2 = unsqueeze(g2, -1);
        Tensor da, db;
        if (needs[0]) {
          da = matmul(g2, transpose(b2, -1, -2));
          if (av.dim() == 1) da = squeeze(da, -2);
        }
        if (needs[1]) {
          if (b2.dim() == 2 && a2.dim() > 2) {
            // b is shared by every batch: one GEMM over all rows instead of a GEMM per batch.
            Tensor rows_a = reshape(a2, {-1, a2.size(-1)}), rows_g = reshape(g2, {-1, g2.size(-1)});
            db = matmul(transpose(rows_a, 0, 1), rows_g);
          } else {
            db = matmul(transpose(a2, -1, -2), g2);
          }
          if (bv.dim() == 1) db = squeeze(db, -1);
        }
        return grads{da, db};
      });
}

Tensor mm(const Tensor& a, const Tensor& b) {  // (composite)
  profiler::Scope scope("mm");
  if (!(a.dim() == 2 && b.dim() == 2))
    fail("mm: expected 2-D tensors, got ", shape_str(a.sizes()), " and ", shape_str(b.sizes()));
  return matmul(a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {  // (composite)
  profiler::Scope scope("bmm");
  if (!(a.dim() == 3 && b.dim() == 3))
    fail("bmm: expected 3-D tensors, got ", shape_str(a.sizes()), " and ", shape_str(b.sizes()));
  if (a.size(0) != b.size(0))
    fail("bmm: batch sizes differ: ", shape_str(a.sizes()), " and ", shape_str(b.sizes()));
  return matmul(a, b);
}

}  // namespace ember

// nn::functional's dropout: elements (dropout) or whole channels (dropout2d, Tompson et al.
// 2015's spatial dropout) zeroed with probability p from the seeded generator, the rest scaled by
// 1/(1-p) so that the expected value is unchanged; the identity in evaluation. Composites.
// Read next: vision.cpp.
#include "../core/profiler.h"
#include "functional.h"

namespace ember::nn::functional {
namespace {

// x with each element of a uniform draw of `mask_shape` (broadcast against x) below p zeroed.
Tensor drop(const Tensor& x, double p, bool training, const Shape& mask_shape, const char* op) {
  check(p >= 0 && p <= 1, op, ": probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  Tensor keep = to(ge(rand(mask_shape, x.dtype()), p), x.dtype());
  return x * keep * (1.0 / (1.0 - p));
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training) {  // (composite)
  profiler::Scope scope("dropout");
  return drop(x, p, training, shape_of(x), "dropout");
}

Tensor dropout2d(const Tensor& x, double p, bool training) {  // (composite)
  profiler::Scope scope("dropout2d");
  if (x.dim() != 3 && x.dim() != 4)
    fail("dropout2d: expected (N, C, H, W) or (C, H, W), got ", shape_str(x.sizes()));
  Shape mask_shape = shape_of(x);
  for (int64_t d = x.dim() - 2; d < x.dim(); ++d) mask_shape[d] = 1;  // one draw per channel
  return drop(x, p, training, mask_shape, "dropout2d");
}

}  // namespace ember::nn::functional

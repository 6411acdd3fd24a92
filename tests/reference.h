// Naive reference twins: the obvious loops over multi-indices that ember's kernels must agree
// with. Slow on purpose; every value is a double computed from the logical (row-major) view.
#pragma once

#include <functional>

#include "helpers.h"

namespace ember::reference {

using ember::testing::values;

/// Multi-index of flat position i in `sizes`.
inline Shape unravel(int64_t i, const Shape& sizes) {
  Shape idx(sizes.size());
  for (size_t d = sizes.size(); d-- > 0;) {
    idx[d] = i % sizes[d];
    i /= sizes[d];
  }
  return idx;
}

/// Flat position of multi-index idx in `sizes`, broadcasting (size-1 dims read index 0).
inline int64_t ravel_broadcast(const Shape& idx, const Shape& sizes) {
  int64_t flat = 0;
  size_t lead = idx.size() - sizes.size();
  for (size_t d = 0; d < sizes.size(); ++d)
    flat = flat * sizes[d] + (sizes[d] == 1 ? 0 : idx[lead + d]);
  return flat;
}

inline std::vector<double> binary(const Tensor& a, const Tensor& b,
                                  const std::function<double(double, double)>& f,
                                  Shape& out_shape) {
  out_shape = broadcast_shapes(a.sizes(), b.sizes(), "reference");
  auto va = values(a), vb = values(b);
  Shape sa = ember::testing::shape(a), sb = ember::testing::shape(b);
  std::vector<double> out(numel_of(out_shape));
  for (int64_t i = 0; i < static_cast<int64_t>(out.size()); ++i) {
    Shape idx = unravel(i, out_shape);
    out[i] = f(va[ravel_broadcast(idx, sa)], vb[ravel_broadcast(idx, sb)]);
  }
  return out;
}

/// Sum over `dims` (all when empty), keeping them as size 1.
inline std::vector<double> sum_keepdim(const Tensor& x, const Shape& dims) {
  Shape s = ember::testing::shape(x), out_shape = s;
  for (size_t d = 0; d < s.size(); ++d)
    for (int64_t want : dims)
      if (want == int64_t(d) || want + int64_t(s.size()) == int64_t(d)) out_shape[d] = 1;
  if (dims.empty()) out_shape.assign(s.size(), 1);
  std::vector<double> out(numel_of(out_shape), 0.0);
  auto v = values(x);
  for (int64_t i = 0; i < x.numel(); ++i) out[ravel_broadcast(unravel(i, s), out_shape)] += v[i];
  return out;
}

/// (..., m, k) @ (..., k, n) with broadcast batch dims, both at least 2-D.
inline std::vector<double> matmul(const Tensor& a, const Tensor& b, Shape& out_shape) {
  Shape sa = ember::testing::shape(a), sb = ember::testing::shape(b);
  int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  Shape batch = broadcast_shapes(ba, bb, "reference");
  out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  auto va = values(a), vb = values(b);
  std::vector<double> out(numel_of(out_shape), 0.0);
  for (int64_t p = 0; p < numel_of(batch); ++p) {
    Shape idx = unravel(p, batch);
    int64_t pa = ravel_broadcast(idx, ba), pb = ravel_broadcast(idx, bb);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < k; ++q) acc += va[(pa * m + i) * k + q] * vb[(pb * k + q) * n + j];
        out[(p * m + i) * n + j] = acc;
      }
  }
  return out;
}

}  // namespace ember::reference

// Raw whole-tensor kernels: copy with broadcasting and dtype conversion, contiguous, fill, where.
// Read next: map_zip.h.
#pragma once

#include <string_view>

#include "../tensor.h"

namespace ember::kernels {

/// dst[...] = src[...] converted to dst's dtype; src broadcasts to dst's shape. dst: any strides.
void copy(const Tensor& dst, const Tensor& src);

/// x itself if contiguous, else a contiguous copy; never records autograd (kernels use this).
Tensor contiguous(const Tensor& x);

/// Every element of dst (any strides) set to value, converted to dst's dtype (an int64 exactly).
void fill(const Tensor& dst, const Scalar& value);

/// Checks that a binary op's operands share a dtype (ember does not promote types silently).
void check_same_dtype(const Tensor& a, const Tensor& b, std::string_view op);

/// out = cond ? a : b. cond: int64 (nonzero = true); a, b: one dtype; all three broadcast.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

}  // namespace ember::kernels

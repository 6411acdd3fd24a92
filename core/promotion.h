// Type promotion, as PyTorch's: the dtype an op on operands of different dtypes computes in.
// Two dtypes promote by the table below (c10::promoteTypes restricted to ember's dtypes); across
// operands, PyTorch's result_type lets a 0-dim tensor or a plain number raise the result only to a
// higher category (bool < integral < floating): int32 tensor + int64 0-dim tensor is int32,
// int32 tensor + 0.5 is float32, float32 tensor + float64 0-dim tensor is float32. The golden file
// tests/golden/promotion.txt holds PyTorch's answers for every pair; test_dtypes checks them all.
// Read next: scalar.h, then the ops that use it in autograd/elementwise.cpp.
#pragma once

#include <vector>

#include "scalar.h"
#include "tensor.h"

namespace ember {

/// The smallest dtype both a and b convert to without losing their category (torch.promote_types).
DType promote_types(DType a, DType b);

/// The dtype of an op over these operands (torch.result_type), with PyTorch's rules for 0-dim
/// tensors and for plain numbers (a floating number counts as the default dtype, float32).
DType result_type(const Tensor& a, const Tensor& b);
DType result_type(const Tensor& a, const Scalar& b);
DType result_type(const std::vector<Tensor>& tensors, const std::vector<Scalar>& scalars = {});

/// Whether an op whose result is `from` may write into a tensor of `to` (torch.can_cast): not
/// floating into integral, not a number into bool. In-place ops refuse the rest.
bool can_cast(DType from, DType to);

}  // namespace ember

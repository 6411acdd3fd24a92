// The IDX file format of MNIST and Fashion-MNIST: a magic number (two zero bytes, a type code,
// the number of dims), big-endian 32-bit sizes, then the values, big-endian. Plain or gzip.
// Read next: dataset.h.
#pragma once

#include <string>

#include "../core/tensor.h"

namespace ember::data {

/// Reads an IDX file (plain or .gz) into a tensor of `dtype` with the file's dims. The magic,
/// the dims and the file size are checked before anything is allocated; a truncated or corrupt
/// file raises ember::Error naming the file and the problem.
Tensor load_idx(const std::string& path, DType dtype = kFloat32);

/// Writes a uint8 IDX file (gzip-compressed when the path ends in .gz); values are clamped to
/// [0, 255]. For tests and for exporting data.
void save_idx_u8(const std::string& path, const Tensor& values);

}  // namespace ember::data

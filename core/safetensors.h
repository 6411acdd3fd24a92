// safetensors files: the format of checkpoints and of the golden files the tests compare against
// PyTorch. Layout: 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, "__metadata__":
//   {...}}
// then the data buffer the offsets index. The loader validates everything before trusting it.
// Read next: nn/module.h (state_dict, the checkpoints built on this).
#pragma once

#include <map>
#include <string>

#include "tensor.h"

namespace ember {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

/// Writes `tensors` (F32, F64, I64) and string metadata to `path` atomically
/// (write_file_atomically, atomic_file.h).
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const Metadata& metadata = {});

/// Reads every tensor of a safetensors file (F16 and BF16 are widened to float32). Throws
/// ember::Error naming the file and the problem for any malformed or inconsistent content.
TensorMap load_safetensors(const std::string& path, Metadata* metadata = nullptr);

/// Parses a safetensors file already in memory; `name` is used in error messages.
TensorMap parse_safetensors(const std::string& bytes, const std::string& name,
                            Metadata* metadata = nullptr);

}  // namespace ember

// safetensors files: the format of checkpoints and of the golden files the tests compare against
// PyTorch. Layout: 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, "__metadata__":
//   {...}}
// then the data buffer the offsets index. The loader validates everything before trusting it.
// Read next: nn/serialize.h (state_dict checkpoints built on this).
#pragma once

#include <map>
#include <string>

#include "tensor.h"

namespace ember {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

/// Writes `tensors` (F32, F64, I64) and string metadata to `path` atomically: the bytes go to a
/// temporary file in the same folder, which is flushed and then renamed over `path`.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const Metadata& metadata = {});

/// Reads every tensor of a safetensors file (F16 and BF16 are widened to float32). Throws
/// ember::Error naming the file and the problem for any malformed or inconsistent content.
TensorMap load_safetensors(const std::string& path, Metadata* metadata = nullptr);

/// Parses a safetensors file already in memory; `name` is used in error messages.
TensorMap parse_safetensors(const std::string& bytes, const std::string& name,
                            Metadata* metadata = nullptr);

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see a
/// partial file. Shared by every writer of checkpoints.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace ember

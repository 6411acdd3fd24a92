// Device and TensorOptions, as libtorch spells them, so that code written for libtorch compiles:
//   auto x = ember::zeros({2, 3}, ember::TensorOptions().dtype(ember::kFloat64).requires_grad(true));
//   ember::Device device(ember::cuda::is_available() ? ember::kCUDA : ember::kCPU);
//   model->to(device);  x.to(device);
// ember runs on the CPU only: a CUDA device can be named (so that such a line compiles), and
// using it for a tensor is an ember::Error. A DType converts to TensorOptions, so every factory
// still takes a plain dtype: zeros({2}, kInt64).
// Read next: factory.h.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "dtype.h"

namespace ember {

enum class DeviceType : int8_t { CPU, CUDA };
inline constexpr DeviceType kCPU = DeviceType::CPU;
inline constexpr DeviceType kCUDA = DeviceType::CUDA;

class Device {
 public:
  Device(DeviceType type, int index = -1) : type_(type), index_(static_cast<int8_t>(index)) {}
  /// "cpu", "cuda" or "cuda:1", as torch.device parses them.
  explicit Device(const std::string& name);
  DeviceType type() const { return type_; }
  int index() const { return index_; }
  bool has_index() const { return index_ >= 0; }
  bool is_cpu() const { return type_ == kCPU; }
  bool is_cuda() const { return type_ == kCUDA; }
  std::string str() const;
  bool operator==(const Device& other) const = default;

 private:
  DeviceType type_;
  int8_t index_;
};

std::ostream& operator<<(std::ostream& out, const Device& device);

/// Refuses any device but the CPU; `op` names who was asked.
void check_cpu(const Device& device, const char* op);

namespace cuda {
/// Always false: ember has no GPU code.
inline bool is_available() { return false; }
inline int64_t device_count() { return 0; }
}  // namespace cuda

/// What a factory makes: dtype (unset: the factory's default), device, requires_grad.
class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(DType dtype) : dtype_(dtype) {}
  TensorOptions(Device device) : device_(device) {}
  TensorOptions(DeviceType device) : device_(device) {}

  TensorOptions dtype(DType dtype) const {
    TensorOptions o = *this;
    o.dtype_ = dtype;
    return o;
  }
  TensorOptions device(Device device) const {
    TensorOptions o = *this;
    o.device_ = device;
    return o;
  }
  TensorOptions requires_grad(bool requires_grad) const {
    TensorOptions o = *this;
    o.requires_grad_ = requires_grad;
    return o;
  }

  /// The dtype, float32 when unset (libtorch's default).
  DType dtype() const { return dtype_.value_or(kFloat32); }
  bool has_dtype() const { return dtype_.has_value(); }
  DType dtype_or(DType fallback) const { return dtype_.value_or(fallback); }
  Device device() const { return device_; }
  bool requires_grad() const { return requires_grad_; }

 private:
  std::optional<DType> dtype_;
  Device device_ = kCPU;
  bool requires_grad_ = false;
};

/// libtorch's shorthands: zeros({2}, dtype(kFloat64).requires_grad()).
inline TensorOptions dtype(DType d) { return TensorOptions().dtype(d); }
inline TensorOptions device(Device d) { return TensorOptions().device(d); }
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

}  // namespace ember

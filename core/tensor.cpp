// Tensor metadata, data access and in-place whole-tensor writes; see tensor.h.
#include "tensor.h"

#include "factory.h"
#include "kernels/copy.h"

namespace ember {

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage_, Shape sizes_, Shape strides_,
                       int64_t offset_, DType dtype_)
    : storage(std::move(storage_)),
      sizes(std::move(sizes_)),
      strides(std::move(strides_)),
      offset(offset_),
      dtype(dtype_) {}

TensorImpl& Tensor::impl() const {
  check(impl_ != nullptr, "tensor: operation on an undefined tensor");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const { return impl().sizes[wrap_dim(d, dim(), "size")]; }

int64_t Tensor::stride(int64_t d) const { return impl().strides[wrap_dim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    int64_t s = impl().sizes[d];
    if (s == 0) return true;
    if (s != 1 && impl().strides[d] != expected) return false;
    expected *= s;
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(storage()->data()) + impl().offset * element_size(dtype());
}

template <typename T>
T Tensor::item() const {
  if (numel() != 1)
    fail("item: a tensor with ", numel(), " elements (shape ", shape_str(sizes()),
         ") cannot be converted to a scalar");
  return visit_dtype(dtype(), [&]<typename S>() { return static_cast<T>(*data_ptr<S>()); });
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;
template int Tensor::item<int>() const;
template bool Tensor::item<bool>() const;
template uint8_t Tensor::item<uint8_t>() const;

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset) {
  return Tensor(std::make_shared<TensorImpl>(base.storage(), std::move(sizes), std::move(strides),
                                             offset, base.dtype()));
}

}  // namespace ember

// TensorAccessor<T, N>, what x.accessor<float, 2>() returns, as libtorch's: a[i][j] reads and
// writes the element through the tensor's strides, with no bounds check and no autograd (the
// loops of a hand-written kernel). It points into the tensor's sizes and strides, so it must not
// outlive the tensor (accessor() on a temporary does not compile).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ember {

template <typename T, size_t N>
class TensorAccessor {
 public:
  TensorAccessor(T* data, const int64_t* sizes, const int64_t* strides)
      : data_(data), sizes_(sizes), strides_(strides) {}

  /// The element (N = 1) or the accessor of the sub-tensor at index i of the first dim.
  decltype(auto) operator[](int64_t i) const {
    if constexpr (N == 1)
      return data_[i * strides_[0]];
    else
      return TensorAccessor<T, N - 1>(data_ + i * strides_[0], sizes_ + 1, strides_ + 1);
  }
  int64_t size(int64_t d) const { return sizes_[d]; }
  int64_t stride(int64_t d) const { return strides_[d]; }
  T* data() const { return data_; }

 private:
  T* data_;
  const int64_t* sizes_;
  const int64_t* strides_;
};

}  // namespace ember

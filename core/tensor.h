// Tensor: a cheap value handle (a shared pointer) to a TensorImpl, which holds a shared Storage,
// sizes, strides, an offset and a dtype, plus autograd metadata only when autograd needs it.
// Members are metadata, data access and autograd state; every op is a free function
// (autograd/ops.h), so adding an op never edits this file. libtorch's method spellings of the ops
// (x.view({-1, 784}), x.sum(), w.t()) are listed in tensor_methods.inc, included in the class,
// and forward to the free functions.
// Read next: factory.h for making tensors, autograd/ops.h for using them.
#pragma once

#include <climits>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "accessor.h"
#include "dtype.h"
#include "options.h"
#include "scalar.h"
#include "shape.h"
#include "storage.h"

namespace ember {

namespace autograd {
struct AutogradMeta;
struct Node;
}  // namespace autograd

class Tensor;
class Generator;
namespace indexing {
class TensorIndex;  // core/tensor_index.h
}

/// Deletes autograd metadata; defined in autograd/, where AutogradMeta is a complete type.
struct AutogradMetaDeleter {
  void operator()(autograd::AutogradMeta* meta) const;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape sizes;
  Shape strides;
  int64_t offset = 0;  // in elements
  DType dtype = kFloat32;
  std::unique_ptr<autograd::AutogradMeta, AutogradMetaDeleter> autograd;  // null until needed

  TensorImpl(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, int64_t offset,
             DType dtype);
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor, as libtorch's default-constructed torch::Tensor
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }

  // ---- metadata
  IntList sizes() const { return impl().sizes; }
  IntList strides() const { return impl().strides; }
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const { return static_cast<int64_t>(impl().sizes.size()); }
  int64_t numel() const { return numel_of(impl().sizes); }
  DType dtype() const { return impl().dtype; }
  int64_t storage_offset() const { return impl().offset; }
  bool is_contiguous() const;
  bool is_floating_point() const { return is_floating(dtype()); }
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  /// True if both handles point at the same TensorImpl (not merely equal values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- data access
  /// Typed pointer to the first element; throws if T is not this tensor's dtype.
  template <typename T>
  T* data_ptr() const {
    check(dtype() == dtype_of<T>(), "data_ptr: tensor has dtype ", dtype(), ", asked for ",
          dtype_of<T>());
    return static_cast<T*>(storage()->data()) + impl().offset;
  }
  void* raw_data() const;
  /// The value of a one-element tensor, converted to T.
  template <typename T>
  T item() const;

  // ---- whole-tensor data operations (no autograd: see autograd/ops.h for the differentiable ops)
  /// A contiguous tensor with the same values: this one if already contiguous, else a copy.
  Tensor contiguous() const;
  /// Copies `src` (broadcast to this shape, converted to this dtype) into this tensor in place.
  /// (const: a handle writes the data it points to, as libtorch's in-place methods.)
  const Tensor& copy_(const Tensor& src) const;
  const Tensor& fill_(double value) const;
  const Tensor& zero_() const { return fill_(0.0); }

  // ---- autograd state (implemented in autograd/)
  bool requires_grad() const;
  /// Marks a leaf as requiring grad; refuses non-floating tensors and non-leaves turned off.
  Tensor& requires_grad_(bool requires_grad = true);
  /// The accumulated gradient of a leaf (undefined until a backward reaches it).
  const Tensor& grad() const;
  /// Replaces (or with an undefined tensor, clears) the accumulated gradient.
  void set_grad(const Tensor& grad) const;
  std::shared_ptr<autograd::Node> grad_fn() const;
  bool is_leaf() const;
  /// The same data, cut from the graph.
  Tensor detach() const;
  /// libtorch's spelling of detach(), as in weight.data().normal_(0, 0.02).
  Tensor data() const { return detach(); }
  /// Keeps the gradient of a non-leaf in .grad() after backward, as leaves do.
  void retain_grad() const;
  bool retains_grad() const;
  /// Backpropagates from this tensor into the .grad() of the leaves it depends on.
  void backward(const Tensor& gradient = {}, bool retain_graph = false,
                bool create_graph = false) const;
  /// Calls `hook` with the gradient flowing into this tensor; a defined return value replaces it.
  void register_hook(std::function<Tensor(const Tensor&)> hook) const;
  /// Calls `hook` with this leaf after backward has accumulated into its .grad(), as PyTorch's
  /// register_post_accumulate_grad_hook (data parallelism starts communicating a gradient there).
  void register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const;

  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // ---- libtorch's method spellings of the ops (defined in autograd/tensor_methods.cpp)
#include "tensor_methods.inc"

 private:
  std::shared_ptr<TensorImpl> impl_;
};

/// The sizes of t as an owned Shape (t.sizes() is a view into the tensor).
inline Shape shape_of(const Tensor& t) { return Shape(t.sizes().begin(), t.sizes().end()); }

/// A tensor viewing `base`'s storage with other sizes, strides and offset (no autograd).
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset);

/// Prints like PyTorch: values, then shape and dtype; large tensors are summarised.
std::ostream& operator<<(std::ostream& out, const Tensor& t);

}  // namespace ember

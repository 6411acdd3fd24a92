// Indexing kernels; see index.h.
#include "index.h"

#include "../factory.h"
#include "../profiler.h"
#include "copy.h"
#include "loop.h"

namespace ember::kernels {
namespace {

int64_t checked(int64_t i, int64_t size, const char* op, int64_t dim) {
  check(i >= -size && i < size, op, ": index ", i, " is out of range for dim ", dim, " of size ",
        size);
  return i < 0 ? i + size : i;
}

// The (N-1)-dim slab of x at position i of dim d, as a view.
Tensor slab(const Tensor& x, int64_t d, int64_t i) {
  Shape sizes = shape_of(x), strides(x.strides().begin(), x.strides().end());
  sizes.erase(sizes.begin() + d);
  strides.erase(strides.begin() + d);
  return make_view(x, sizes, strides, x.storage_offset() + i * x.stride(d));
}

// dst += src elementwise over dst's shape (src broadcasts); dst may be strided.
void add_into(const Tensor& dst, const Tensor& src) {
  Shape sizes = shape_of(dst);
  visit_dtype(dst.dtype(), [&]<typename T>() {
    T* dp = dst.data_ptr<T>();
    const T* sp = src.data_ptr<T>();
    for_each_row<2>(sizes,
                    {dst.impl().strides, broadcast_strides(src.sizes(), src.strides(), sizes)},
                    {0, 0}, [&](const Row<2>& r) {
                      for (int64_t i = 0; i < r.length; ++i)
                        dp[r.offset[0] + i * r.stride[0]] += sp[r.offset[1] + i * r.stride[1]];
                    });
  });
}

// Checks gather/scatter shapes: same rank, index no larger than x outside dim.
void check_gather_shapes(const char* op, const Tensor& x, int64_t d, const Tensor& index) {
  check(index.dtype() == kInt64, op, ": index must be int64, got ", index.dtype());
  if (index.dim() != x.dim())
    fail(op, ": index ", shape_str(index.sizes()), " must have as many dims as the input ",
         shape_str(x.sizes()));
  for (int64_t k = 0; k < x.dim(); ++k) {
    if (!(k == d || index.size(k) <= x.size(k)))
      fail(op, ": index ", shape_str(index.sizes()), " is larger than the input ",
           shape_str(x.sizes()), " in dim ", k);
  }
}

// Strides of `x` over index's shape, with the dim stride zeroed (the index supplies it).
Shape strides_without(const Tensor& x, int64_t d) {
  Shape s(x.strides().begin(), x.strides().end());
  s[d] = 0;
  return s;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  profiler::Scope scope("kernels::index_select");
  if (!(index.dtype() == kInt64 && index.dim() <= 1))
    fail("index_select: index must be a 1-D int64 tensor, got ", index.dtype(), " ",
         shape_str(index.sizes()));
  int64_t d = wrap_dim(dim, x.dim(), "index_select");
  Tensor idx = contiguous(index);
  Shape sizes = shape_of(x);
  sizes[d] = idx.numel();
  Tensor out = empty(sizes, x.dtype());
  const int64_t* ip = idx.data_ptr<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i)
    copy(slab(out, d, i), slab(x, d, checked(ip[i], x.size(d), "index_select", d)));
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  profiler::Scope scope("kernels::index_add");
  if (!(index.dtype() == kInt64 && index.dim() <= 1))
    fail("index_add: index must be a 1-D int64 tensor, got ", index.dtype(), " ",
         shape_str(index.sizes()));
  check(x.dtype() == src.dtype(), "index_add: src dtype ", src.dtype(), " differs from ",
        x.dtype());
  int64_t d = wrap_dim(dim, x.dim(), "index_add");
  Tensor idx = contiguous(index);
  Shape expected = shape_of(x);
  expected[d] = idx.numel();
  if (shape_of(src) != expected)
    fail("index_add: src of shape ", shape_str(src.sizes()), " does not match ",
         shape_str(expected), " (input ", shape_str(x.sizes()), ", ", idx.numel(),
         " indices along dim ", d, ")");
  Tensor out = empty_like(x);
  copy(out, x);
  const int64_t* ip = idx.data_ptr<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i)
    add_into(slab(out, d, checked(ip[i], x.size(d), "index_add", d)), slab(src, d, i));
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  profiler::Scope scope("kernels::gather");
  int64_t d = wrap_dim(dim, x.dim(), "gather");
  check_gather_shapes("gather", x, d, index);
  Shape sizes = shape_of(index);
  Tensor out = empty(sizes, x.dtype());
  int64_t size = x.size(d), stride = x.stride(d);
  visit_dtype(x.dtype(), [&]<typename T>() {
    T* op = out.data_ptr<T>();
    const T* xp = x.data_ptr<T>();
    const int64_t* ip = index.data_ptr<int64_t>();
    for_each_row<3>(sizes, {out.impl().strides, index.impl().strides, strides_without(x, d)},
                    {0, 0, 0}, [&](const Row<3>& r) {
                      for (int64_t i = 0; i < r.length; ++i) {
                        int64_t j = checked(ip[r.offset[1] + i * r.stride[1]], size, "gather", d);
                        op[r.offset[0] + i] = xp[r.offset[2] + i * r.stride[2] + j * stride];
                      }
                    });
  });
  return out;
}

namespace {

// scatter_add (add) and scatter (write): out = x, then src's entries go to the positions index
// names along d. Serial: two positions of src may land on the same element of out.
Tensor scatter_into(const char* op, const Tensor& x, int64_t dim, const Tensor& index,
                    const Tensor& src, bool add) {
  profiler::Scope scope(op);
  int64_t d = wrap_dim(dim, x.dim(), op);
  check(x.dtype() == src.dtype(), op, ": src dtype ", src.dtype(), " differs from ", x.dtype());
  if (shape_of(src) != shape_of(index))
    fail(op, ": src ", shape_str(src.sizes()), " must have the rank of index ",
         shape_str(index.sizes()), " and at least its size in every dim");
  check_gather_shapes(op, x, d, index);
  Tensor out = empty_like(x);
  copy(out, x);
  int64_t size = x.size(d), stride = out.stride(d);
  visit_dtype(x.dtype(), [&]<typename T>() {
    T* op_data = out.data_ptr<T>();
    const T* sp = src.data_ptr<T>();
    const int64_t* ip = index.data_ptr<int64_t>();
    for_each_row<3>(
        shape_of(index), {strides_without(out, d), index.impl().strides, src.impl().strides},
        {0, 0, 0},
        [&](const Row<3>& r) {
          for (int64_t i = 0; i < r.length; ++i) {
            int64_t j = checked(ip[r.offset[1] + i * r.stride[1]], size, op, d);
            T& target = op_data[r.offset[0] + i * r.stride[0] + j * stride];
            T value = sp[r.offset[2] + i * r.stride[2]];
            target = add ? static_cast<T>(target + value) : value;
          }
        },
        kSerial);
  });
  return out;
}

}  // namespace

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_into("scatter_add", x, dim, index, src, /*add=*/true);
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_into("scatter", x, dim, index, src, /*add=*/false);
}

}  // namespace ember::kernels

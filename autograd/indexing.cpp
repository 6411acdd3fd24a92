// Indexing. The basic entries become views (select, slice, unsqueeze); the tensor entries are
// then turned into one linear position per element of their broadcast shape, over the indexed
// dims moved to the front and flattened, so that reading is an index_select (whose gradient is
// index_add) and writing is one strided copy per position. Read next: index.cpp.
#include "indexing.h"

#include <algorithm>
#include <string_view>

#include "../core/profiler.h"
#include "function.h"
#include "ops.h"

namespace ember {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using indexing::TensorIndex;

indexing::TensorIndex::TensorIndex(const char* text) : value_(EllipsisIndexType{}) {
  check(text && std::string_view(text) == "...", "index: the only string an index takes is ",
        "\"...\", got \"", text ? text : "", "\"");
}

namespace {

// x after the basic entries, and the tensor entries with the dims of it they index.
struct Basic {
  Tensor view;
  std::vector<int64_t> dims;
  std::vector<Tensor> tensors;
};

bool is_mask(const Tensor& t) {
  check(t.defined(), "index: an undefined tensor as an index");
  return t.dtype() == kBool;
}

// A bool mask over dims d.. of the view is the int64 indices of its true elements, one index
// tensor per dim it covers (PyTorch's rule); a 0-dim mask adds a dim of size 1 or 0. Returns the
// next dim.
int64_t apply_mask(Basic& out, int64_t d, const Tensor& mask, const char* op) {
  if (mask.dim() == 0) {
    out.view = unsqueeze(out.view, d);
    out.dims.push_back(d);
    out.tensors.push_back(mask.item<bool>() ? zeros({1}, kInt64) : zeros({0}, kInt64));
    return d + 1;
  }
  for (int64_t k = 0; k < mask.dim(); ++k)
    if (mask.size(k) != out.view.size(d + k))
      fail(op, ": the shape of the mask ", shape_str(mask.sizes()), " at index ", k,
           " does not match the shape of the indexed tensor ", shape_str(out.view.sizes()),
           " at index ", d + k);
  Tensor positions = nonzero(mask);
  for (int64_t k = 0; k < mask.dim(); ++k) {
    out.dims.push_back(d + k);
    out.tensors.push_back(positions.select(1, k));
  }
  return d + mask.dim();
}

Basic apply_basic(const Tensor& x, const std::vector<TensorIndex>& indices, const char* op) {
  int64_t consumed = 0, ellipses = 0;
  for (const TensorIndex& i : indices) {
    consumed += i.is_integer() || i.is_slice() || (i.is_tensor() && !is_mask(i.tensor()));
    if (i.is_tensor() && is_mask(i.tensor())) consumed += i.tensor().dim();
    ellipses += i.is_ellipsis();
  }
  check(ellipses <= 1, op, ": an index can hold one ellipsis (\"...\") at most, got ", ellipses);
  if (consumed > x.dim())
    fail(op, ": too many indices for a tensor of dimension ", x.dim(), " (", shape_str(x.sizes()),
         "): ", consumed, " given");
  Basic out{x, {}, {}};
  int64_t d = 0;
  for (const TensorIndex& i : indices) {
    if (i.is_none()) {
      out.view = unsqueeze(out.view, d++);
    } else if (i.is_ellipsis()) {
      d += x.dim() - consumed;
    } else if (i.is_integer()) {
      int64_t size = out.view.size(d);
      if (i.integer() < -size || i.integer() >= size)
        fail(op, ": index ", i.integer(), " is out of bounds for dimension ", d, " with size ",
             size, " (tensor ", shape_str(x.sizes()), ")");
      out.view = select(out.view, d, i.integer());
    } else if (i.is_slice()) {
      check(i.slice().step() > 0, op, ": a slice's step must be greater than zero, got ",
            i.slice().step());
      out.view = slice(out.view, d++, i.slice().start(), i.slice().stop(), i.slice().step());
    } else if (is_mask(i.tensor())) {
      d = apply_mask(out, d, i.tensor(), op);
    } else {
      const Tensor& t = i.tensor();
      check(t.dtype() == kInt64 || t.dtype() == kInt32, op,
            ": tensors used as indices must be int64, int32 or bool, got ", t.dtype());
      out.dims.push_back(d++);
      out.tensors.push_back(to(t, kInt64));
    }
  }
  return out;
}

// The tensor entries' linear positions over the indexed dims of `view` (row-major in the order
// given), one per element of their broadcast shape; bounds checked, negatives wrapped.
struct Advanced {
  Shape shape;                // the broadcast shape of the index tensors
  std::vector<int64_t> flat;  // its elements' positions in the indexed dims, flattened
  int64_t indexed_numel = 1;  // the product of the indexed dims' sizes
  bool adjacent = true;       // the indexed dims follow one another
};

Advanced advanced_positions(const Basic& b, const char* op) {
  Advanced a;
  for (const Tensor& t : b.tensors) a.shape = broadcast_shapes(a.shape, t.sizes(), op);
  int64_t n = numel_of(a.shape);
  a.flat.assign(n, 0);
  for (size_t k = 0; k < b.tensors.size(); ++k) {
    int64_t d = b.dims[k], size = b.view.size(d);
    if (k) a.adjacent = a.adjacent && d == b.dims[k - 1] + 1;
    a.indexed_numel *= size;
    Tensor idx = expand(b.tensors[k], a.shape).contiguous();
    const int64_t* p = idx.data_ptr<int64_t>();
    for (int64_t e = 0; e < n; ++e) {
      if (p[e] < -size || p[e] >= size)
        fail(op, ": index ", p[e], " is out of bounds for dimension ", d, " with size ", size,
             " (tensor ", shape_str(b.view.sizes()), " after the basic indices)");
      a.flat[e] = a.flat[e] * size + (p[e] < 0 ? p[e] + size : p[e]);
    }
  }
  return a;
}

// The dims of b.view not indexed by a tensor, in order.
std::vector<int64_t> rest_dims(const Basic& b) {
  std::vector<int64_t> rest;
  for (int64_t d = 0; d < b.view.dim(); ++d)
    if (std::find(b.dims.begin(), b.dims.end(), d) == b.dims.end()) rest.push_back(d);
  return rest;
}

// The order of dims taking (broadcast dims..., rest...) to PyTorch's layout of x[indices]: the
// broadcast dims where the first indexed dim was, when the indexed dims were adjacent; else in
// front (the identity).
Shape result_order(const Basic& b, const Advanced& a, int64_t rank) {
  auto nb = static_cast<int64_t>(a.shape.size());
  int64_t p = a.adjacent ? b.dims.front() : 0;
  Shape order;
  for (int64_t i = 0; i < p; ++i) order.push_back(nb + i);
  for (int64_t i = 0; i < nb; ++i) order.push_back(i);
  for (int64_t i = nb + p; i < rank; ++i) order.push_back(i);
  return order;
}

// Where flat position `flat` of the indexed dims of b.view starts in its storage.
int64_t storage_offset_of(const Basic& b, int64_t flat) {
  int64_t offset = b.view.storage_offset();
  for (size_t k = b.dims.size(); k-- > 0;) {
    int64_t size = b.view.size(b.dims[k]);
    offset += (flat % size) * b.view.stride(b.dims[k]);
    flat /= size;
  }
  return offset;
}

// Writes (or adds) values into x[indices] in place: x's own storage, no autograd.
void write(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values,
           bool accumulate, const char* op) {
  NoGradGuard no_grad;
  Basic b = apply_basic(x, indices, op);
  if (b.tensors.empty()) {
    b.view.copy_(accumulate ? b.view + expand(values, shape_of(b.view)) : values);
    return;
  }
  Advanced a = advanced_positions(b, op);
  std::vector<int64_t> rest = rest_dims(b);
  Shape rest_sizes, rest_strides, front_shape = a.shape;
  for (int64_t d : rest) {
    rest_sizes.push_back(b.view.size(d));
    rest_strides.push_back(b.view.stride(d));
  }
  front_shape.insert(front_shape.end(), rest_sizes.begin(), rest_sizes.end());
  // values broadcast to x[indices]'s shape (PyTorch's layout), then brought to front_shape's
  Shape order = result_order(b, a, static_cast<int64_t>(front_shape.size()));
  Shape layout_shape(order.size()), inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    layout_shape[i] = front_shape[order[i]];
    inverse[order[i]] = static_cast<int64_t>(i);
  }
  Tensor v = permute(expand(values, layout_shape), inverse);
  auto n = static_cast<int64_t>(a.flat.size());
  if (n == 0) return;
  Tensor rows = reshape(v, {n, numel_of(rest_sizes)});  // row e: what position e receives
  for (int64_t e = 0; e < n; ++e) {
    Tensor slab = make_view(b.view, rest_sizes, rest_strides, storage_offset_of(b, a.flat[e]));
    Tensor source = reshape(select(rows, 0, e), rest_sizes);
    slab.copy_(accumulate ? slab + source : source);
  }
}

}  // namespace

// y = x[indices]: views for the basic entries, then index_select of the flattened indexed dims
Tensor index(const Tensor& x, const std::vector<TensorIndex>& indices) {  // (composite)
  profiler::Scope scope("index");
  Basic b = apply_basic(x, indices, "index");
  if (b.tensors.empty()) return b.view;
  Advanced a = advanced_positions(b, "index");
  std::vector<int64_t> rest = rest_dims(b);
  Shape order(b.dims.begin(), b.dims.end()), flat_shape{a.indexed_numel}, out_shape = a.shape;
  for (int64_t d : rest) {
    order.push_back(d);
    flat_shape.push_back(b.view.size(d));
    out_shape.push_back(b.view.size(d));
  }
  Tensor flat = reshape(permute(b.view, order), flat_shape);
  Tensor positions = from_vector(a.flat, {static_cast<int64_t>(a.flat.size())});
  Tensor y = reshape(index_select(flat, 0, positions), out_shape);
  return permute(y, result_order(b, a, y.dim()));
}

// y = x with x[indices] = values (or += values)
// dx = g with g[indices] = 0 (or g itself)      dvalues = g[indices], summed to values' shape
Tensor index_put(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values,
                 bool accumulate) {
  profiler::Scope scope("index_put");
  if (values.dtype() != x.dtype())
    fail("index_put: values of dtype ", values.dtype(), " for a tensor of dtype ", x.dtype(),
         "; convert them with .to(", x.dtype(), ")");
  Tensor y = clone(x.detach());
  write(y, indices, values.detach(), accumulate, "index_put");
  return record("index_put", y, {x, values},
                [indices, accumulate](const Tensor& g, const Needs& needs) {
                  Tensor dx, dvalues;
                  if (needs[0]) dx = accumulate ? g : index_put(g, indices, zeros({}, g.dtype()));
                  if (needs[1]) dvalues = index(g, indices);
                  return grads{dx, dvalues};
                });
}

// y = x at the positions where mask is nonzero      (composite: index_select's gradient)
Tensor masked_select(const Tensor& x, const Tensor& mask) {
  profiler::Scope scope("masked_select");
  check(mask.dtype() == kBool, "masked_select: expected a bool mask, got ", mask.dtype());
  Shape shape = broadcast_shapes(x.sizes(), mask.sizes(), "masked_select");
  Tensor keep = nonzero(reshape(expand(mask, shape), {-1}));
  return index_select(reshape(expand(x, shape), {-1}), 0, reshape(keep, {-1}));
}

Tensor nonzero(const Tensor& x) {
  profiler::Scope scope("nonzero");
  Tensor c = x.detach().contiguous();
  Shape strides = contiguous_strides(c.sizes());
  std::vector<int64_t> positions;
  int64_t count = 0;
  visit_dtype(c.dtype(), [&]<typename T>() {
    const T* p = c.data_ptr<T>();
    for (int64_t e = 0; e < c.numel(); ++e) {
      if (p[e] == T(0)) continue;
      ++count;
      for (int64_t d = 0; d < c.dim(); ++d) positions.push_back((e / strides[d]) % c.size(d));
    }
  });
  return autograd::mark_nondifferentiable("nonzero", from_vector(positions, {count, c.dim()}), {x});
}

}  // namespace ember

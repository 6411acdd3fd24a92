// Views and data movement. A view's backward is the inverse view (or, for slices, writing the
// gradient into zeros); composites (reshape, transpose, squeeze, stack, split, ...) have none.
// Read next: index.cpp.
#include "shape.h"

#include <numeric>
#include <optional>

#include "../core/kernels/copy.h"
#include "function.h"
#include "ops.h"

namespace ember {

using autograd::grads;
using autograd::Needs;
using autograd::record;

namespace {

// Python-style bounds: negative counts from the end, then clamped to [0, size].
int64_t clamp_index(int64_t i, int64_t size) {
  if (i < 0) i += size;
  return std::clamp<int64_t>(i, 0, size);
}

// y = x seen with sizes and strides (view_strides' answer)      dx = reshape(g, x's shape)
Tensor view_as_strided(const Tensor& x, const Shape& sizes, const Shape& strides) {
  Tensor y = make_view(x, sizes, strides, x.storage_offset());
  return record("view", y, {x}, [old = shape_of(x)](const Tensor& g, const Needs&) {
    return grads{reshape(g, old)};
  });
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) {
  Shape sizes = infer_size(shape, x.numel(), "view");
  std::optional<Shape> strides = view_strides(x.sizes(), x.strides(), sizes);
  if (!strides.has_value())
    fail("view: shape ", shape_str(shape), " is not compatible with input ", "of shape ",
         shape_str(x.sizes()), " and strides ", shape_str(x.strides()),
         " without a copy; use reshape()");
  return view_as_strided(x, sizes, *strides);
}

// A view when the strides allow, else a copy (contiguous, so its strides are the plain ones)
Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape sizes = infer_size(shape, x.numel(), "reshape");
  if (std::optional<Shape> strides = view_strides(x.sizes(), x.strides(), sizes))
    return view_as_strided(x, sizes, *strides);
  return view_as_strided(clone(x), sizes, contiguous_strides(sizes));
}

// y = x with dims reordered      dx = permute(g, inverse order)
Tensor permute(const Tensor& x, const Shape& dims) {
  if (!(static_cast<int64_t>(dims.size()) == x.dim()))
    fail("permute: ", dims.size(), " dims given for a tensor of rank ", x.dim(), " (",
         shape_str(x.sizes()), ")");
  Shape sizes(dims.size()), strides(dims.size()), inverse(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], x.dim(), "permute");
    if (!(!seen[d])) fail("permute: dim ", dims[i], " repeats in ", shape_str(dims));
    seen[d] = true;
    sizes[i] = x.size(d);
    strides[i] = x.stride(d);
    inverse[d] = static_cast<int64_t>(i);
  }
  Tensor y = make_view(x, sizes, strides, x.storage_offset());
  return record("permute", y, {x},
                [inverse](const Tensor& g, const Needs&) { return grads{permute(g, inverse)}; });
}

// Swaps two dims      (composite)
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  Shape order(x.dim());
  std::iota(order.begin(), order.end(), 0);
  if (x.dim() == 0) return x;
  std::swap(order[wrap_dim(dim0, x.dim(), "transpose")],
            order[wrap_dim(dim1, x.dim(), "transpose")]);
  return permute(x, order);
}

Tensor t(const Tensor& x) {
  if (!(x.dim() <= 2)) fail("t: expects a tensor of at most 2 dims, got ", shape_str(x.sizes()));
  return x.dim() < 2 ? x : transpose(x, 0, 1);
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  int64_t d = wrap_dim(dim, x.dim(), "narrow");
  if (start < 0) start += x.size(d);
  check(start >= 0 && length >= 0 && start + length <= x.size(d), "narrow: [", start, ", ",
        start + length, ") is out of range for dim ", dim, " of size ", x.size(d));
  return slice(x, d, start, start + length, 1);
}

// y = x[start:end:step] along dim      dx = zeros with g written into that slice
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  int64_t d = wrap_dim(dim, x.dim(), "slice");
  check(step > 0, "slice: step must be positive, got ", step);
  check(x.dim() > 0, "slice: cannot slice a 0-dim tensor");
  int64_t size = x.size(d);
  start = clamp_index(start, size);
  end = std::max(start, clamp_index(end, size));
  Shape sizes = shape_of(x), strides(x.strides().begin(), x.strides().end());
  sizes[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  Tensor y = make_view(x, sizes, strides, x.storage_offset() + start * x.stride(d));
  return record("slice", y, {x},
                [sizes = shape_of(x), d, start, end, step](const Tensor& g, const Needs&) {
                  return grads{slice_scatter(zeros(sizes, g.dtype()), g, d, start, end, step)};
                });
}

// y = x[index] along dim      dx = zeros with g written at index
Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  int64_t d = wrap_dim(dim, x.dim(), "select");
  check(x.dim() > 0, "select: cannot select from a 0-dim tensor");
  int64_t size = x.size(d);
  check(index >= -size && index < size, "select: index ", index, " is out of range for dim ", dim,
        " of size ", size);
  if (index < 0) index += size;
  Shape sizes = shape_of(x), strides(x.strides().begin(), x.strides().end());
  sizes.erase(sizes.begin() + d);
  strides.erase(strides.begin() + d);
  Tensor y = make_view(x, sizes, strides, x.storage_offset() + index * x.stride(d));
  return record("select", y, {x}, [sizes = shape_of(x), d, index](const Tensor& g, const Needs&) {
    return grads{slice_scatter(zeros(sizes, g.dtype()), unsqueeze(g, d), d, index, index + 1)};
  });
}

// y = x repeated along size-1 and new leading dims (stride 0)      dx = g summed back (engine)
Tensor expand_as(const Tensor& x, const Tensor& other) {  // (composite)
  return expand(x, shape_of(other));
}

Tensor expand(const Tensor& x, const Shape& shape) {
  if (!(shape.size() >= static_cast<size_t>(x.dim())))
    fail("expand: target ", shape_str(shape), " has fewer dims than the tensor ",
         shape_str(x.sizes()));
  size_t lead = shape.size() - x.dim();
  Shape sizes(shape.size()), strides(shape.size(), 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t want = shape[i];
    if (i < lead) {
      check(want >= 0, "expand: size -1 is not allowed for the new leading dim ", i);
      sizes[i] = want;
      continue;
    }
    int64_t have = x.size(i - lead);
    if (want == -1) want = have;
    if (!(have == want || have == 1))
      fail("expand: the tensor of shape ", shape_str(x.sizes()), " cannot be expanded to ",
           shape_str(shape), " (dim ", i, ": ", have, " vs ", want, ")");
    sizes[i] = want;
    strides[i] = have == want ? x.stride(i - lead) : 0;
  }
  Tensor y = make_view(x, sizes, strides, x.storage_offset());
  return record("expand", y, {x}, [](const Tensor& g, const Needs&) { return grads{g}; });
}

Tensor squeeze(const Tensor& x) {  // (composite)
  Shape sizes;
  for (int64_t s : x.sizes())
    if (s != 1) sizes.push_back(s);
  return view(x, sizes);
}

Tensor squeeze(const Tensor& x, int64_t dim) {  // (composite)
  if (x.dim() == 0) return view(x, {});
  int64_t d = wrap_dim(dim, x.dim(), "squeeze");
  if (x.size(d) != 1) return x;
  Shape sizes = shape_of(x);
  sizes.erase(sizes.begin() + d);
  return view(x, sizes);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {  // (composite)
  int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape sizes = shape_of(x);
  sizes.insert(sizes.begin() + d, 1);
  return view(x, sizes);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {  // (composite)
  if (x.dim() == 0) return reshape(x, {1});
  int64_t s = wrap_dim(start_dim, x.dim(), "flatten"), e = wrap_dim(end_dim, x.dim(), "flatten");
  check(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape sizes(x.sizes().begin(), x.sizes().begin() + s);
  sizes.push_back(numel_of(x.sizes().subspan(s, e - s + 1)));
  sizes.insert(sizes.end(), x.sizes().begin() + e + 1, x.sizes().end());
  return reshape(x, sizes);
}

Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes) {  // (composite)
  int64_t d = wrap_dim(dim, x.dim(), "unflatten");
  Shape inner = infer_size(sizes, x.size(d), "unflatten");
  Shape out(x.sizes().begin(), x.sizes().begin() + d);
  out.insert(out.end(), inner.begin(), inner.end());
  out.insert(out.end(), x.sizes().begin() + d + 1, x.sizes().end());
  return reshape(x, out);
}

// y = base with y[start:end:step] = src      dbase = g with that slice zeroed      dsrc = g's slice
Tensor slice_scatter(const Tensor& base, const Tensor& src, int64_t dim, int64_t start, int64_t end,
                     int64_t step) {
  kernels::check_same_dtype(base, src, "slice_scatter");
  Tensor y = empty_like(base);
  kernels::copy(y, base);
  Tensor window = slice(y, dim, start, end, step);  // y has no graph: a plain view
  if (!(window.sizes().size() == src.sizes().size() &&
        std::equal(window.sizes().begin(), window.sizes().end(), src.sizes().begin())))
    fail("slice_scatter: src of shape ", shape_str(src.sizes()),
         " does not fit the slice of shape ", shape_str(window.sizes()));
  kernels::copy(window, src);
  return record("slice_scatter", y, {base, src},
                [dim, start, end, step](const Tensor& g, const Needs& needs) {
                  Tensor dbase, dsrc = slice(g, dim, start, end, step);
                  if (needs[0]) dbase = slice_scatter(g, zeros_like(dsrc), dim, start, end, step);
                  return grads{dbase, needs[1] ? dsrc : Tensor()};
                });
}

// y = a copy of x      dx = g
Tensor clone(const Tensor& x) {
  Tensor y = empty_like(x);
  kernels::copy(y, x);
  return record("clone", y, {x}, [](const Tensor& g, const Needs&) { return grads{g}; });
}

// y = x converted to dtype      dx = g converted back
Tensor to(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor y = empty(shape_of(x), dtype);
  kernels::copy(y, x);
  if (!is_floating(dtype) || !x.is_floating_point()) return y;
  return record("to", y, {x},
                [from = x.dtype()](const Tensor& g, const Needs&) { return grads{to(g, from)}; });
}

// y = [a; b; ...] along dim      da = g's slice where a went, and so on
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  check(!tensors.empty(), "cat: expected at least one tensor");
  const Tensor& first = tensors[0];
  check(first.dim() > 0, "cat: zero-dimensional tensors cannot be concatenated");
  int64_t d = wrap_dim(dim, first.dim(), "cat");
  Shape sizes = shape_of(first);
  sizes[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& x = tensors[i];
    bool fits = x.dim() == first.dim() && x.dtype() == first.dtype();
    for (int64_t k = 0; fits && k < x.dim(); ++k) fits = k == d || x.size(k) == first.size(k);
    if (!fits)
      fail("cat: tensor ", i, " (", x.dtype(), " ", shape_str(x.sizes()),
           ") does not match tensor 0 (", first.dtype(), " ", shape_str(first.sizes()),
           ") outside dim ", d);
    sizes[d] += x.size(d);
  }
  Tensor y = empty(sizes, first.dtype());
  std::vector<int64_t> offsets, lengths;
  int64_t offset = 0;
  for (const Tensor& x : tensors) {
    offsets.push_back(offset);
    lengths.push_back(x.size(d));
    Shape part = sizes;
    part[d] = x.size(d);
    kernels::copy(make_view(y, part, y.impl().strides, offset * y.stride(d)), x);
    offset += x.size(d);
  }
  return record("cat", y, tensors, [offsets, lengths, d](const Tensor& g, const Needs& needs) {
    grads out(offsets.size());
    for (size_t i = 0; i < offsets.size(); ++i)
      if (needs[i]) out[i] = narrow(g, d, offsets[i], lengths[i]);
    return out;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {  // (composite)
  check(!tensors.empty(), "stack: expected at least one tensor");
  int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!(tensors[i].sizes().size() == tensors[0].sizes().size() &&
          std::equal(tensors[i].sizes().begin(), tensors[i].sizes().end(),
                     tensors[0].sizes().begin())))
      fail("stack: tensor ", i, " has shape ", shape_str(tensors[i].sizes()), " but tensor 0 has ",
           shape_str(tensors[0].sizes()));
    parts.push_back(unsqueeze(tensors[i], d));
  }
  return cat(parts, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {  // (composite)
  int64_t d = wrap_dim(dim, x.dim(), "split");
  check(split_size > 0 || x.size(d) == 0, "split: split_size must be positive, got ", split_size);
  std::vector<Tensor> out;
  for (int64_t start = 0; start < x.size(d); start += split_size)
    out.push_back(narrow(x, d, start, std::min(split_size, x.size(d) - start)));
  return out;
}

std::vector<Tensor> split(const Tensor& x, const Shape& split_sizes, int64_t dim) {  // (composite)
  int64_t d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t size : split_sizes) {
    check(size >= 0, "split: split sizes ", shape_str(split_sizes), " must not be negative");
    total += size;
  }
  if (total != x.size(d))
    fail("split: split sizes ", shape_str(split_sizes), " add up to ", total, ", not the size ",
         x.size(d), " of dim ", dim, " (input ", shape_str(x.sizes()), ")");
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t size : split_sizes) {
    out.push_back(narrow(x, d, start, size));
    start += size;
  }
  return out;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {  // (composite)
  check(chunks > 0, "chunk: chunks must be positive, got ", chunks);
  int64_t d = wrap_dim(dim, x.dim(), "chunk");
  return split(x, std::max<int64_t>(1, (x.size(d) + chunks - 1) / chunks), d);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {  // (composite)
  int64_t d = wrap_dim(dim, x.dim(), "unbind");
  std::vector<Tensor> out;
  for (int64_t i = 0; i < x.size(d); ++i) out.push_back(select(x, d, i));
  return out;
}

}  // namespace ember

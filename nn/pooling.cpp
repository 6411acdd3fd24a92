// nn::functional's pools: max_pool2d (a kernel that keeps each window's argmax; its backward
// scatters the gradient there), avg_pool2d (the mean of unfold's patches) and the adaptive pools
// (bins of the input, PyTorch's rule; composites). Read next: normalization.cpp.
#include "../autograd/function.h"
#include "../autograd/grad_mode.h"
#include "../core/kernels/pool.h"
#include "../core/profiler.h"
#include "functional_shapes.h"

namespace ember::nn::functional {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using autograd::save;

// y = max over each window      dx = g scattered back to each window's argmax
Tensor max_pool2d(const Tensor& x, Pair kernel, const PoolArgs& a) {
  profiler::Scope scope("max_pool2d");
  Pair stride = a.stride.value_or(kernel);
  std::pair<Tensor, Tensor> pooled =
      kernels::max_pool2d(x, detail::window(kernel, a.dilation, a.padding, stride));
  Tensor y = pooled.first, indices = pooled.second;  // (clang 14 cannot capture bindings)
  return record("max_pool2d", y, {x},
                [indices, sizes = shape_of(x)](const Tensor& g, const Needs&) {
                  if (!GradMode::is_enabled())  // a plain backward: one pass per plane
                    return grads{kernels::max_pool2d_backward(g, indices, sizes[2], sizes[3])};
                  // Differentiable, for a gradient of the gradient: the same sums, in order.
                  int64_t n = sizes[0], c = sizes[1];
                  Tensor flat = scatter_add(zeros({n, c, sizes[2] * sizes[3]}, g.dtype()), 2,
                                            reshape(indices, {n, c, -1}), reshape(g, {n, c, -1}));
                  return grads{reshape(flat, sizes)};
                });
}

// y = mean of each window, zero padding included      (composite)
Tensor avg_pool2d(const Tensor& x, Pair kernel, const PoolArgs& a) {
  profiler::Scope scope("avg_pool2d");
  if (x.dim() != 4) fail("avg_pool2d: expected a 4-D input, got ", shape_str(x.sizes()));
  Pair stride = a.stride.value_or(kernel);
  int64_t n = x.size(0), c = x.size(1);
  int64_t oh = kernels::Window::out_size(x.size(2), kernel.h, stride.h, a.padding.h, a.dilation.h,
                                         "avg_pool2d");
  int64_t ow = kernels::Window::out_size(x.size(3), kernel.w, stride.w, a.padding.w, a.dilation.w,
                                         "avg_pool2d");
  Tensor planes = reshape(x, {n * c, 1, x.size(2), x.size(3)});
  Tensor cols = unfold(planes, kernel, a.dilation, a.padding, stride);  // (N*C, kh*kw, L)
  return reshape(mean(cols, {1}), {n, c, oh, ow});
}

namespace {

// Adaptive pooling: output cell (i, j) reduces the bin [floor(i*H/OH), ceil((i+1)*H/OH)) x
// [floor(j*W/OW), ceil((j+1)*W/OW)) of x: (N, C, H, W), as PyTorch; bins overlap when OH does not
// divide H. An evenly dividing size is the ordinary pool `even` with kernel (H/OH, W/OW).
template <typename Even, typename Cell>
Tensor adaptive_pool(const Tensor& x, Pair out, const char* op, Even even, Cell cell) {
  kernels::check_4d(x, op);
  if (out.h < 1 || out.w < 1)
    fail(op, ": expected a positive output size, got (", out.h, ", ", out.w, ")");
  int64_t h = x.size(2), w = x.size(3);
  if (h % out.h == 0 && w % out.w == 0) return even(Pair{h / out.h, w / out.w});
  std::vector<Tensor> rows;
  for (int64_t i = 0; i < out.h; ++i) {
    int64_t y0 = i * h / out.h, y1 = ((i + 1) * h + out.h - 1) / out.h;
    std::vector<Tensor> cells;
    for (int64_t j = 0; j < out.w; ++j) {
      int64_t x0 = j * w / out.w, x1 = ((j + 1) * w + out.w - 1) / out.w;
      cells.push_back(cell(narrow(narrow(x, 2, y0, y1 - y0), 3, x0, x1 - x0)));  // (N, C)
    }
    rows.push_back(stack(cells, 2));  // (N, C, OW)
  }
  return stack(rows, 2);  // (N, C, OH, OW)
}

}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& x, Pair out) {  // (composite)
  profiler::Scope scope("adaptive_avg_pool2d");
  return adaptive_pool(
      x, out, "adaptive_avg_pool2d", [&](Pair k) { return avg_pool2d(x, k); },
      [](const Tensor& bin) {
        return mean(bin, {2, 3});
      });
}

Tensor adaptive_max_pool2d(const Tensor& x, Pair out) {  // (composite)
  profiler::Scope scope("adaptive_max_pool2d");
  return adaptive_pool(
      x, out, "adaptive_max_pool2d", [&](Pair k) { return max_pool2d(x, k); },
      [](const Tensor& bin) { return max(flatten(bin, 2), 2).first; });
}

namespace {

// A 2-d pooling op over a height of 1, for (N, C, L) or (C, L).
template <typename Pool2d>
Tensor pool1d(const char* op, const Tensor& x, int64_t kernel, const Pool1dArgs& a, Pool2d pool) {
  if (x.dim() != 2 && x.dim() != 3)
    fail(op, ": expected x (N, C, L) or (C, L), got ", shape_str(x.sizes()));
  PoolArgs args{.padding = {0, a.padding}, .dilation = {1, a.dilation}};
  if (a.stride) args.stride = Pair{1, *a.stride};
  Tensor x4 = unsqueeze(x.dim() == 2 ? unsqueeze(x, 0) : x, 2);
  Tensor y = squeeze(pool(x4, Pair{1, kernel}, args), 2);
  return x.dim() == 2 ? squeeze(y, 0) : y;
}

}  // namespace

Tensor max_pool1d(const Tensor& x, int64_t kernel_size, const Pool1dArgs& args) {  // (composite)
  return pool1d("max_pool1d", x, kernel_size, args,
                [](const Tensor& t, Pair k, const PoolArgs& a) { return max_pool2d(t, k, a); });
}

Tensor avg_pool1d(const Tensor& x, int64_t kernel_size, const Pool1dArgs& args) {  // (composite)
  check(args.dilation == 1, "avg_pool1d: takes no dilation (PyTorch's has none), got ",
        args.dilation);
  return pool1d("avg_pool1d", x, kernel_size, args,
                [](const Tensor& t, Pair k, const PoolArgs& a) { return avg_pool2d(t, k, a); });
}

}  // namespace ember::nn::functional

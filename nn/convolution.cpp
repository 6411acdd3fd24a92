// nn::functional's convolutions: unfold and fold (im2col and its adjoint), conv2d (a GEMM per
// sample over im2col columns or Winograd, core/kernels/conv.h; its own backward, a kernel, with
// the same formulas in ember ops under create_graph) and conv_transpose2d (a composite: the
// adjoint of conv2d's input gradient). Read next: pooling.cpp.
#include <tuple>

#include "../autograd/function.h"
#include "../autograd/grad_mode.h"
#include "../core/kernels/conv.h"
#include "../core/profiler.h"
#include "functional_shapes.h"

namespace ember::nn::functional {

using autograd::grads;
using autograd::Needs;
using autograd::record;
using autograd::save;

// cols = im2col(x)      dx = fold(g)   (fold is unfold's adjoint)
Tensor unfold(const Tensor& x, Pair kernel, Pair dilation, Pair padding, Pair stride) {
  profiler::Scope scope("unfold");
  Tensor y = kernels::im2col(x, detail::window(kernel, dilation, padding, stride));
  Pair size{x.size(2), x.size(3)};
  return record("unfold", y, {x}, [=](const Tensor& g, const Needs&) {
    return grads{fold(g, size, kernel, dilation, padding, stride)};
  });
}

// x = col2im(cols)      dcols = unfold(g)
Tensor fold(const Tensor& cols, Pair output_size, Pair kernel, Pair dilation, Pair padding,
            Pair stride) {
  profiler::Scope scope("fold");
  int64_t patch = kernel.h * kernel.w;
  if (cols.dim() != 3 || cols.size(1) % patch != 0)
    fail("fold: expected columns (N, C*", kernel.h, "*", kernel.w, ", L), got ",
         shape_str(cols.sizes()));
  Tensor y = kernels::col2im(cols, cols.size(1) / patch, output_size.h, output_size.w,
                             detail::window(kernel, dilation, padding, stride));
  return record("fold", y, {cols}, [=](const Tensor& g, const Needs&) {
    return grads{unfold(g, kernel, dilation, padding, stride)};
  });
}

// y = W ⋆ x + b: per sample W @ im2col(x) + b                      (kernels::conv2d)
// dx = col2im(Wᵀ g)      dW = Σ_samples g im2col(x)ᵀ      db = Σ g over samples and positions
// The backward runs kernels::conv2d_backward. Under create_graph the same formulas are written in
// ember ops (unfold, fold, matmul) instead, so conv2d has second derivatives.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvArgs& a) {
  profiler::Scope scope("conv2d");
  if (x.dim() != 4 || weight.dim() != 4)
    fail("conv2d: expected a 4-D input and weight, got input ", shape_str(x.sizes()),
         " and weight ", shape_str(weight.sizes()));
  int64_t c = x.size(1), out = weight.size(0), g = a.groups;
  if (g < 1 || c != weight.size(1) * g || out % g != 0)
    fail("conv2d: input has ", c, " channels but weight expects ", weight.size(1) * g, " (input ",
         shape_str(x.sizes()), ", weight ", shape_str(weight.sizes()), ", groups ", g, ")");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out))
    fail("conv2d: bias ", shape_str(bias.sizes()), " does not match ", out, " output channels");
  if (x.dtype() != weight.dtype() || (bias.defined() && bias.dtype() != x.dtype()))
    fail("conv2d: input, weight and bias must have the same dtype, got ", x.dtype(), ", ",
         weight.dtype(), (bias.defined() ? ", " : ""), (bias.defined() ? bias.dtype() : x.dtype()));
  Pair k{weight.size(2), weight.size(3)};
  kernels::Window win = detail::window(k, a.dilation, a.padding, a.stride);
  Tensor y = kernels::conv2d(x, weight, bias, win, g);
  return record(
      "conv2d", y, {x, weight, bias},
      [x = save(x), weight = save(weight), win, a, k](const Tensor& grad, const Needs& needs) {
        Tensor xs = x.unpack(), ws = weight.unpack();
        if (!GradMode::is_enabled()) {
          kernels::Conv2dGrads r =
              kernels::conv2d_backward(grad, xs, ws, win, a.groups, needs[0], needs[1], needs[2]);
          return grads{r.input, r.weight, r.bias};
        }
        int64_t n = xs.size(0), groups = a.groups, l = grad.size(2) * grad.size(3);
        Tensor gy = reshape(grad, {n, groups, ws.size(0) / groups, l});  // (N, G, O/G, L)
        Tensor wg = reshape(ws, {groups, ws.size(0) / groups, -1});      // (G, O/G, C/G*kk)
        Tensor dx, dw, db;
        if (needs[0]) {
          Tensor dcols = reshape(matmul(transpose(wg, 1, 2), gy), {n, -1, l});
          dx = fold(dcols, {xs.size(2), xs.size(3)}, k, a.dilation, a.padding, a.stride);
        }
        if (needs[1]) {
          Tensor cols = reshape(unfold(xs, k, a.dilation, a.padding, a.stride),
                                {n, groups, -1, l});  // (N, G, C/G*kk, L)
          dw = reshape(sum(matmul(gy, transpose(cols, 2, 3)), {0}), shape_of(ws));
        }
        if (needs[2]) db = sum(grad, {0, 2, 3});
        return grads{dx, dw, db};
      });
}

// The transposed convolution as the adjoint of conv2d's input gradient: per group,
// cols = Wᵀ x (each input pixel's kernel-sized patch of output), then fold (col2im) sums the
// patches into the whole, uncropped output, (H-1)*stride + dilation*(k-1) + 1 high; padding
// crops that at both ends and output_padding adds rows at the end (zeros unless padding had
// cropped them).     (composite: fold, matmul)
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const ConvTransposeArgs& a) {
  profiler::Scope scope("conv_transpose2d");
  if (x.dim() != 4 || weight.dim() != 4)
    fail("conv_transpose2d: expected a 4-D input and weight, got input ", shape_str(x.sizes()),
         " and weight ", shape_str(weight.sizes()));
  int64_t n = x.size(0), c = x.size(1), g = a.groups, h = x.size(2), w = x.size(3);
  if (g < 1 || c != weight.size(0) || c % g != 0)
    fail("conv_transpose2d: input has ", c, " channels but weight expects ", weight.size(0),
         " (input ", shape_str(x.sizes()), ", weight ", shape_str(weight.sizes()), ", groups ", g,
         ")");
  int64_t out = weight.size(1) * g, kh = weight.size(2), kw = weight.size(3);
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out))
    fail("conv_transpose2d: bias ", shape_str(bias.sizes()), " does not match ", out,
         " output channels");
  for (auto [op, s, d] : {std::tuple{a.output_padding.h, a.stride.h, a.dilation.h},
                          std::tuple{a.output_padding.w, a.stride.w, a.dilation.w}})
    if (op < 0 || (op >= s && op >= d))
      fail("conv_transpose2d: output_padding ", op, " must be smaller than the stride (", s,
           ") or the dilation (", d, ")");
  int64_t full_h = (h - 1) * a.stride.h + a.dilation.h * (kh - 1) + 1;
  int64_t full_w = (w - 1) * a.stride.w + a.dilation.w * (kw - 1) + 1;
  if (full_h - 2 * a.padding.h + a.output_padding.h < 1 ||
      full_w - 2 * a.padding.w + a.output_padding.w < 1 || a.padding.h < 0 || a.padding.w < 0)
    fail("conv_transpose2d: padding (", a.padding.h, ", ", a.padding.w,
         ") leaves no output for input ", shape_str(x.sizes()), " and weight ",
         shape_str(weight.sizes()));
  Tensor xg = reshape(x, {n, g, c / g, h * w});                // (N, G, C/G, HW)
  Tensor wg = reshape(weight, {g, c / g, out / g * kh * kw});  // (G, C/G, out/G*kh*kw)
  Tensor cols = reshape(matmul(transpose(wg, 1, 2), xg), {n, out * kh * kw, h * w});
  Tensor y = fold(cols, {full_h, full_w}, {kh, kw}, a.dilation, 0, a.stride);
  y = pad(y, {-a.padding.w, a.output_padding.w - a.padding.w, -a.padding.h,
              a.output_padding.h - a.padding.h});
  if (bias.defined()) y = y + reshape(bias, {1, out, 1, 1});
  return y;
}

// conv2d over a height of 1: (N, C, L) -> (N, C, 1, L), kernel (1, k).  (composite)
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv1dArgs& a) {
  if (x.dim() != 3 || weight.dim() != 3)
    fail("conv1d: expected x (N, C, L) and weight (out, C/groups, k), got ", shape_str(x.sizes()),
         " and ", shape_str(weight.sizes()));
  Tensor y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias,
                    {.stride = {1, a.stride},
                     .padding = {0, a.padding},
                     .dilation = {1, a.dilation},
                     .groups = a.groups});
  return squeeze(y, 2);
}

}  // namespace ember::nn::functional

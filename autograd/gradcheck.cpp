// gradcheck: for a random cotangent v, the engine's v^T J (one backward) must match the
// numerical gradient of the scalar <v, fn(x)> by central differences, element by element:
//   numerical[j] = (<v, fn(x + eps e_j)> - <v, fn(x - eps e_j)>) / (2 eps).
// Float64 only: with eps = 1e-6, float32's 7 significant digits leave nothing but rounding.
#include "gradcheck.h"

#include <cmath>
#include <sstream>

#include "engine.h"
#include "ops.h"

namespace ember::autograd {
namespace {

std::string index_str(int64_t flat, IntList sizes) {
  Shape index(sizes.size());
  for (size_t d = sizes.size(); d-- > 0;) {
    index[d] = flat % std::max<int64_t>(sizes[d], 1);
    flat /= std::max<int64_t>(sizes[d], 1);
  }
  return shape_str(index);
}

// <v, fn(xs)> in double, without recording.
double project(const TensorFn& fn, const std::vector<Tensor>& xs, const Tensor& v) {
  NoGradGuard no_grad;
  Tensor y = fn(xs);
  if (!(Shape(y.sizes().begin(), y.sizes().end()) == Shape(v.sizes().begin(), v.sizes().end())))
    fail("gradcheck: fn returned shape ", shape_str(y.sizes()), " on perturbed inputs, but ",
         shape_str(v.sizes()), " before");
  return sum(mul(y, v)).item<double>();
}

}  // namespace

GradcheckResult gradcheck(const TensorFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  std::vector<Tensor> xs;
  std::vector<size_t> checked;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    check(x.dtype() != kFloat32, "gradcheck: input ", i,
          " is float32; finite differences need float64 (with eps = ", options.eps,
          ", float32's 7 significant digits leave only rounding noise), so convert it with to(x, "
          "kFloat64)");
    Tensor copy = clone(x.detach());
    if (x.requires_grad()) {
      copy.requires_grad_();
      checked.push_back(i);
    }
    xs.push_back(copy);
  }
  check(!checked.empty(), "gradcheck: no input requires grad");
  Tensor y = fn(xs);
  check(y.dtype() == kFloat64, "gradcheck: fn must return float64, got ", y.dtype());
  Generator gen(options.seed);
  Tensor v = randn(Shape(y.sizes().begin(), y.sizes().end()), kFloat64, &gen);
  std::vector<Tensor> wrt;
  for (size_t i : checked) wrt.push_back(xs[i]);
  std::vector<Tensor> analytical;
  if (y.requires_grad()) {
    analytical = grad({y}, wrt, {v}, /*retain_graph=*/false, /*create_graph=*/false,
                      /*allow_unused=*/true);
  } else {
    analytical.resize(wrt.size());  // fn does not depend on the inputs: every gradient is zero
  }

  for (size_t k = 0; k < checked.size(); ++k) {
    size_t i = checked[k];
    Tensor x = xs[i];
    Tensor a = analytical[k].defined() ? analytical[k].contiguous() : zeros_like(x);
    double* xp = x.data_ptr<double>();
    const double* ap = a.data_ptr<double>();
    double worst_excess = 0;
    int64_t worst = -1;
    double worst_num = 0;
    for (int64_t j = 0; j < x.numel(); ++j) {
      double saved = xp[j];
      xp[j] = saved + options.eps;
      double plus = project(fn, xs, v);
      xp[j] = saved - options.eps;
      double minus = project(fn, xs, v);
      xp[j] = saved;
      double numerical = (plus - minus) / (2 * options.eps);
      double tolerance = options.atol + options.rtol * std::abs(numerical);
      double excess = std::abs(ap[j] - numerical) - tolerance;
      if (std::isnan(ap[j]) || std::isnan(numerical) || excess > worst_excess) {
        worst_excess = std::isnan(excess) ? INFINITY : excess;
        worst = j;
        worst_num = numerical;
      }
    }
    if (worst >= 0) {
      std::ostringstream msg;
      msg.precision(8);
      double tolerance = options.atol + options.rtol * std::abs(worst_num);
      msg << "gradcheck failed for input " << i << " (shape " << shape_str(x.sizes())
          << ") at element " << index_str(worst, x.sizes()) << ": analytical " << ap[worst]
          << ", numerical " << worst_num;
      if (std::isnan(ap[worst]) || std::isnan(worst_num))
        msg << ": a NaN gradient cannot be checked (is fn defined at this input?)";
      else
        msg << ", |difference| " << std::abs(ap[worst] - worst_num) << " > tolerance "
            << tolerance << " (atol " << options.atol << " + rtol " << options.rtol
            << " * |numerical|)";
      return {false, msg.str()};
    }
  }
  return {};
}

namespace {

// An op may compute its gradient twice: with a kernel normally, and with differentiable ember
// ops under create_graph (conv2d, batch_norm). gradcheck sees only the first; this checks that
// the second gives the same values, to rounding: |a - b| <= 1e-10 + 1e-8 |b|.
GradcheckResult compare_first_derivatives(const TensorFn& fn, const std::vector<Tensor>& inputs,
                                          const Tensor& v) {
  std::vector<std::vector<Tensor>> results;
  for (bool create_graph : {false, true}) {
    std::vector<Tensor> xs, wrt;
    for (const Tensor& x : inputs) {
      xs.push_back(clone(x.detach()).requires_grad_(x.requires_grad()));
      if (x.requires_grad()) wrt.push_back(xs.back());
    }
    Tensor y = fn(xs);
    if (!y.requires_grad()) return {};
    results.push_back(grad({y}, wrt, {v.detach()}, false, create_graph, /*allow_unused=*/true));
  }
  for (size_t k = 0; k < results[0].size(); ++k) {
    if (!results[0][k].defined() && !results[1][k].defined()) continue;
    Tensor plain = results[0][k].defined() ? results[0][k].contiguous() : Tensor();
    Tensor graph = results[1][k].defined() ? results[1][k].contiguous() : Tensor();
    if (!plain.defined() || !graph.defined() || plain.numel() != graph.numel())
      return {false, "gradgradcheck: the first derivative of input " + std::to_string(k) +
                         " is defined " + (plain.defined() ? "without" : "with") +
                         " create_graph only"};
    const double* a = graph.data_ptr<double>();
    const double* b = plain.data_ptr<double>();
    for (int64_t j = 0; j < plain.numel(); ++j) {
      if (std::abs(a[j] - b[j]) <= 1e-10 + 1e-8 * std::abs(b[j])) continue;
      std::ostringstream msg;
      msg.precision(12);
      msg << "gradgradcheck: the first derivative computed with create_graph differs from the "
             "one computed without, for gradient " << k << " (shape " << shape_str(plain.sizes())
          << ") at element " << index_str(j, plain.sizes()) << ": " << a[j] << " with, " << b[j]
          << " without";
      return {false, msg.str()};
    }
  }
  return {};
}

}  // namespace

GradcheckResult gradgradcheck(const TensorFn& fn, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options) {
  std::vector<Tensor> probe;
  for (const Tensor& x : inputs)
    probe.push_back(clone(x.detach()).requires_grad_(x.requires_grad()));
  Tensor y = fn(probe);
  Generator gen(options.seed + 1);
  Tensor v = randn(Shape(y.sizes().begin(), y.sizes().end()), kFloat64, &gen).requires_grad_();
  if (GradcheckResult same = compare_first_derivatives(fn, inputs, v); !same) return same;
  std::vector<Tensor> with_v = inputs;
  with_v.push_back(v);
  size_t n = inputs.size();
  auto first_grads = [&fn, n](const std::vector<Tensor>& xs) {
    EnableGradGuard grad_mode;  // also while gradcheck perturbs inputs under NoGradGuard
    std::vector<Tensor> args(xs.begin(), xs.begin() + static_cast<int64_t>(n));
    std::vector<Tensor> wrt;
    for (const Tensor& x : args)
      if (x.requires_grad()) wrt.push_back(x);
    Tensor out = fn(args);
    std::vector<Tensor> parts;
    if (out.requires_grad()) {
      auto gs = grad({out}, wrt, {xs[n]}, true, /*create_graph=*/true, /*allow_unused=*/true);
      for (size_t k = 0; k < gs.size(); ++k)
        parts.push_back(reshape(gs[k].defined() ? gs[k] : zeros_like(wrt[k]), {-1}));
    }
    if (parts.empty()) return zeros({0}, kFloat64);
    return cat(parts, 0);
  };
  return gradcheck(first_grads, with_v, options);
}

}  // namespace ember::autograd

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
      if (std::isnan(ap[j]) != std::isnan(numerical) || excess > worst_excess) {
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
          << ", numerical " << worst_num << ", |difference| " << std::abs(ap[worst] - worst_num)
          << " > tolerance " << tolerance << " (atol " << options.atol << " + rtol " << options.rtol
          << " * |numerical|)";
      return {false, msg.str()};
    }
  }
  return {};
}

GradcheckResult gradgradcheck(const TensorFn& fn, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options) {
  std::vector<Tensor> probe;
  for (const Tensor& x : inputs)
    probe.push_back(clone(x.detach()).requires_grad_(x.requires_grad()));
  Tensor y = fn(probe);
  Generator gen(options.seed + 1);
  Tensor v = randn(Shape(y.sizes().begin(), y.sizes().end()), kFloat64, &gen).requires_grad_();
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

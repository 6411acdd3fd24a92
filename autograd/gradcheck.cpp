// gradcheck builds both Jacobians of fn at the inputs, block by block (one block per output and
// input that requires grad), and compares them entry by entry:
//   analytical row k of output o: the engine's gradient of y_o[k] (one backward per element);
//   numerical column j of input i: (fn(x + eps e_j) - fn(x - eps e_j)) / (2 eps), every output.
// Fast mode checks only v^T J for a random v (one backward), then builds the Jacobians when that
// disagrees, to say where. Float64 only: with eps = 1e-6, float32's 7 significant digits leave
// nothing but rounding.
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

double tolerance(const GradcheckOptions& o, double numerical) {
  return o.atol + o.rtol * std::abs(numerical);
}

bool disagree(const GradcheckOptions& o, double analytical, double numerical) {
  return std::isnan(analytical) || std::isnan(numerical) ||
         std::abs(analytical - numerical) > tolerance(o, numerical);
}

// What is checked: copies of the inputs, which of them require grad, which outputs are float64.
struct Problem {
  const TensorsFn& fn;
  const GradcheckOptions& options;
  std::vector<Tensor> xs;
  std::vector<size_t> wrt;    // inputs that require grad
  std::vector<size_t> outs;   // outputs checked (the floating ones)
  std::vector<Shape> shapes;  // every output's shape, to catch fn changing them

  Problem(const TensorsFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o)
      : fn(f), options(o) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& x = inputs[i];
      check(x.defined(), "gradcheck: input ", i, " is an undefined tensor");
      check(x.dtype() != kFloat32, "gradcheck: input ", i,
            " is float32; finite differences need float64 (with eps = ", o.eps,
            ", float32's 7 significant digits leave only rounding noise), so convert it with "
            "to(x, kFloat64)");
      xs.push_back(clone(x.detach()).requires_grad_(x.requires_grad()));
      if (x.requires_grad()) wrt.push_back(i);
    }
    check(!wrt.empty(), "gradcheck: no input requires grad");
    std::vector<Tensor> ys = fn(xs);
    for (size_t o = 0; o < ys.size(); ++o) {
      shapes.push_back(ys[o].defined() ? shape_of(ys[o]) : Shape{});
      if (!ys[o].defined() || !ys[o].is_floating_point()) continue;
      check(ys[o].dtype() == kFloat64, "gradcheck: output ", o, " is ", ys[o].dtype(),
            "; fn must return float64");
      outs.push_back(o);
    }
    check(!outs.empty(), "gradcheck: fn returned no floating output");
  }

  std::vector<Tensor> wrt_tensors() const {
    std::vector<Tensor> t;
    for (size_t i : wrt) t.push_back(xs[i]);
    return t;
  }

  // fn at the current values of xs, without recording; checks the outputs kept their shapes.
  std::vector<Tensor> evaluate() const {
    NoGradGuard no_grad;
    std::vector<Tensor> ys = fn(xs);
    check(ys.size() == shapes.size(), "gradcheck: fn returned ", ys.size(),
          " outputs on perturbed inputs, but ", shapes.size(), " before");
    for (size_t o : outs) {
      if (!(shape_of(ys[o]) == shapes[o]))
        fail("gradcheck: fn returned shape ", shape_str(ys[o].sizes()), " for output ", o,
             " on perturbed inputs, but ", shape_str(shapes[o]), " before");
      ys[o] = clone(ys[o]);  // an output may be a view of the input about to be perturbed again
    }
    return ys;
  }

  // d(value of `measure` at fn(x)) / dx_j for every element j of input i, by central differences.
  template <typename Measure>
  void numerical(size_t i, const Measure& measure) const {
    double* xp = xs[i].data_ptr<double>();
    for (int64_t j = 0; j < xs[i].numel(); ++j) {
      double saved = xp[j];
      xp[j] = saved + options.eps;
      std::vector<Tensor> plus = evaluate();
      xp[j] = saved - options.eps;
      std::vector<Tensor> minus = evaluate();
      xp[j] = saved;
      measure(j, plus, minus);
    }
  }
};

// The full check: every entry of every block, reporting the first wrong one.
GradcheckResult full_jacobian(const Problem& p) {
  std::vector<Tensor> ys = p.fn(p.xs);
  std::vector<Tensor> wrt = p.wrt_tensors();
  for (size_t o : p.outs) {
    int64_t rows = ys[o].numel();
    // analytical[k][input] : row k of this output's Jacobian, per input
    std::vector<std::vector<Tensor>> analytical(static_cast<size_t>(rows));
    for (int64_t k = 0; k < rows; ++k) {
      if (!ys[o].requires_grad()) {
        analytical[k].resize(wrt.size());  // fn does not depend on the inputs here: zeros
        continue;
      }
      Tensor v = zeros(p.shapes[o], kFloat64);
      v.data_ptr<double>()[k] = 1;
      analytical[k] = grad({ys[o]}, wrt, {v}, /*retain_graph=*/true, /*create_graph=*/false,
                           /*allow_unused=*/true);
    }
    for (size_t w = 0; w < wrt.size(); ++w) {
      size_t i = p.wrt[w];
      int64_t cols = p.xs[i].numel();
      std::vector<double> num(static_cast<size_t>(rows * cols));
      p.numerical(
          i, [&](int64_t j, const std::vector<Tensor>& plus, const std::vector<Tensor>& minus) {
            Tensor d = (plus[o] - minus[o]).contiguous();
            const double* dp = d.data_ptr<double>();
            for (int64_t k = 0; k < rows; ++k) num[k * cols + j] = dp[k] / (2 * p.options.eps);
          });
      int64_t wrong = 0, first_k = -1, first_j = -1;
      double first_a = 0, first_n = 0;
      for (int64_t k = 0; k < rows; ++k) {
        Tensor a = analytical[k][w].defined() ? analytical[k][w].contiguous() : Tensor();
        for (int64_t j = 0; j < cols; ++j) {
          double av = a.defined() ? a.data_ptr<double>()[j] : 0.0, nv = num[k * cols + j];
          if (!disagree(p.options, av, nv)) continue;
          if (wrong++ == 0) first_k = k, first_j = j, first_a = av, first_n = nv;
        }
      }
      if (wrong == 0) continue;
      std::ostringstream msg;
      msg.precision(8);
      msg << "gradcheck failed: Jacobian mismatch for output " << o << " (shape "
          << shape_str(p.shapes[o]) << ") with respect to input " << i << " (shape "
          << shape_str(p.xs[i].sizes()) << "), first at output element "
          << index_str(first_k, p.shapes[o]) << ", input element "
          << index_str(first_j, p.xs[i].sizes()) << ": analytical " << first_a << ", numerical "
          << first_n;
      if (std::isnan(first_a) || std::isnan(first_n))
        msg << ": a NaN gradient cannot be checked (is fn defined at this input?)";
      else
        msg << ", |difference| " << std::abs(first_a - first_n) << " > tolerance "
            << tolerance(p.options, first_n) << " (atol " << p.options.atol << " + rtol "
            << p.options.rtol << " * |numerical|)";
      msg << "; " << wrong << " of " << rows * cols << " entries of this block differ";
      return {false, msg.str()};
    }
  }
  return {};
}

// Fast mode: v^T J against the finite differences of <v, fn>, for one random v per output.
GradcheckResult projected(const Problem& p) {
  std::vector<Tensor> ys = p.fn(p.xs);
  Generator gen(p.options.seed);
  std::vector<Tensor> roots, vs(ys.size());
  for (size_t o : p.outs) {
    vs[o] = randn(p.shapes[o], kFloat64, &gen);
    if (ys[o].requires_grad()) roots.push_back(ys[o]);
  }
  std::vector<Tensor> root_vs;
  for (size_t o : p.outs)
    if (ys[o].requires_grad()) root_vs.push_back(vs[o]);
  std::vector<Tensor> wrt = p.wrt_tensors();
  std::vector<Tensor> analytical(wrt.size());
  if (!roots.empty()) analytical = grad(roots, wrt, root_vs, false, false, /*allow_unused=*/true);
  auto project = [&](const std::vector<Tensor>& y) {
    double s = 0;
    for (size_t o : p.outs) s += sum(mul(y[o], vs[o])).item<double>();
    return s;
  };
  for (size_t w = 0; w < wrt.size(); ++w) {
    size_t i = p.wrt[w];
    Tensor a = analytical[w].defined() ? analytical[w].contiguous() : zeros_like(p.xs[i]);
    const double* ap = a.data_ptr<double>();
    bool wrong = false;
    p.numerical(i,
                [&](int64_t j, const std::vector<Tensor>& plus, const std::vector<Tensor>& minus) {
                  double numerical = (project(plus) - project(minus)) / (2 * p.options.eps);
                  wrong = wrong || disagree(p.options, ap[j], numerical);
                });
    if (!wrong) continue;
    GradcheckResult full = full_jacobian(p);
    if (!full.passed) return full;
    return {false, "gradcheck failed in fast mode for input " + std::to_string(i) +
                       " (v^T J differs from the finite differences), though every Jacobian "
                       "entry is within tolerance: loosen atol"};
  }
  return {};
}

}  // namespace

GradcheckResult gradcheck(const TensorsFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  Problem problem(fn, inputs, options);
  return options.fast_mode ? projected(problem) : full_jacobian(problem);
}

namespace {

// <v, fn(xs)> summed over the floating outputs, and its gradients with respect to the inputs
// that require grad: undefined where an input was not used.
std::vector<Tensor> first_derivatives(const TensorsFn& fn, const std::vector<Tensor>& xs,
                                      const std::vector<Tensor>& vs, bool create_graph) {
  std::vector<Tensor> wrt;
  for (const Tensor& x : xs)
    if (x.requires_grad()) wrt.push_back(x);
  std::vector<Tensor> ys = fn(xs), roots, root_vs;
  for (size_t o = 0; o < ys.size() && o < vs.size(); ++o)
    if (vs[o].defined() && ys[o].requires_grad()) roots.push_back(ys[o]), root_vs.push_back(vs[o]);
  if (roots.empty()) return std::vector<Tensor>(wrt.size());
  return grad(roots, wrt, root_vs, /*retain_graph=*/true, create_graph, /*allow_unused=*/true);
}

// An op may compute its gradient twice: with a kernel normally, and with differentiable ember
// ops under create_graph (conv2d, batch_norm). gradcheck sees only the first; this checks that
// the second gives the same values, to rounding: |a - b| <= 1e-10 + 1e-8 |b|.
GradcheckResult compare_first_derivatives(const TensorsFn& fn, const std::vector<Tensor>& inputs,
                                          const std::vector<Tensor>& vs) {
  std::vector<std::vector<Tensor>> results;
  for (bool create_graph : {false, true}) {
    std::vector<Tensor> xs, detached;
    for (const Tensor& x : inputs)
      xs.push_back(clone(x.detach()).requires_grad_(x.requires_grad()));
    for (const Tensor& v : vs) detached.push_back(v.defined() ? v.detach() : v);
    results.push_back(first_derivatives(fn, xs, detached, create_graph));
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
             "one computed without, for gradient "
          << k << " (shape " << shape_str(plain.sizes()) << ") at element "
          << index_str(j, plain.sizes()) << ": " << a[j] << " with, " << b[j] << " without";
      return {false, msg.str()};
    }
  }
  return {};
}

}  // namespace

GradcheckResult gradgradcheck(const TensorsFn& fn, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options) {
  std::vector<Tensor> probe;
  for (const Tensor& x : inputs)
    probe.push_back(clone(x.detach()).requires_grad_(x.requires_grad()));
  std::vector<Tensor> ys = fn(probe);
  Generator gen(options.seed + 1);
  std::vector<Tensor> vs;  // one cotangent per floating output, itself an input of the check
  for (const Tensor& y : ys)
    vs.push_back(y.defined() && y.is_floating_point()
                     ? randn(shape_of(y), kFloat64, &gen).requires_grad_()
                     : Tensor());
  if (GradcheckResult same = compare_first_derivatives(fn, inputs, vs); !same) return same;
  std::vector<Tensor> with_v = inputs;
  std::vector<size_t> v_at;  // where each defined v sits in with_v
  for (const Tensor& v : vs)
    if (v.defined()) v_at.push_back(with_v.size()), with_v.push_back(v);
  size_t n = inputs.size();
  TensorsFn first_grads = [&fn, n, &vs, v_at](const std::vector<Tensor>& xs) {
    EnableGradGuard grad_mode;  // also while gradcheck perturbs inputs under NoGradGuard
    std::vector<Tensor> args(xs.begin(), xs.begin() + static_cast<int64_t>(n));
    std::vector<Tensor> v_now(vs.size());
    for (size_t o = 0, k = 0; o < vs.size(); ++o)
      if (vs[o].defined()) v_now[o] = xs[v_at[k++]];
    std::vector<Tensor> gs = first_derivatives(fn, args, v_now, /*create_graph=*/true);
    std::vector<Tensor> parts;
    for (size_t k = 0, w = 0; k < args.size(); ++k) {
      if (!args[k].requires_grad()) continue;
      parts.push_back(reshape(gs[w].defined() ? gs[w] : zeros_like(args[k]), {-1}));
      ++w;
    }
    return std::vector<Tensor>{parts.empty() ? zeros({0}, kFloat64) : cat(parts, 0)};
  };
  return gradcheck(first_grads, with_v, options);
}

}  // namespace ember::autograd

// gradcheck and gradgradcheck: compare the engine's Jacobian with central finite differences,
// in float64, and say exactly where they disagree: which output, which input, which element of
// each, and both Jacobian entries. fn is any callable of tensors (the inputs as one vector, or
// one argument each) returning a tensor or a list of tensors, as torch.autograd.gradcheck takes:
//   auto r = ember::autograd::gradcheck([](const Tensor& x) { return ember::tanh(x); }, {x});
//   CHECK_MESSAGE(r.passed, r.message);
// Read next: gradcheck.cpp; tests/test_gradcheck_ops.cpp for the table of every op.
#pragma once

#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/tensor.h"

namespace ember::autograd {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;  // |analytical - numerical| <= atol + rtol * |numerical|
  double rtol = 1e-3;
  uint64_t seed = 0;  // for the random vectors of fast mode and of gradgradcheck
  /// false (PyTorch's default): every Jacobian entry, one backward per output element.
  /// true: one backward, of a random combination of the outputs (v^T J against the finite
  /// differences of <v, fn>); on a mismatch the full Jacobian is computed to say where.
  bool fast_mode = false;
};

struct GradcheckResult {
  bool passed = true;
  std::string message;  // on failure: output, input, elements, both entries, the tolerance
  explicit operator bool() const { return passed; }
};

/// The form every callable is brought to: inputs in, outputs out.
using TensorsFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
/// One output (the form of the op tables in tests).
using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Checks the gradients of every float64 output of fn with respect to every input that requires
/// grad. The inputs are copied, so fn may make them non-contiguous, broadcast them, and so on.
GradcheckResult gradcheck(const TensorsFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

/// Checks second derivatives: first, that the gradients computed with create_graph equal those
/// computed without (an op may compute them by two formulas); then gradcheck of
/// (inputs, v) -> the gradients of <v, fn(inputs)> computed with create_graph.
GradcheckResult gradgradcheck(const TensorsFn& fn, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

namespace detail {

template <typename F, size_t... I>
constexpr bool takes_tensors(std::index_sequence<I...>) {
  return std::is_invocable_v<F&, decltype((void)I, std::declval<const Tensor&>())...>;
}

template <typename R>
std::vector<Tensor> as_outputs(R&& r) {
  if constexpr (std::is_convertible_v<R, Tensor>)
    return {Tensor(std::forward<R>(r))};
  else
    return std::vector<Tensor>(std::forward<R>(r));
}

/// fn called with the inputs as one vector, or spread over 1 to 6 tensor parameters.
template <typename F>
TensorsFn as_tensors_fn(F fn) {
  if constexpr (std::is_invocable_v<F&, const std::vector<Tensor>&>) {
    return [fn](const std::vector<Tensor>& x) mutable { return as_outputs(fn(x)); };
  } else {
    return [fn](const std::vector<Tensor>& x) mutable -> std::vector<Tensor> {
      auto spread = [&]<size_t... I>(std::index_sequence<I...>)->std::vector<Tensor> {
        if constexpr (takes_tensors<F>(std::index_sequence<I...>{}))
          return as_outputs(fn(x[I]...));
        else
          throw Error("gradcheck: fn does not take " + std::to_string(x.size()) + " tensors");
      };
      switch (x.size()) {
        case 1:
          return spread(std::make_index_sequence<1>{});
        case 2:
          return spread(std::make_index_sequence<2>{});
        case 3:
          return spread(std::make_index_sequence<3>{});
        case 4:
          return spread(std::make_index_sequence<4>{});
        case 5:
          return spread(std::make_index_sequence<5>{});
        case 6:
          return spread(std::make_index_sequence<6>{});
        default:
          throw Error("gradcheck: spread arguments stop at 6; take a vector instead");
      }
    };
  }
}

}  // namespace detail

/// Any callable but a TensorsFn itself: fn(std::vector<Tensor>) or fn(Tensor, Tensor, ...),
/// returning a Tensor or a std::vector<Tensor>.
template <typename F>
concept OtherCallable = !std::is_same_v<std::decay_t<F>, TensorsFn>;

template <OtherCallable F>
GradcheckResult gradcheck(F&& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {}) {
  return gradcheck(detail::as_tensors_fn(std::forward<F>(fn)), inputs, options);
}

template <OtherCallable F>
GradcheckResult gradgradcheck(F&& fn, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {}) {
  return gradgradcheck(detail::as_tensors_fn(std::forward<F>(fn)), inputs, options);
}

}  // namespace ember::autograd

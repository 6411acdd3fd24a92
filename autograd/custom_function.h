// Your own op with a hand-written backward, spelled as libtorch spells it:
//
//   struct MulConstant : autograd::Function<MulConstant> {
//     static Tensor forward(autograd::AutogradContext* ctx, Tensor x, double c) {
//       ctx->saved_data["c"] = c;
//       return x * c;
//     }
//     static autograd::variable_list backward(autograd::AutogradContext* ctx,
//                                             autograd::variable_list grad_outputs) {
//       return {grad_outputs[0] * ctx->saved_data["c"].toDouble(), Tensor()};  // none for c
//     }
//   };
//   Tensor y = MulConstant::apply(x, 2.0);
//
// apply runs forward with grad mode off, then records one node whose backward is T::backward.
// backward returns one gradient per argument of forward (an undefined Tensor for a non-tensor
// argument or "no gradient"). forward returns a Tensor or a variable_list; with several
// differentiable outputs, each output gets a small node that hands its gradient to the shared
// one (custom_function.cpp says how). Check your backward with autograd::gradcheck.
// Read next: custom_function.cpp; docs/tour/07-your-own-op.md walks through one.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <variant>
#include <vector>

#include "../core/tensor.h"
#include "grad_mode.h"
#include "node.h"

namespace ember::autograd {

using variable_list = std::vector<Tensor>;
using tensor_list = std::vector<Tensor>;

/// A value kept in AutogradContext::saved_data: none, bool, integer, double, string, tensor, or
/// a list of integers or doubles; read back with the to* of its kind (libtorch's at::IValue).
class IValue {
 public:
  IValue() = default;
  IValue(bool v) : value_(v) {}
  template <typename I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool>) IValue(I v)
      : value_(static_cast<int64_t>(v)) {}
  IValue(double v) : value_(v) {}
  IValue(std::string v) : value_(std::move(v)) {}
  IValue(const char* v) : value_(std::string(v)) {}
  IValue(Tensor v) : value_(std::move(v)) {}
  IValue(std::vector<int64_t> v) : value_(std::move(v)) {}
  IValue(std::vector<double> v) : value_(std::move(v)) {}

  bool isNone() const { return value_.index() == 0; }
  bool isBool() const { return std::holds_alternative<bool>(value_); }
  bool isInt() const { return std::holds_alternative<int64_t>(value_); }
  bool isDouble() const { return std::holds_alternative<double>(value_); }
  bool isString() const { return std::holds_alternative<std::string>(value_); }
  bool isTensor() const { return std::holds_alternative<Tensor>(value_); }

  bool toBool() const { return get<bool>("a bool"); }
  int64_t toInt() const { return get<int64_t>("an int"); }
  double toDouble() const { return get<double>("a double"); }
  const std::string& toStringRef() const { return get<std::string>("a string"); }
  const Tensor& toTensor() const { return get<Tensor>("a Tensor"); }
  const std::vector<int64_t>& toIntVector() const {
    return get<std::vector<int64_t>>("an int list");
  }
  const std::vector<double>& toDoubleVector() const {
    return get<std::vector<double>>("a double list");
  }
  /// What it holds, for error messages: "None", "bool", "int", ...
  const char* kind() const;

 private:
  template <typename V>
  const V& get(const char* wanted) const {
    if (const V* v = std::get_if<V>(&value_)) return *v;
    fail("IValue: asked for ", wanted, ", but it holds ", kind());
  }
  std::variant<std::monostate, bool, int64_t, double, std::string, Tensor, std::vector<int64_t>,
               std::vector<double>>
      value_;
};

class AutogradContext;
namespace detail {
struct FunctionRecord;
using UserBackward = variable_list (*)(AutogradContext*, variable_list);
/// Records the node of one apply: checks what forward marked, saves what it asked to save, and
/// returns the outputs with their grad_fn set.
variable_list record_function(const std::string& name, std::shared_ptr<AutogradContext> ctx,
                              variable_list inputs, variable_list outputs, UserBackward backward);
/// The C++ name of T (demangled), the node's name in errors and pictures of the graph.
std::string demangle(const char* mangled);
}  // namespace detail

/// What forward leaves for backward (libtorch's torch::autograd::AutogradContext).
class AutogradContext {
 public:
  /// Non-tensor values for backward: ctx->saved_data["scale"] = 2.0. A tensor kept here is held
  /// as it is, with no in-place check: keep tensors with save_for_backward.
  std::unordered_map<std::string, IValue> saved_data;

  /// Tensors backward needs (inputs or outputs of forward, or undefined). Saved when forward
  /// returns; unpacking one that was modified in place since is an error.
  void save_for_backward(variable_list to_save);
  /// The tensors given to save_for_backward, in order (only in backward).
  variable_list get_saved_variables() const;
  /// Says forward wrote these inputs in place; each must also be returned as an output.
  void mark_dirty(const variable_list& inputs);
  /// These outputs get no gradient (indices, masks); backward receives zeros for them.
  void mark_non_differentiable(const variable_list& outputs);
  /// false: backward receives an undefined Tensor, not zeros, for an output that got no gradient.
  void set_materialize_grads(bool value) { materialize_grads_ = value; }
  /// Whether the gradient of forward's argument i is wanted (false for non-tensor arguments).
  bool needs_input_grad(size_t i) const { return i < needs_.size() && needs_[i]; }

 private:
  friend struct detail::FunctionRecord;
  template <class T>
  friend struct Function;
  variable_list to_save_;
  std::vector<SavedTensor> saved_;
  bool saved_taken_ = false;  // set once forward returned: save_for_backward is then refused
  std::vector<const TensorImpl*> dirty_, non_differentiable_;
  bool materialize_grads_ = true;
  std::vector<bool> needs_;
  std::vector<bool> is_tensor_;  // per argument of forward
  std::string name_;
};

/// Derive as struct MyOp : Function<MyOp>, write static forward and backward, call MyOp::apply.
template <class T>
struct Function {
  template <typename... Args>
  static auto apply(Args&&... args) {
    auto ctx = std::make_shared<AutogradContext>();
    ctx->name_ = name();
    variable_list inputs;  // one slot per argument: the tensor, or undefined
    (inputs.push_back(as_input(args)), ...);
    ctx->is_tensor_ = {std::is_same_v<std::decay_t<Args>, Tensor>...};
    for (const Tensor& t : inputs)
      ctx->needs_.push_back(GradMode::is_enabled() && t.defined() && t.requires_grad());
    using Result = decltype(T::forward(ctx.get(), std::forward<Args>(args)...));
    static_assert(std::is_same_v<Result, Tensor> || std::is_same_v<Result, variable_list>,
                  "Function: forward must return a Tensor or a variable_list");
    variable_list outputs;
    {
      NoGradGuard no_grad;
      if constexpr (std::is_same_v<Result, Tensor>)
        outputs = {T::forward(ctx.get(), std::forward<Args>(args)...)};
      else
        outputs = T::forward(ctx.get(), std::forward<Args>(args)...);
    }
    outputs = detail::record_function(ctx->name_, ctx, std::move(inputs), std::move(outputs),
                                      &call_backward);
    if constexpr (std::is_same_v<Result, Tensor>)
      return outputs[0];
    else
      return outputs;
  }

 private:
  template <typename A>
  static Tensor as_input(const A& arg) {
    if constexpr (std::is_same_v<std::decay_t<A>, Tensor>)
      return arg;
    else
      return Tensor();
  }
  static variable_list call_backward(AutogradContext* ctx, variable_list grads) {
    return T::backward(ctx, std::move(grads));
  }
  static const std::string& name() {
    static const std::string n = detail::demangle(typeid(T).name());
    return n;
  }
};

}  // namespace ember::autograd

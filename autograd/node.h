// The three autograd concepts, with libtorch's names:
//   AutogradMeta  what a tensor carries once autograd needs it (requires_grad, grad, grad_fn);
//   Node          one recorded op: its backward formula and an Edge to each input's node;
//   Edge          "the gradient for input i flows into that node" (null when no grad needed).
// A leaf that requires grad gets an AccumulateGrad node (a Node with `leaf` set), created on
// demand. SavedTensor keeps what a backward needs without creating reference cycles.
// Read next: function.h (how an op records a node), engine.cpp (how backward walks them).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../core/tensor.h"

namespace ember::autograd {

struct Node;

struct Edge {
  std::shared_ptr<Node> node;  // null: this input needs no gradient
};

/// A backward formula: given the gradient of the op's output and which inputs need a gradient,
/// returns one gradient per input (an undefined Tensor for "none" or "zero").
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad, const std::vector<bool>& needs)>;
using Hook = std::function<Tensor(const Tensor&)>;

struct InputInfo {
  Shape sizes;
  DType dtype;
};

struct Node {
  const char* name = "";          // the forward op ("mul", "matmul", "AccumulateGrad")
  std::vector<Edge> next;         // one per input
  std::vector<InputInfo> inputs;  // shapes the gradients must have
  Shape out_sizes;                // the output's shape, for DOT and error messages
  BackwardFn backward;            // empty once released after backward
  bool released = false;
  std::vector<Hook> pre_hooks;         // tensor hooks on the output this node made
  std::weak_ptr<TensorImpl> retained;  // non-leaf output whose .grad() is kept (retain_grad)
  std::shared_ptr<TensorImpl> leaf;    // set only on AccumulateGrad nodes

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// Releases the graph behind this node iteratively, so a million-node chain cannot overflow
  /// the stack through nested destructors.
  ~Node();
};

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  std::weak_ptr<Node> accumulator;  // a leaf's AccumulateGrad, shared by all its uses
  std::vector<Hook> leaf_hooks;     // hooks of a leaf, run before accumulation
  std::vector<std::function<void(const Tensor&)>> post_accumulate_hooks;  // run after it
  bool retains_grad = false;
  const char* made_by_nondifferentiable = nullptr;  // e.g. "argmax", for the error message
};

/// The tensor's AutogradMeta, created if absent.
AutogradMeta& meta(const Tensor& t);
/// The node a gradient for `t` flows into: its grad_fn, or its AccumulateGrad if a leaf that
/// requires grad; null otherwise.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

/// A tensor kept for backward. Inputs are held as they are; an op's own output is held
/// detached (it must not own the node that saves it) and re-attached to that node when unpacked
/// during a create_graph backward: the node running, or `made_by` when another node made it (the
/// outputs of a custom Function with several outputs). In-place writes after saving are
/// detected by version.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output, std::weak_ptr<Node> made_by = {});
  /// The saved value; throws if it was modified in place since it was saved.
  Tensor unpack() const;

 private:
  Tensor data_;
  bool is_output_ = false;
  bool by_other_node_ = false;
  std::weak_ptr<Node> made_by_;
  uint64_t version_ = 0;
};

inline SavedTensor save(const Tensor& input) { return SavedTensor(input, false); }
inline SavedTensor save_output(const Tensor& output) { return SavedTensor(output, true); }

}  // namespace ember::autograd

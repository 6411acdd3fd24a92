// The backward engine. It does the chores once, so that backward formulas stay pure math:
//   1. find the graph behind the roots (iterative DFS: no recursion, any depth);
//   2. keep only nodes that lead to a wanted gradient, and count each one's pending inputs;
//   3. run nodes in dependency order (Kahn's algorithm), each told which inputs need a
//      gradient; sum broadcast dims back to each input's shape, check every returned gradient's
//      shape and, in anomaly mode, its values; add gradients arriving at the same node;
//   4. accumulate into leaves (or capture the gradients grad() asked for) and free what each
//      node saved unless retain_graph.
// Backward formulas run with grad mode on only when create_graph is set: that is all
// higher-order gradients need, because every formula is written with differentiable ops.
#include "engine.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "../core/profiler.h"
#include "grad_mode.h"
#include "node.h"
#include "ops.h"

namespace ember::autograd {
namespace {

// The node whose backward is running on this thread: SavedTensor::unpack re-attaches saved
// outputs to it under create_graph, and names it in errors.
thread_local std::shared_ptr<Node> t_running;

// Sets grad mode for the run and restores it (and clears t_running) however the run ends.
struct RunScope {
  bool previous = GradMode::is_enabled();
  explicit RunScope(bool create_graph) { GradMode::set_enabled(create_graph); }
  ~RunScope() {
    GradMode::set_enabled(previous);
    t_running.reset();
  }
};

// Sums `g` down to `sizes`: the reverse of broadcasting, done here once for every op.
Tensor sum_to(const Tensor& g, IntList sizes, const Node& node, size_t input) {
  int64_t lead = g.dim() - static_cast<int64_t>(sizes.size());
  bool same = lead == 0 && std::equal(sizes.begin(), sizes.end(), g.sizes().begin());
  if (same) return g;
  bool reducible = lead >= 0;
  for (size_t d = 0; reducible && d < sizes.size(); ++d)
    reducible = sizes[d] == g.size(lead + d) || sizes[d] == 1;
  if (!reducible)
    fail("backward of '", node.name, "' returned a gradient of shape ", shape_str(g.sizes()),
         " for input ", input, " of shape ", shape_str(sizes));
  Shape dims;
  for (int64_t d = 0; d < g.dim(); ++d)
    if (d < lead || (sizes[d - lead] == 1 && g.size(d) != 1)) dims.push_back(d);
  return reshape(sum(g, dims, /*keepdim=*/true), Shape(sizes.begin(), sizes.end()));
}

void check_finite(const Tensor& g, const Node& node, size_t input) {
  Tensor c = g.contiguous();
  bool finite = visit_floating(c.dtype(), "anomaly", [&]<typename T>() {
    const T* p = c.data_ptr<T>();
    return std::all_of(p, p + c.numel(), [](T v) { return std::isfinite(v); });
  });
  if (finite) return;
  std::string shapes;
  for (const auto& in : node.inputs) shapes += (shapes.empty() ? "" : ", ") + shape_str(in.sizes);
  fail("anomaly detected: the backward of '", node.name, "' (inputs ", shapes, "; output ",
       shape_str(node.out_sizes), ") produced NaN or Inf in the gradient for its input ", input);
}

Tensor add_grads(const Tensor& old, const Tensor& g) { return old.defined() ? old + g : g; }

// Post-order (children before parents) of the nodes behind `roots`, found without recursion.
std::vector<Node*> post_order(const std::vector<std::shared_ptr<Node>>& roots) {
  std::vector<Node*> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack;
  for (const auto& r : roots) {
    if (!seen.insert(r.get()).second) continue;
    stack.push_back({r.get(), 0});
    while (!stack.empty()) {
      auto& [node, i] = stack.back();
      if (i < node->next.size()) {
        Node* child = node->next[i++].node.get();
        if (child && seen.insert(child).second) stack.push_back({child, 0});
      } else {
        order.push_back(node);
        stack.pop_back();
      }
    }
  }
  return order;
}

// Adds g into a leaf's .grad(). The first gradient is stored as is when nothing else holds
// its storage, else copied, so two leaves never share one gradient buffer.
void accumulate_into_leaf(Node& node, Tensor g, bool create_graph) {
  Tensor leaf(node.leaf);
  AutogradMeta& m = meta(leaf);
  for (const Hook& h : m.leaf_hooks)
    if (Tensor r = h(g); r.defined()) g = r;
  if (m.grad.defined()) {
    m.grad = create_graph ? m.grad + g : (m.grad + g).detach();
  } else if (create_graph) {
    m.grad = g;
  } else {
    bool exclusive = g.storage().use_count() == 1 && g.is_contiguous();
    m.grad = exclusive ? g.detach() : clone(g).detach();
  }
  for (const auto& hook : m.post_accumulate_hooks) hook(leaf);
}

// Seeds the buffer with each root's gradient and returns the root nodes.
// With create_graph the seeds stay attached: second derivatives may flow into grad_outputs.
std::vector<std::shared_ptr<Node>> seed_roots(const std::vector<Tensor>& roots,
                                              const std::vector<Tensor>& grad_roots,
                                              bool create_graph,
                                              std::unordered_map<Node*, Tensor>& buffer) {
  std::vector<std::shared_ptr<Node>> nodes;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    if (!r.requires_grad()) {
      const char* by = r.impl().autograd ? r.impl().autograd->made_by_nondifferentiable : nullptr;
      if (by)
        fail("backward: the tensor of shape ", shape_str(r.sizes()), " was produced by '", by,
             "', which is not differentiable; no gradient flows through it");
      fail("backward: the tensor of shape ", shape_str(r.sizes()),
           " does not require grad and has no grad_fn (did you forget requires_grad_()?)");
    }
    Tensor g = i < grad_roots.size() ? grad_roots[i] : Tensor();
    if (!g.defined()) {
      if (r.numel() != 1)
        fail("backward: a gradient can be implied only for one-element outputs, got shape ",
             shape_str(r.sizes()), "; pass the gradient explicitly");
      g = ones_like(r);
    }
    if (!(g.sizes().size() == r.sizes().size() &&
          std::equal(g.sizes().begin(), g.sizes().end(), r.sizes().begin())))
      fail("backward: gradient of shape ", shape_str(g.sizes()), " does not match the output's ",
           shape_str(r.sizes()));
    check(g.dtype() == r.dtype(), "backward: gradient dtype ", g.dtype(),
          " does not match the output's ", r.dtype());
    auto node = gradient_edge(r);
    buffer[node.get()] = add_grads(buffer[node.get()], create_graph ? g : g.detach());
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
  }
  return nodes;
}

}  // namespace

Node::~Node() {
  // Children this node owns alone would be destroyed recursively by the shared_ptr chain;
  // instead they are parked here and destroyed one at a time by the outermost destructor.
  thread_local std::vector<std::shared_ptr<Node>> parked;
  thread_local bool draining = false;
  for (Edge& e : next)
    if (e.node) parked.push_back(std::move(e.node));
  backward = nullptr;  // saved tensors may own further nodes: those get parked too
  if (draining) return;
  draining = true;
  while (!parked.empty()) {
    std::shared_ptr<Node> n = std::move(parked.back());
    parked.pop_back();
    n.reset();
  }
  draining = false;
}

Tensor SavedTensor::unpack() const {
  if (!data_.defined()) return data_;
  check(data_.storage()->version() == version_, "backward of '", t_running ? t_running->name : "?",
        "': a tensor it saved for backward was modified by an in-place operation after it was "
        "saved (version ",
        version_, " is now ", data_.storage()->version(), "); clone() it before writing in place");
  if (!is_output_ || !GradMode::is_enabled() || !t_running) return data_;
  // create_graph: re-attach the output to the node that made it, so formulas using it are
  // differentiable. The link lives only as long as the tensor the formula builds from it.
  std::shared_ptr<Node> maker = by_other_node_ ? made_by_.lock() : t_running;
  if (!maker) return data_;  // its node is gone: nothing can flow back through it any more
  Tensor out = make_view(data_, data_.impl().sizes, data_.impl().strides, data_.storage_offset());
  AutogradMeta& m = meta(out);
  m.requires_grad = true;
  m.grad_fn = std::move(maker);
  return out;
}

std::vector<Tensor> run_backward(const std::vector<Tensor>& roots,
                                 const std::vector<Tensor>& grad_roots, bool keep_graph,
                                 bool create_graph, const std::vector<Tensor>& inputs,
                                 bool allow_unused) {
  std::unordered_map<Node*, Tensor> buffer;  // gradients waiting at each node
  std::vector<std::shared_ptr<Node>> root_nodes =
      seed_roots(roots, grad_roots, create_graph, buffer);

  // What is wanted: every leaf (backward), or the nodes of `inputs` (grad).
  bool capture = !inputs.empty();
  std::unordered_map<Node*, std::vector<size_t>> targets;
  std::vector<std::shared_ptr<Node>> input_nodes;  // keeps accumulators alive for the run
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad())
      fail("grad: input ", i, " of shape ", shape_str(inputs[i].sizes()), " does not require grad");
    input_nodes.push_back(gradient_edge(inputs[i]));
    targets[input_nodes.back().get()].push_back(i);
  }

  std::unordered_set<Node*> needed;
  for (Node* n : post_order(root_nodes)) {  // children first, so their status is known
    bool want = capture ? targets.count(n) > 0 : n->leaf != nullptr;
    for (const Edge& e : n->next) want = want || (e.node && needed.count(e.node.get()));
    if (want) needed.insert(n);
  }
  std::unordered_map<Node*, int> pending;
  for (Node* n : needed)
    for (const Edge& e : n->next)
      if (e.node && needed.count(e.node.get())) ++pending[e.node.get()];

  std::vector<std::shared_ptr<Node>> ready;
  for (const auto& n : root_nodes)
    if (needed.count(n.get()) && pending[n.get()] == 0) ready.push_back(n);

  std::vector<Tensor> results(inputs.size());
  RunScope scope(create_graph);
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    Tensor g;
    if (auto it = buffer.find(node.get()); it != buffer.end()) {
      g = std::move(it->second);
      buffer.erase(it);
    }
    std::vector<Tensor> input_grads;
    if (g.defined()) {  // undefined: every gradient into this node was zero; pass nothing on
      for (const Hook& h : node->pre_hooks)
        if (Tensor r = h(g); r.defined()) g = r;
      if (auto kept = node->retained.lock()) {
        AutogradMeta& m = meta(Tensor(kept));
        m.grad = add_grads(m.grad, create_graph ? g : g.detach());
      }
      if (auto it = targets.find(node.get()); capture && it != targets.end())
        for (size_t i : it->second) results[i] = g;
      if (node->leaf) {
        if (!capture) {
          profiler::Scope scope("AccumulateGrad");
          accumulate_into_leaf(*node, g, create_graph);
        }
        continue;
      }
      check(!node->released,
            "backward: trying to backward through the graph a second time (the saved values of '",
            node->name,
            "' were freed by the first backward); pass retain_graph=true to the first backward to "
            "call it twice");
      std::vector<bool> needs(node->next.size());
      for (size_t i = 0; i < needs.size(); ++i)
        needs[i] = node->next[i].node && needed.count(node->next[i].node.get());
      if (std::find(needs.begin(), needs.end(), true) != needs.end()) {
        profiler::Scope scope(node->name, "backward");
        t_running = node;
        input_grads = node->backward(g, needs);
        t_running.reset();
        check(input_grads.size() == node->next.size(), "backward of '", node->name, "' returned ",
              input_grads.size(), " gradients for ", node->next.size(), " inputs");
        for (size_t i = 0; i < input_grads.size(); ++i) {
          if (!needs[i] || !input_grads[i].defined()) continue;
          Tensor gi = sum_to(input_grads[i], node->inputs[i].sizes, *node, i);
          check(gi.dtype() == node->inputs[i].dtype, "backward of '", node->name, "' returned a ",
                gi.dtype(), " gradient for its ", node->inputs[i].dtype, " input ", i);
          if (AnomalyMode::is_enabled()) check_finite(gi, *node, i);
          Tensor& slot = buffer[node->next[i].node.get()];
          slot = add_grads(slot, gi);
        }
      }
      if (!keep_graph) {
        node->backward = nullptr;
        node->released = true;
      }
    }
    for (const Edge& e : node->next)
      if (e.node && needed.count(e.node.get()) && --pending[e.node.get()] == 0)
        ready.push_back(e.node);
  }
  for (size_t i = 0; i < results.size(); ++i)
    if (!(results[i].defined() || allow_unused))
      fail("grad: input ", i, " of shape ", shape_str(inputs[i].sizes()),
           " was not used to compute the outputs (pass allow_unused=true to get an undefined "
           "tensor for it)");
  return results;
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph,
                         bool create_graph, bool allow_unused) {
  check(!inputs.empty(), "grad: no inputs given");
  return run_backward(outputs, grad_outputs, retain_graph || create_graph, create_graph, inputs,
                      allow_unused);
}

}  // namespace ember::autograd

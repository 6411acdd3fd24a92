// Graphviz export of the autograd graph; see dot.h.
#include "dot.h"

#include <sstream>
#include <unordered_map>

#include "node.h"

namespace ember::autograd {

std::string to_dot(const Tensor& root, const std::map<std::string, Tensor>& names) {
  std::ostringstream out;
  out << "digraph autograd {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=11];\n";
  std::unordered_map<const TensorImpl*, std::string> leaf_names;
  for (const auto& [name, t] : names) leaf_names[t.impl_ptr().get()] = name;
  std::shared_ptr<Node> start = gradient_edge(root);
  if (!start) {
    out << "  t [label=\"tensor " << shape_str(root.sizes())
        << "\\n(no graph: does not require grad)\", shape=box, style=filled, "
           "fillcolor=grey90];\n}\n";
    return out.str();
  }
  std::unordered_map<const Node*, int> ids;
  std::vector<const Node*> stack{start.get()};
  ids[start.get()] = 0;
  int constants = 0;
  out << "  out [label=\"output " << shape_str(root.sizes()) << "\", shape=plaintext];\n";
  out << "  n0 -> out;\n";
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    int id = ids[node];
    if (node->leaf) {
      auto it = leaf_names.find(node->leaf.get());
      out << "  n" << id << " [label=\"" << (it != leaf_names.end() ? it->second : "leaf") << ' '
          << shape_str(node->out_sizes)
          << "\\nrequires_grad\", shape=ellipse, style=filled, fillcolor=lightblue];\n";
      continue;
    }
    out << "  n" << id << " [label=\"" << node->name << "\\n"
        << shape_str(node->out_sizes)
        << "\", shape=box, style=\"rounded,filled\", fillcolor=lightyellow];\n";
    for (size_t i = 0; i < node->next.size(); ++i) {
      const Node* child = node->next[i].node.get();
      if (!child) {
        out << "  c" << constants << " [label=\"" << shape_str(node->inputs[i].sizes)
            << "\", shape=box, style=filled, fillcolor=grey90, fontsize=9];\n";
        out << "  c" << constants++ << " -> n" << id << ";\n";
        continue;
      }
      auto [it, fresh] = ids.try_emplace(child, static_cast<int>(ids.size()));
      if (fresh) stack.push_back(child);
      out << "  n" << it->second << " -> n" << id << ";\n";
    }
  }
  out << "}\n";
  return out.str();
}

}  // namespace ember::autograd

// Export of the autograd graph as Graphviz DOT and as SVG; see graph_export.h. Both draw one
// picture of the graph, collected once by a walk from the root's node (an explicit stack: any
// depth).
#include "graph_export.h"

#include <algorithm>
#include <sstream>
#include <unordered_map>

#include "node.h"

namespace ember::autograd {

namespace {

// The graph as a picture sees it: boxes with a kind and two lines of text, and arrows.
struct Picture {
  enum Kind { kOp, kLeaf, kConstant, kOutput };
  struct Box {
    Kind kind;
    std::string title, shape;
  };
  std::vector<Box> boxes;                  // boxes[0] is the output, boxes[1] the root's node
  std::vector<std::pair<int, int>> edges;  // (from, to) in the direction the forward ran
};

Picture collect(const Tensor& root, const std::map<std::string, Tensor>& names) {
  Picture p;
  std::unordered_map<const TensorImpl*, std::string> leaf_names;
  for (const auto& [name, t] : names) leaf_names[t.impl_ptr().get()] = name;
  std::shared_ptr<Node> start = gradient_edge(root);
  if (!start) {
    p.boxes.push_back({Picture::kConstant, "tensor " + shape_str(root.sizes()),
                       "(no graph: does not require grad)"});
    return p;
  }
  p.boxes.push_back({Picture::kOutput, "output", shape_str(root.sizes())});
  std::unordered_map<const Node*, int> ids{{start.get(), 1}};
  std::vector<const Node*> stack{start.get()};
  p.boxes.push_back({});
  p.edges.push_back({1, 0});
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    int id = ids[node];
    if (node->leaf) {
      auto it = leaf_names.find(node->leaf.get());
      p.boxes[id] = {Picture::kLeaf, it != leaf_names.end() ? it->second : "leaf",
                     shape_str(node->out_sizes)};
      continue;
    }
    p.boxes[id] = {Picture::kOp, node->name, shape_str(node->out_sizes)};
    for (size_t i = 0; i < node->next.size(); ++i) {
      const Node* child = node->next[i].node.get();
      if (!child) {  // an input that needs no gradient
        p.boxes.push_back({Picture::kConstant, "", shape_str(node->inputs[i].sizes)});
        p.edges.push_back({static_cast<int>(p.boxes.size()) - 1, id});
        continue;
      }
      auto [it, fresh] = ids.try_emplace(child, static_cast<int>(p.boxes.size()));
      if (fresh) {
        p.boxes.push_back({});
        stack.push_back(child);
      }
      p.edges.push_back({it->second, id});
    }
  }
  return p;
}

std::string escape_xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string to_dot(const Tensor& root, const std::map<std::string, Tensor>& names) {
  Picture p = collect(root, names);
  std::ostringstream out;
  out << "digraph autograd {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=11];\n";
  for (size_t i = 0; i < p.boxes.size(); ++i) {
    const Picture::Box& b = p.boxes[i];
    std::string label = b.kind == Picture::kLeaf     ? b.title + " " + b.shape + "\\nrequires_grad"
                        : b.kind == Picture::kOutput ? b.title + " " + b.shape
                        : b.title.empty()            ? b.shape
                                                     : b.title + "\\n" + b.shape;
    out << "  n" << i << " [label=\"" << label << "\", ";
    switch (b.kind) {
      case Picture::kOp:
        out << "shape=box, style=\"rounded,filled\", fillcolor=lightyellow";
        break;
      case Picture::kLeaf:
        out << "shape=ellipse, style=filled, fillcolor=lightblue";
        break;
      case Picture::kConstant:
        out << "shape=box, style=filled, fillcolor=grey90, fontsize=9";
        break;
      case Picture::kOutput:
        out << "shape=plaintext";
        break;
    }
    out << "];\n";
  }
  for (auto [from, to] : p.edges) out << "  n" << from << " -> n" << to << ";\n";
  out << "}\n";
  return out.str();
}

// Layered drawing, output on top: a box's row is the length of the longest path from it to the
// output, so every arrow points up. An arrow that skips rows passes through a waypoint in each
// row between, which takes a little room there like a narrow box, so that no arrow crosses a
// box. Within a row, boxes and waypoints are ordered by the mean position of what they feed in
// the row above (one sweep from the top), which keeps most arrows from crossing each other.
std::string to_svg(const Tensor& root, const std::map<std::string, Tensor>& names) {
  Picture p = collect(root, names);
  const int boxes = static_cast<int>(p.boxes.size());
  std::vector<int> row(boxes, 0);
  for (bool changed = true; changed;) {  // longest paths: relax until nothing changes (acyclic)
    changed = false;
    for (auto [from, to] : p.edges)
      if (row[from] < row[to] + 1) row[from] = row[to] + 1, changed = true;
  }
  constexpr double kRowHeight = 70, kBoxHeight = 34, kGap = 16, kCharWidth = 7, kMargin = 10,
                   kWaypointWidth = 6;
  // Slots: the boxes, then the waypoints. up[s]: the slots s feeds in the row above.
  std::vector<int> slot_row = row;
  std::vector<double> width;
  for (const auto& b : p.boxes)
    width.push_back(
        std::max<double>(60, kCharWidth * std::max(b.title.size(), b.shape.size()) + 16));
  std::vector<std::vector<int>> up(boxes);
  std::vector<std::vector<int>> paths;  // per edge: from, its waypoints, to
  for (auto [from, to] : p.edges) {
    std::vector<int> path{from};
    for (int r = row[from] - 1; r > row[to]; --r) {
      path.push_back(static_cast<int>(slot_row.size()));
      slot_row.push_back(r);
      width.push_back(kWaypointWidth);
      up.emplace_back();
    }
    path.push_back(to);
    for (size_t i = 0; i + 1 < path.size(); ++i) up[path[i]].push_back(path[i + 1]);
    paths.push_back(std::move(path));
  }
  const int slots = static_cast<int>(slot_row.size());
  int rows = *std::max_element(row.begin(), row.end()) + 1;
  std::vector<std::vector<int>> at(rows);
  for (int s = 0; s < slots; ++s) at[slot_row[s]].push_back(s);
  std::vector<double> center(slots, 0);
  double total_width = 0;
  for (int r = 0; r < rows; ++r) {
    std::vector<double> key(slots, 0);
    for (int s : at[r]) {
      for (int u : up[s]) key[s] += center[u];
      if (!up[s].empty()) key[s] /= up[s].size();
    }
    std::stable_sort(at[r].begin(), at[r].end(), [&](int a, int b) { return key[a] < key[b]; });
    double x = kMargin;
    for (int s : at[r]) {
      center[s] = x + width[s] / 2;
      x += width[s] + kGap;
    }
    total_width = std::max(total_width, x - kGap + kMargin);
  }
  for (int r = 0; r < rows; ++r) {  // center each row under the widest
    double used = 2 * kMargin - kGap;
    for (int s : at[r]) used += width[s] + kGap;
    for (int s : at[r]) center[s] += (total_width - used) / 2;
  }
  double height = rows * kRowHeight + kMargin;
  auto top = [&](int s) { return kMargin + slot_row[s] * kRowHeight; };

  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << total_width << "' height='" << height
      << "' font-family='Helvetica, Arial, sans-serif' font-size='12'>\n"
      << "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' "
         "markerHeight='7' orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='#555'/></marker>"
         "</defs>\n<rect width='100%' height='100%' fill='white'/>\n";
  for (const auto& path : paths) {  // from the top of a box, up through each waypoint
    svg << "<polyline fill='none' stroke='#555' marker-end='url(#arrow)' points='"
        << center[path.front()] << "," << top(path.front());
    for (size_t i = 1; i + 1 < path.size(); ++i)
      svg << " " << center[path[i]] << "," << top(path[i]) + kBoxHeight << " " << center[path[i]]
          << "," << top(path[i]);
    svg << " " << center[path.back()] << "," << top(path.back()) + kBoxHeight << "'/>\n";
  }
  for (int i = 0; i < boxes; ++i) {
    const auto& b = p.boxes[i];
    double w = width[i], x = center[i] - w / 2, y = top(i);
    const char* fill = b.kind == Picture::kOp       ? "#fffbd6"
                       : b.kind == Picture::kLeaf   ? "#cfe6f7"
                       : b.kind == Picture::kOutput ? "white"
                                                    : "#e8e8e8";
    double radius = b.kind == Picture::kLeaf ? kBoxHeight / 2 : b.kind == Picture::kOp ? 6 : 0;
    svg << "<rect x='" << x << "' y='" << y << "' width='" << w << "' height='" << kBoxHeight
        << "' rx='" << radius << "' fill='" << fill << "' stroke='"
        << (b.kind == Picture::kOutput ? "white" : "#555") << "'/>\n";
    if (b.title.empty()) {
      svg << "<text x='" << center[i] << "' y='" << y + 21 << "' text-anchor='middle'>"
          << escape_xml(b.shape) << "</text>\n";
    } else {
      svg << "<text x='" << center[i] << "' y='" << y + 14 << "' text-anchor='middle'>"
          << escape_xml(b.title) << "</text>\n<text x='" << center[i] << "' y='" << y + 28
          << "' text-anchor='middle' font-size='10' fill='#444'>" << escape_xml(b.shape)
          << "</text>\n";
    }
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace ember::autograd

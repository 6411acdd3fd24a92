// operator<< for tensors, formatted like PyTorch's repr:
//   tensor([[ 0.1000, -2.0000],
//           [ 3.5000,  4.0000]], dtype=float64)
// Tensors over 1000 elements show the first and last 3 entries of each dim around "...".
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "tensor.h"

namespace ember {
namespace {

constexpr int64_t kSummariseOver = 1000;
constexpr int64_t kEdgeItems = 3;

struct Format {
  bool integral = true;  // every value a whole number: print "3." (float) or "3" (int)
  bool scientific = false;
  bool boolean = false;  // True / False, as PyTorch prints a bool tensor
  int width = 1;
};

std::string format_value(double v, const Format& f, bool is_int) {
  std::ostringstream out;
  if (f.boolean) {
    out << (v != 0 ? "True" : "False");
  } else if (is_int) {
    out << static_cast<int64_t>(v);
  } else if (std::isnan(v)) {
    out << "nan";
  } else if (std::isinf(v)) {
    out << (v > 0 ? "inf" : "-inf");
  } else if (f.scientific) {
    out << std::scientific << std::setprecision(4) << v;
  } else if (f.integral) {
    out << std::fixed << std::setprecision(0) << v << '.';
  } else {
    out << std::fixed << std::setprecision(4) << v;
  }
  return out.str();
}

double value_at(const Tensor& t, const std::vector<int64_t>& index) {
  int64_t off = 0;
  for (size_t d = 0; d < index.size(); ++d) off += index[d] * t.strides()[d];
  return visit_dtype(t.dtype(), [&]<typename T>() { return double(t.data_ptr<T>()[off]); });
}

// Indices of dim d to show: all, or the edges when summarising.
std::vector<int64_t> shown(int64_t size, bool summarise) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < size; ++i) {
    if (summarise && size > 2 * kEdgeItems && i == kEdgeItems) {
      out.push_back(-1);  // the "..." marker
      i = size - kEdgeItems - 1;
      continue;
    }
    out.push_back(i);
  }
  return out;
}

void collect(const Tensor& t, std::vector<int64_t>& index, bool summarise, Format& f,
             std::vector<double>& values) {
  size_t d = index.size();
  if (static_cast<int64_t>(d) == t.dim()) {
    values.push_back(value_at(t, index));
    return;
  }
  for (int64_t i : shown(t.size(d), summarise)) {
    if (i < 0) continue;
    index.push_back(i);
    collect(t, index, summarise, f, values);
    index.pop_back();
  }
}

void print_dim(std::ostream& out, const Tensor& t, std::vector<int64_t>& index, bool summarise,
               const Format& f, int indent) {
  size_t d = index.size();
  bool is_int = is_integral(t.dtype(), false);
  if (static_cast<int64_t>(d) == t.dim()) {
    out << std::setw(f.width) << format_value(value_at(t, index), f, is_int);
    return;
  }
  out << '[';
  auto items = shown(t.size(d), summarise);
  bool last_dim = static_cast<int64_t>(d) == t.dim() - 1;
  for (size_t j = 0; j < items.size(); ++j) {
    if (j > 0) {
      out << ',';
      if (last_dim)
        out << ' ';
      else
        out << std::string(t.dim() - d - 1, '\n') << std::string(indent + d + 1, ' ');
    }
    if (items[j] < 0) {
      out << "...";
      continue;
    }
    index.push_back(items[j]);
    print_dim(out, t, index, summarise, f, indent);
    index.pop_back();
  }
  out << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  if (!t.defined()) return out << "tensor(undefined)";
  bool summarise = t.numel() > kSummariseOver;
  Format f;
  f.boolean = t.dtype() == kBool;
  std::vector<double> values;
  std::vector<int64_t> index;
  collect(t, index, summarise, f, values);
  double max_abs = 0, min_abs = INFINITY;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    f.integral = f.integral && v == std::floor(v);
    max_abs = std::max(max_abs, std::abs(v));
    if (v != 0) min_abs = std::min(min_abs, std::abs(v));
  }
  bool is_int = is_integral(t.dtype(), false);
  f.scientific = !is_int && !f.integral &&
                 (max_abs >= 1e8 || min_abs < 1e-4 || (min_abs > 0 && max_abs / min_abs > 1e3));
  for (double v : values) f.width = std::max<int>(f.width, format_value(v, f, is_int).size());
  out << "tensor(";
  if (t.numel() == 0)
    out << "[]";
  else
    print_dim(out, t, index, summarise, f, 7);
  if (t.numel() == 0 && t.dim() != 1) out << ", size=" << shape_str(t.sizes());
  if (t.dtype() != kFloat32 && t.dtype() != kInt64 && t.dtype() != kBool)
    out << ", dtype=" << t.dtype();
  else if (t.dtype() != kFloat32 && t.numel() == 0)
    out << ", dtype=" << t.dtype();
  if (t.requires_grad()) out << ", requires_grad=True";
  return out << ')';
}

}  // namespace ember

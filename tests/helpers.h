// Test helpers: comparing tensors with tolerances, and reading values out as std::vector.
#pragma once

#include <doctest/doctest.h>
#include <ember/ember.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace ember::testing {

/// Every element as double, in row-major order (any strides, any dtype).
inline std::vector<double> values(const Tensor& t) {
  Tensor c = to(t.detach().contiguous(), kFloat64);
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

inline Shape shape(const Tensor& t) { return Shape(t.sizes().begin(), t.sizes().end()); }

/// Empty if a and b have one shape and |a - b| <= atol + rtol |b| everywhere, else why not.
inline std::string mismatch(const Tensor& a, const Tensor& b, double rtol, double atol = 0) {
  if (shape(a) != shape(b))
    return "shapes differ: " + shape_str(a.sizes()) + " vs " + shape_str(b.sizes());
  auto va = values(a), vb = values(b);
  for (size_t i = 0; i < va.size(); ++i) {
    bool both_nan = std::isnan(va[i]) && std::isnan(vb[i]);
    if (!both_nan && !(std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i]))) {
      std::ostringstream out;
      out.precision(17);
      out << "element " << i << ": " << va[i] << " vs " << vb[i];
      return out.str();
    }
  }
  return "";
}

/// A file of tests/golden (written with PyTorch by tools/make_*_goldens.py), read once.
inline const TensorMap& golden_file(const std::string& name) {
  static std::map<std::string, TensorMap> cache;
  auto it = cache.find(name);
  if (it == cache.end())
    it = cache.emplace(name, load_safetensors(std::string(EMBER_GOLDEN_DIR) + "/" + name)).first;
  return it->second;
}

/// The tensors of `dict` whose names start with `prefix`, with the prefix removed.
inline TensorMap with_prefix(const TensorMap& dict, const std::string& prefix) {
  TensorMap out;
  for (const auto& [k, v] : dict)
    if (k.rfind(prefix, 0) == 0) out.emplace(k.substr(prefix.size()), v);
  return out;
}

/// One line of a gradient-check table: an op's name, a function of float64 inputs, the inputs.
struct GradcheckLine {
  std::string op;
  autograd::TensorFn fn;
  std::vector<Tensor> inputs;
  bool second_order = true;  // also run gradgradcheck
  autograd::GradcheckOptions options = {};
};

/// The gradient-check table, by family: the ops of elementwise.h, unary_math.h, reduce.h,
/// shape.h, index.h and linalg.h (test_gradcheck_ops.cpp); of scan.h, rearrange.h, the rounding
/// ops and einsum (test_scans.cpp); of indexing.h (test_indexing.cpp).
std::vector<GradcheckLine> op_lines();
std::vector<GradcheckLine> scan_lines();
std::vector<GradcheckLine> indexing_lines();

/// Runs gradcheck (and gradgradcheck where asked) on every line, reporting failures by op.
inline void check_gradients(const std::vector<GradcheckLine>& table) {
  for (const GradcheckLine& line : table) {
    CAPTURE(line.op);
    auto first = autograd::gradcheck(line.fn, line.inputs, line.options);
    CHECK_MESSAGE(first.passed, line.op, ": ", first.message);
    if (line.second_order) {
      auto second = autograd::gradgradcheck(line.fn, line.inputs, line.options);
      CHECK_MESSAGE(second.passed, line.op, " (second order): ", second.message);
    }
  }
}

}  // namespace ember::testing

#define CHECK_CLOSE(a, b, rtol) \
  CHECK_MESSAGE(ember::testing::mismatch(a, b, rtol).empty(), ember::testing::mismatch(a, b, rtol))
#define CHECK_CLOSE_ABS(a, b, rtol, atol)                           \
  CHECK_MESSAGE(ember::testing::mismatch(a, b, rtol, atol).empty(), \
                ember::testing::mismatch(a, b, rtol, atol))
#define CHECK_EQUAL_TENSOR(a, b) \
  CHECK_MESSAGE(ember::testing::mismatch(a, b, 0).empty(), ember::testing::mismatch(a, b, 0))

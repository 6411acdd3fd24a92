// matmul with torch.matmul's rules, as GEMM calls on the operands' own strides (gemm.h); see
// matmul.h.
#include "matmul.h"

#include <optional>

#include "../factory.h"
#include "../parallel.h"
#include "../profiler.h"
#include "copy.h"
#include "gemm.h"

namespace ember::kernels {

namespace {

// A row-major matrix as BLAS sees it: a pointer, a transpose flag and a leading dimension.
struct BlasMatrix {
  bool transposed = false;
  int64_t ld = 0;
};

// How BLAS can read a (rows x cols) matrix with strides (rs, cs), if it can.
std::optional<BlasMatrix> blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if (cs == 1 || cols == 1) {
    int64_t ld = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    if (ld >= std::max<int64_t>(cols, 1)) return BlasMatrix{false, ld};
  }
  if (rs == 1 || rows == 1) {
    int64_t ld = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    if (ld >= std::max<int64_t>(rows, 1)) return BlasMatrix{true, ld};
  }
  return std::nullopt;
}

template <typename T>
void gemm(const BlasMatrix& la, const BlasMatrix& lb, int64_t m, int64_t n, int64_t k, const T* a,
          const T* b, T* c, int64_t ldc) {
  kernels::gemm(la.transposed, lb.transposed, m, n, k, a, la.ld, b, lb.ld, T(0), c, ldc);
}

// A GEMM of at most 64^3 multiply-adds runs on the calling thread (on ember's register tile,
// gemm.cpp; OpenBLAS would too: its GEMM_MULTITHREAD_THRESHOLD), so a batch of such GEMMs is
// spread over ember's threads. Larger
// GEMMs run one after another, each threaded by OpenBLAS, which shares its packed panels across
// threads; OpenBLAS's results then differ in the last bits between thread counts (even with a
// single block of k). Under set_thread_count_invariant(true) they are split instead into panels
// fixed by their sizes, each a single-thread GEMM: the same bits at every thread count, at the
// cost of packing the shared operand once per panel (5-30% on large square products, measured by
// bench/bench_matmul).
constexpr int64_t kSmallGemm = kSerialBlasWork;
constexpr int64_t kPanel = 256;
constexpr int64_t kLongDepthPanel = 64;

// out (B, m, n) = a (B, m, k) @ b (B, k, n), with a and b given by arbitrary strides.
// Batch strides of 0 broadcast one matrix over the batch.
Tensor batched(const Tensor& a, const Tensor& b) {
  int64_t batch = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
  Tensor out = empty({batch, m, n}, a.dtype());
  if (out.numel() == 0) return out;
  if (k == 0) {
    fill(out, 0.0);
    return out;
  }
  auto la = blas_layout(m, k, a.stride(1), a.stride(2));
  auto lb = blas_layout(k, n, b.stride(1), b.stride(2));
  if (!la) return batched(contiguous(a), b);
  if (!lb) return batched(a, contiguous(b));
  visit_floating(a.dtype(), "matmul", [&]<typename T>() {
    const T* ap = a.data_ptr<T>();
    const T* bp = b.data_ptr<T>();
    T* cp = out.data_ptr<T>();
    int64_t a_step = a.stride(0), rows = m;
    // One matrix on the right for every batch, and rows that stack: a single tall GEMM.
    if (batch > 1 && b.stride(0) == 0 && !la->transposed && a_step == m * la->ld) {
      rows = batch * m;
      batch = 1;
    }
    auto one = [&](int64_t i) {
      gemm(*la, *lb, rows, n, k, ap + i * a_step, bp + i * b.stride(0), cp + i * rows * n, n);
    };
    // One panel of product i: p rows (by_rows) or columns from p0, a single-thread GEMM.
    auto panel = [&](int64_t i, bool by_rows, int64_t p0, int64_t p) {
      const T* ai = ap + i * a_step;
      const T* bi = bp + i * b.stride(0);
      T* ci = cp + i * rows * n;
      if (by_rows)
        gemm(*la, *lb, p, n, k, ai + p0 * (la->transposed ? 1 : la->ld), bi, ci + p0 * n, n);
      else
        gemm(*la, *lb, rows, p, k, ai, bi + p0 * (lb->transposed ? lb->ld : 1), ci + p0, n);
    };
    int64_t work = rows * n * k;
    // A single product with a long depth and a small output (a Linear layer's forward, 64 x 128
    // over 3136 in FashionNet's head) gains nothing from OpenBLAS's second thread (880 against
    // 867 us, AMD EPYC Zen 3, hot caches), and the thread-count-invariant panels below leave it
    // whole: its output is cut into panels of kLongDepthPanel rows or columns, fixed by the
    // sizes, each a single-thread GEMM over the whole depth (the same bits at any thread count).
    int64_t wide = std::max(rows, n);
    if (batch == 1 && work > kSmallGemm && k >= 4 * wide && wide >= 2 * kLongDepthPanel) {
      bool by_rows = rows >= n;
      int64_t panels = (wide + kLongDepthPanel - 1) / kLongDepthPanel;
      parallel_for_blas(0, panels, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; ++t)
          panel(0, by_rows, t * kLongDepthPanel,
                std::min(kLongDepthPanel, wide - t * kLongDepthPanel));
      });
    } else if (batch > 1 && work <= kSmallGemm) {
      parallel_for(0, batch, std::max<int64_t>(1, kSmallGemm / std::max<int64_t>(work, 1)),
                   [&](int64_t lo, int64_t hi) {
                     for (int64_t i = lo; i < hi; ++i) one(i);
                   });
    } else if (work <= kSmallGemm || !thread_count_invariant()) {
      for (int64_t i = 0; i < batch; ++i) one(i);
    } else {
      // Panels of the larger output dim, fixed by the sizes alone, each a single-thread GEMM.
      bool by_rows = rows >= n;
      int64_t dim = by_rows ? rows : n;
      int64_t panels = std::max<int64_t>(1, dim / kPanel);
      int64_t width = (dim + panels - 1) / panels;
      parallel_for_blas(0, batch * panels, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; ++t) {
          int64_t p0 = (t % panels) * width;
          panel(t / panels, by_rows, p0, std::min(width, dim - p0));
        }
      });
    }
  });
  return out;
}

// Views x (..., r, c) as (B, r, c) over the broadcast batch shape, without copying when the
// batch dims can be walked by one stride; otherwise materialises the broadcast.
Tensor as_batch(const Tensor& x, const Shape& batch_shape) {
  Shape sizes = batch_shape;
  sizes.push_back(x.size(-2));
  sizes.push_back(x.size(-1));
  Shape strides = broadcast_strides(x.sizes(), x.strides(), sizes);
  int64_t batch = numel_of(batch_shape);
  // Find one stride that walks all batch dims (row-major), if any.
  int64_t step = 0;
  bool ok = true, first = true;
  int64_t expected = 0;
  for (int64_t d = static_cast<int64_t>(batch_shape.size()) - 1; d >= 0; --d) {
    if (batch_shape[d] == 1) continue;
    if (first) {
      step = strides[d];
      expected = step * batch_shape[d];
      first = false;
    } else {
      ok = ok && strides[d] == expected;
      expected = strides[d] * batch_shape[d];
    }
  }
  if (ok) {
    return make_view(x, {batch, sizes[sizes.size() - 2], sizes.back()},
                     {step, strides[strides.size() - 2], strides.back()}, x.storage_offset());
  }
  Tensor dense = empty(sizes, x.dtype());
  copy(dense, make_view(x, sizes, strides, x.storage_offset()));
  return as_batch(dense, batch_shape);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  profiler::Scope scope("kernels::matmul");
  check(a.dtype() == b.dtype(), "matmul: expected both operands to have the same dtype, got ",
        a.dtype(), " and ", b.dtype());
  if (!(a.dim() >= 1 && b.dim() >= 1))
    fail("matmul: both arguments need at least 1 dimension, got ", shape_str(a.sizes()), " and ",
         shape_str(b.sizes()));
  visit_floating(a.dtype(), "matmul", [&]<typename T>() {});
  // Promote 1-D operands to matrices, remembering which dims to drop from the result.
  Tensor a2 = a.dim() == 1 ? make_view(a, {1, a.size(0)}, {0, a.stride(0)}, a.storage_offset()) : a;
  Tensor b2 = b.dim() == 1 ? make_view(b, {b.size(0), 1}, {b.stride(0), 0}, b.storage_offset()) : b;
  int64_t m = a2.size(-2), k = a2.size(-1), n = b2.size(-1);
  if (b2.size(-2) != k)
    fail("matmul: shapes ", shape_str(a.sizes()), " and ", shape_str(b.sizes()),
         " cannot be multiplied (", k, " != ", b2.size(-2), ")");
  Shape a_batch(a2.sizes().begin(), a2.sizes().end() - 2);
  Shape b_batch(b2.sizes().begin(), b2.sizes().end() - 2);
  Shape batch_shape = broadcast_shapes(a_batch, b_batch, "matmul");
  int64_t batch = numel_of(batch_shape);
  scope.count(
      {.flops = 2 * batch * m * n * k,
       .bytes = int64_t(element_size(a.dtype())) * (a.numel() + b.numel() + batch * m * n)});
  Tensor c = batched(as_batch(a2, batch_shape), as_batch(b2, batch_shape));
  Shape out_shape = batch_shape;
  if (a.dim() > 1) out_shape.push_back(m);
  if (b.dim() > 1) out_shape.push_back(n);
  return make_view(c, out_shape, contiguous_strides(out_shape), 0);
}

}  // namespace ember::kernels

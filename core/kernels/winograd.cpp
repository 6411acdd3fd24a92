// Winograd F(2x2, 3x3) convolution and its two gradients; see winograd.h.
//
// In one dimension, two outputs of a 3-tap correlation, y0 = d0 g0 + d1 g1 + d2 g2 and
// y1 = d1 g0 + d2 g1 + d3 g2, take four multiplies instead of six:
//   m0 = (d0 - d2) g0        m1 = (d1 + d2) (g0 + g1 + g2)/2
//   m3 = (d1 - d3) g2        m2 = (d2 - d1) (g0 - g1 + g2)/2
//   y0 = m0 + m1 + m2        y1 = m1 - m2 - m3
// that is y = Aᵀ [(G g) ⊙ (Bᵀ d)] with
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//   Aᵀ = [1 1 1 0; 0 1 -1 -1].
// Nesting it in both dimensions: a 2x2 output tile Y from its 4x4 input tile d is
//   Y = Aᵀ [U ⊙ V] A,   U = G g Gᵀ (4x4, once per filter),   V = Bᵀ d B (4x4, once per tile).
// Summed over input channels c, for output channel k and each of the 16 positions ξ of the 4x4:
//   M[ξ](k, tile) = Σ_c U[ξ](k, c) V[ξ](c, tile)       16 GEMMs: (K x C) @ (C x tiles).
//
// Gradients. Y is linear in M, M in U and V, U in g, V in d: by the adjoints of each step,
//   dM = A dY Aᵀ (per tile),   dU[ξ] = Σ_tiles dM[ξ] V[ξ]ᵀ (16 GEMMs over tiles),   dg = Gᵀ dU G,
//   dV[ξ] = U[ξ]ᵀ dM[ξ] (16 GEMMs over output channels),   dd = B dV Bᵀ (per tile),
// and each tile's dd adds into its 4x4 patch of the padded input (neighbours overlap). Both
// gradients share dM, so the backward is one pass over the batch.
//
// Layout: a chunk of samples at a time (fixed by the sizes: about kTileTarget tiles), whose
// V (16, C, P) and M (16, K, P), P = tiles in the chunk, stay in the core's L2 cache; chunks are
// spread over threads, so every output has one writer and the same bits at any thread count.
// The 16 GEMMs per chunk are small (64 x 32 by 32 x 224 in FashionNet) and run on a register
// tile of their own (winograd_kernels.inc) rather than BLAS, whose packing into panels costs as
// much as the product at these sizes. The transforms and that GEMM are compiled once per vector
// capability (capability.h) and the copy that fits the CPU runs.
//
// Tiles are numbered p = ty * (tw + 1) + tx per sample: each row of tiles carries one unused
// tile at tx = tw. With that, a zero-padded plane of 2 (tw + 1) columns puts column 2 tx + j of
// tile row ty at 2 p + j of the row-transformed plane, so every transform is a loop over the
// whole plane that the compiler vectorises (a row of a 14x14 plane has only 7 tiles). The unused
// tiles cost 1/(tw + 1) of the GEMMs; their V repeats values of real tiles, their outputs are
// dropped and their dM is zero, so they change no result.
#include "winograd.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "../factory.h"
#include "../parallel.h"
#include "../profiler.h"
#include "capability.h"
#include "capability_copies.h"
#include "copy.h"

namespace ember::kernels {
namespace {

constexpr int64_t kTileTarget = 196;

// How a convolution (N, C, H, W) -> (N, K, OH, OW) is cut into 2x2 output tiles and chunks.
struct Tiling {
  int64_t n, c, k, h, w, ph, pw;
  int64_t oh = h + 2 * ph - 2, ow = w + 2 * pw - 2;
  int64_t th = (oh + 1) / 2, tw = (ow + 1) / 2;
  int64_t row = tw + 1, tiles = th * row;  // tiles per row and per sample, the unused ones too
  int64_t per_chunk = std::max<int64_t>(1, kTileTarget / std::max<int64_t>(tiles, 1));
  int64_t chunks = (n + per_chunk - 1) / per_chunk;
  int64_t prow = 2 * row;  // columns of the zero-padded plane the tiles read
};

// Rows of V, M and their transposes are padded to a multiple of kPadLanes columns, a whole
// number of vectors at every capability, so the GEMM has no partial vectors.
constexpr int64_t kPadLanes = 16;
constexpr int64_t padded_columns(int64_t n) { return (n + kPadLanes - 1) / kPadLanes * kPadLanes; }

// The most output channels a chunk kernel puts through its GEMMs at once.
constexpr int64_t kMaxChannelBlock = 32;

// One thread's scratch for a chunk, sized for the largest chunk by ChunkScratch.
template <typename T>
struct ChunkBuffers {
  T* zeros;   // a row of W zeros
  T* rows;    // row-transformed planes, or the rows of the output transform and its tile order
  T* v;       // (16, C, ld): V, and dV in the backward
  T* m;       // forward: (16, block, ld), a block of channels' M; backward: (16, K, ld), dM
  T* vt;      // (ld, padded C): one V[ξ] transposed, backward only
  T* du;      // (K, padded C): one dU[ξ], backward only
};

// U (16, K, C) = G g Gᵀ for each filter g = weight[k, c] (3x3).
template <typename T>
void weight_transform(const T* weight, int64_t k, int64_t c, T* u) {
  int64_t step = k * c;
  for (int64_t kc = 0; kc < k * c; ++kc) {
    const T* g = weight + kc * 9;
    T r[4][3];  // G g
    for (int j = 0; j < 3; ++j) {
      r[0][j] = g[j];
      r[1][j] = (g[j] + g[3 + j] + g[6 + j]) / 2;
      r[2][j] = (g[j] - g[3 + j] + g[6 + j]) / 2;
      r[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; ++i) {  // (G g) Gᵀ
      T* out = u + 4 * i * step + kc;
      out[0] = r[i][0];
      out[step] = (r[i][0] + r[i][1] + r[i][2]) / 2;
      out[2 * step] = (r[i][0] - r[i][1] + r[i][2]) / 2;
      out[3 * step] = r[i][2];
    }
  }
}

// dweight (K, C, 3, 3) = Gᵀ dU G: the adjoint of weight_transform.
template <typename T>
void weight_transform_adjoint(const T* du, int64_t k, int64_t c, T* dweight) {
  int64_t step = k * c;
  for (int64_t kc = 0; kc < k * c; ++kc) {
    T q[3][4];  // Gᵀ dU
    for (int j = 0; j < 4; ++j) {
      T e0 = du[j * step + kc], e1 = du[(4 + j) * step + kc], e2 = du[(8 + j) * step + kc],
        e3 = du[(12 + j) * step + kc];
      q[0][j] = e0 + (e1 + e2) / 2;
      q[1][j] = (e1 - e2) / 2;
      q[2][j] = (e1 + e2) / 2 + e3;
    }
    T* g = dweight + kc * 9;
    for (int i = 0; i < 3; ++i) {  // (Gᵀ dU) G
      g[3 * i] = q[i][0] + (q[i][1] + q[i][2]) / 2;
      g[3 * i + 1] = (q[i][1] - q[i][2]) / 2;
      g[3 * i + 2] = (q[i][1] + q[i][2]) / 2 + q[i][3];
    }
  }
}

// The chunk kernels, one copy per capability.
#define EMBER_CAPABILITY_KERNELS "winograd_kernels.inc"
#include "each_capability.inc"
#undef EMBER_CAPABILITY_KERNELS

// The chunk kernels of the capability in use.
template <typename T>
struct ChunkKernels {
  void (*forward)(const Tiling&, const T*, const T*, const T*, int64_t, int64_t,
                  const ChunkBuffers<T>&, T*);
  void (*backward)(const Tiling&, const T*, const T*, const T*, int64_t, int64_t,
                   const ChunkBuffers<T>&, T*, T*);
};

template <typename T>
ChunkKernels<T> chunk_kernels() {
  switch (cpu_capability()) {
    case Capability::avx512: return {avx512::forward_chunk<T>, avx512::backward_chunk<T>};
    case Capability::avx2: return {avx2::forward_chunk<T>, avx2::backward_chunk<T>};
    case Capability::baseline: break;
  }
  return {baseline::forward_chunk<T>, baseline::backward_chunk<T>};
}

// One thread's scratch for chunks of s, forward or backward. vt starts zero: the transpose
// leaves its columns past C (up to a multiple of the lanes) unwritten.
template <typename T>
class ChunkScratch {
 public:
  ChunkScratch(const Tiling& s, bool backward) {
    int64_t ld = padded_columns(s.per_chunk * s.tiles), cpad = padded_columns(s.c);
    // rows: the row-transformed planes and one padded row, or 8 tiles and the tile-order
    // buffer (each with a few vectors of room for copy_row's reads).
    int64_t rows = std::max(4 * s.th * s.prow + 4 + s.prow + kPadLanes,
                            8 * s.tiles + 2 * (s.th * s.prow + kPadLanes + s.prow));
    int64_t block = backward ? s.k : std::min(s.k, kMaxChannelBlock);
    int64_t sizes[] = {s.w, rows, 16 * s.c * ld, 16 * block * ld,
                       backward ? ld * cpad : 0, backward ? s.k * cpad : 0};
    int64_t total = 0;
    for (int64_t n : sizes) total += n;
    storage_ = empty({total}, dtype_of<T>());
    T* at = storage_.data_ptr<T>();
    T** parts[] = {&buffers.zeros, &buffers.rows, &buffers.v, &buffers.m, &buffers.vt, &buffers.du};
    for (int i = 0; i < 6; ++i) {
      *parts[i] = at;
      at += sizes[i];
    }
    std::fill_n(buffers.zeros, sizes[0], T(0));
    std::fill_n(buffers.vt, sizes[4], T(0));
  }
  ChunkBuffers<T> buffers;

 private:
  Tensor storage_;
};

// y = x ⋆ weight (+ bias) for weights already transformed into u (16, K, C).
template <typename T>
void forward(const Tiling& s, const T* x, const T* u, const T* bias, T* y) {
  auto kernel = chunk_kernels<T>().forward;
  parallel_for(0, s.chunks, 1, [&](int64_t lo, int64_t hi) {
    ChunkScratch<T> scratch(s, false);
    for (int64_t chunk = lo; chunk < hi; ++chunk) {
      int64_t b0 = chunk * s.per_chunk, b1 = std::min(s.n, b0 + s.per_chunk);
      kernel(s, x, u, bias, b0, b1, scratch.buffers, y);
    }
  });
}

Tiling tiling_of(const Shape& x, int64_t out_channels, const Window& w) {
  return Tiling{.n = x[0], .c = x[1], .k = out_channels, .h = x[2], .w = x[3], .ph = w.ph,
                .pw = w.pw};
}

Tiling tiling_of(const Tensor& x, int64_t out_channels, const Window& w) {
  return tiling_of(shape_of(x), out_channels, w);
}

// A dilated 3x3 convolution as Winograd's. With dilation d, stride 1 and padding p = q d, output
// pixel (y, x) reads input rows y - p + i d and columns x - p + j d: only pixels whose row and
// column are y and x mod d. When d divides the map's sides, the map is d² maps of (H/d, W/d), one
// per class (r, t) of (row mod d, column mod d), each convolved with the same 3x3 filters
// without dilation and with padding q: a convolution winograd_fits (the space-to-batch of
// TensorFlow's dilated convolution). Only when the class maps are at least 12 columns wide: in
// narrower ones Winograd's unused tile per row of tiles and its short rows cost more than it
// saves (SceneNet's dilation 4 at 32 x 32, maps of 8 x 8: 29.5 against 24.4 ms through im2col,
// forward and backward at batch 32, 2 threads, AMD EPYC Zen 3; dilation 2, maps of 16 x 16:
// 18.4 against 25.2). The window of those maps, when it is one.
std::optional<Window> dilation_classes_window(const Tensor& x, const Tensor& weight,
                                              const Window& w, int64_t groups) {
  int64_t d = w.dh;
  if (d <= 1 || w.dw != d || w.kh != 3 || w.kw != 3 || w.sh != 1 || w.sw != 1 || w.ph % d != 0 ||
      w.pw % d != 0 || x.size(2) % d != 0 || x.size(3) % d != 0 || x.size(3) / d < 12)
    return std::nullopt;
  Window sub{.kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = w.ph / d, .pw = w.pw / d};
  Shape classes{x.size(0) * d * d, x.size(1), x.size(2) / d, x.size(3) / d};
  if (!winograd_fits(classes, weight.size(0), sub, groups)) return std::nullopt;
  return sub;
}

// Between a batch of maps (N, C, H, W) and their d x d classes as a batch (N d², C, H/d, W/d),
// class (r, t) of sample b at b d² + r d + t: to the classes (gather) or back.
Tensor dilation_classes(const Tensor& from_in, int64_t d, bool gather, const Shape& to_shape) {
  Tensor from = contiguous(from_in);
  Tensor to = empty(to_shape, from.dtype());
  const Shape& full = gather ? shape_of(from) : to_shape;
  int64_t n = full[0], c = full[1], h = full[2], wd = full[3], sh = h / d, sw = wd / d;
  visit_floating(from.dtype(), "conv2d", [&]<typename T>() {
    const T* src = from.data_ptr<T>();
    T* dst = to.data_ptr<T>();
    parallel_for(0, n * c, std::max<int64_t>(1, kGrainElements / std::max<int64_t>(h * wd, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t nc = lo; nc < hi; ++nc) {
                     int64_t b = nc / c, ch = nc % c;
                     for (int64_t r = 0; r < d; ++r)
                       for (int64_t t = 0; t < d; ++t) {
                         int64_t plane = ((b * d * d + r * d + t) * c + ch) * sh * sw;
                         for (int64_t y = 0; y < sh; ++y) {
                           int64_t at_full = nc * h * wd + (y * d + r) * wd + t;
                           int64_t at_class = plane + y * sw;
                           for (int64_t xx = 0; xx < sw; ++xx) {
                             if (gather)
                               dst[at_class + xx] = src[at_full + xx * d];
                             else
                               dst[at_full + xx * d] = src[at_class + xx];
                           }
                         }
                       }
                   }
                 });
  });
  return to;
}

Shape classes_shape(const Shape& full, int64_t d) {
  return {full[0] * d * d, full[1], full[2] / d, full[3] / d};
}

}  // namespace

bool winograd_fits(const Shape& x, int64_t out_channels, const Window& w, int64_t groups) {
  if (x.size() != 4 || groups != 1 || w.kh != 3 || w.kw != 3 || w.sh != 1 || w.sw != 1 ||
      w.dh != 1 || w.dw != 1 || w.ph > 2 || w.pw > 2 || x[1] < 8 || out_channels < 8)
    return false;
  // The weight gradient keeps one (16, K, C) partial sum per chunk: at most 4M elements.
  Tiling s = tiling_of(x, out_channels, w);
  return s.oh >= 1 && s.ow >= 1 && s.chunks * 16 * s.k * s.c <= (int64_t{1} << 22);
}

bool winograd_fits(const Tensor& x, const Tensor& weight, const Window& w, int64_t groups) {
  return winograd_fits(shape_of(x), weight.size(0), w, groups);
}

Tensor winograd_conv2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in,
                       const Window& w) {
  profiler::Scope scope("kernels::winograd_conv2d");
  Tensor x = contiguous(x_in), weight = contiguous(weight_in);
  Tensor bias = bias_in.defined() ? contiguous(bias_in) : bias_in;
  Tiling s = tiling_of(x, weight.size(0), w);
  Tensor y = empty({s.n, s.k, s.oh, s.ow}, x.dtype());
  if (y.numel() == 0) return y;
  visit_floating(x.dtype(), "conv2d", [&]<typename T>() {
    Tensor u = empty({16, s.k, s.c}, x.dtype());
    weight_transform(weight.data_ptr<T>(), s.k, s.c, u.data_ptr<T>());
    forward(s, x.data_ptr<T>(), u.data_ptr<T>(), bias.defined() ? bias.data_ptr<T>() : nullptr,
            y.data_ptr<T>());
  });
  return y;
}

WinogradGrads winograd_conv2d_backward(const Tensor& grad_in, const Tensor& x_in,
                                       const Tensor& weight_in, const Window& w, bool need_input,
                                       bool need_weight) {
  profiler::Scope scope("kernels::winograd_conv2d_backward");
  Tensor grad = contiguous(grad_in), x = contiguous(x_in), weight = contiguous(weight_in);
  Tiling s = tiling_of(x, weight.size(0), w);
  WinogradGrads r;
  if (need_input) r.input = empty(shape_of(x), x.dtype());
  if (need_weight) r.weight = empty(shape_of(weight), x.dtype());
  if (s.n == 0) {
    if (need_weight) r.weight = zeros(shape_of(weight), x.dtype());
    return r;
  }
  Tensor partial = need_weight ? empty({s.chunks, 16, s.k, s.c}, x.dtype()) : Tensor();
  visit_floating(x.dtype(), "conv2d backward", [&]<typename T>() {
    Tensor ut;  // U[ξ]ᵀ (16, C, K) for the input gradient
    if (need_input) {
      Tensor u = empty({16, s.k, s.c}, x.dtype());
      weight_transform(weight.data_ptr<T>(), s.k, s.c, u.data_ptr<T>());
      ut = empty({16, s.c, s.k}, x.dtype());
      const T* up = u.data_ptr<T>();
      T* tp = ut.data_ptr<T>();
      for (int64_t xi = 0; xi < 16; ++xi)
        for (int64_t kk = 0; kk < s.k; ++kk)
          for (int64_t cc = 0; cc < s.c; ++cc)
            tp[(xi * s.c + cc) * s.k + kk] = up[(xi * s.k + kk) * s.c + cc];
    }
    auto kernel = chunk_kernels<T>().backward;
    parallel_for(0, s.chunks, 1, [&](int64_t lo, int64_t hi) {
      ChunkScratch<T> scratch(s, true);
      for (int64_t chunk = lo; chunk < hi; ++chunk) {
        int64_t b0 = chunk * s.per_chunk, b1 = std::min(s.n, b0 + s.per_chunk);
        kernel(s, x.data_ptr<T>(), grad.data_ptr<T>(), need_input ? ut.data_ptr<T>() : nullptr,
               b0, b1, scratch.buffers,
               need_weight ? partial.data_ptr<T>() + chunk * 16 * s.k * s.c : nullptr,
               need_input ? r.input.data_ptr<T>() : nullptr);
      }
    });
    if (!need_weight) return;
    // The chunks' dU, added in chunk order, then Gᵀ dU G.
    int64_t size = 16 * s.k * s.c;
    Tensor du = empty({size}, x.dtype());
    const T* pp = partial.data_ptr<T>();
    T* dup = du.data_ptr<T>();
    std::copy(pp, pp + size, dup);
    for (int64_t chunk = 1; chunk < s.chunks; ++chunk)
      for (int64_t i = 0; i < size; ++i) dup[i] += pp[chunk * size + i];
    weight_transform_adjoint(dup, s.k, s.c, r.weight.data_ptr<T>());
  });
  return r;
}

bool winograd_dilated_fits(const Tensor& x, const Tensor& weight, const Window& w, int64_t groups) {
  return x.dim() == 4 && dilation_classes_window(x, weight, w, groups).has_value();
}

Tensor winograd_dilated_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                               const Window& w) {
  int64_t d = w.dh;
  Window sub = *dilation_classes_window(x, weight, w, 1);
  Tensor y = winograd_conv2d(dilation_classes(x, d, true, classes_shape(shape_of(x), d)), weight,
                             bias, sub);
  Shape out = shape_of(y);
  return dilation_classes(y, d, false, {x.size(0), out[1], out[2] * d, out[3] * d});
}

WinogradGrads winograd_dilated_conv2d_backward(const Tensor& grad, const Tensor& x,
                                               const Tensor& weight, const Window& w,
                                               bool need_input, bool need_weight) {
  int64_t d = w.dh;
  Window sub = *dilation_classes_window(x, weight, w, 1);
  WinogradGrads g =
      winograd_conv2d_backward(dilation_classes(grad, d, true, classes_shape(shape_of(grad), d)),
                               dilation_classes(x, d, true, classes_shape(shape_of(x), d)), weight,
                               sub, need_input, need_weight);
  if (need_input) g.input = dilation_classes(g.input, d, false, shape_of(x));
  return g;
}

}  // namespace ember::kernels

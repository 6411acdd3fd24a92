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
// Gradients. Y is linear in M, M in U and V, U in g: by the adjoints of each step,
//   dM = A dY Aᵀ (per tile),   dU[ξ] = Σ_tiles dM[ξ] V[ξ]ᵀ (16 GEMMs over tiles),   dg = Gᵀ dU G.
// The input gradient of a stride-1 3x3 correlation is itself one: dY correlated with the filter
// turned 180° and its channels transposed, padded by 2 - p. So it reuses the forward.
//
// Layout: a chunk of samples at a time (fixed by the sizes: about kTileTarget tiles), whose
// V (16, C, P) and M (16, K, P), P = tiles in the chunk, stay in the core's L2 cache; chunks are
// spread over threads, each GEMM single-threaded (parallel_for_blas), so every output has one
// writer and the same bits at any thread count.
//
// Tiles are numbered p = ty * (tw + 1) + tx per sample: each row of tiles carries one unused
// tile at tx = tw. With that, a zero-padded plane of 2 (tw + 1) columns puts column 2 tx + j of
// tile row ty at 2 p + j of the row-transformed plane, so every transform is a loop over the
// whole plane that the compiler vectorises (a row of a 14x14 plane has only 7 tiles). The unused
// tiles cost 1/(tw + 1) of the GEMMs; their V repeats values of real tiles, their outputs are
// dropped and their dM is zero, so they change no result.
#include "winograd.h"

#include <algorithm>

#include "../factory.h"
#include "../parallel.h"
#include "blas.h"
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
  // A channel plane copied into a zero border: every tile's 4x4 patch lies inside it.
  int64_t prow = 2 * row, pplane = (2 * th + 2) * prow;
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

// t[i * plane + col] = (Bᵀ d)[i] for the 4 rows d (width apart) of one row of tiles, every column.
template <typename T>
void combine_rows(const T* __restrict d, int64_t width, T* __restrict t, int64_t plane) {
  for (int64_t col = 0; col < width; ++col) {
    T d0 = d[col], d1 = d[width + col], d2 = d[2 * width + col], d3 = d[3 * width + col];
    t[col] = d0 - d2;
    t[plane + col] = d1 + d2;
    t[2 * plane + col] = d2 - d1;
    t[3 * plane + col] = d1 - d3;
  }
}

// V (16, C, P) = Bᵀ d B for the 4x4 patch d of every tile of samples [b0, b1) of x (N, C, H, W).
// `rows` holds 4 * th * prow + 4 values.
template <typename T>
void input_transform(const Tiling& s, const T* x, int64_t b0, int64_t b1, T* padded, T* rows,
                     T* v) {
  int64_t p_count = (b1 - b0) * s.tiles, step = s.c * p_count, width = s.prow;
  int64_t plane_rows = s.th * width;  // one row-transformed plane: th rows of prow
  std::fill_n(padded, s.pplane, T(0));
  std::fill_n(rows, 4 * plane_rows + 4, T(0));  // the last tile reads 3 past its row's end
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t ch = 0; ch < s.c; ++ch) {
      const T* plane = x + (b * s.c + ch) * s.h * s.w;
      for (int64_t y = 0; y < s.h; ++y)
        std::copy(plane + y * s.w, plane + (y + 1) * s.w, padded + (y + s.ph) * width + s.pw);
      for (int64_t ty = 0; ty < s.th; ++ty)  // Bᵀ d, for the 4 padded rows of each tile row
        combine_rows(padded + 2 * ty * width, width, rows + ty * width, plane_rows);
      // (Bᵀ d) B: tile p reads columns 2p .. 2p + 3 of each row-transformed plane.
      T* out = v + ch * p_count + (b - b0) * s.tiles;
      for (int i = 0; i < 4; ++i) {
        const T* t = rows + i * plane_rows;
        T* o0 = out + (4 * i) * step;
        T* o1 = o0 + step;
        T* o2 = o1 + step;
        T* o3 = o2 + step;
        for (int64_t p = 0; p < s.tiles; ++p) {
          o0[p] = t[2 * p] - t[2 * p + 2];
          o1[p] = t[2 * p + 1] + t[2 * p + 2];
          o2[p] = t[2 * p + 2] - t[2 * p + 1];
          o3[p] = t[2 * p + 1] - t[2 * p + 3];
        }
      }
    }
}

// y[b, k, 2ty + i, 2tx + j] = (Aᵀ M A)[i][j] + bias[k] for samples [b0, b1); M: (16, K, P).
// `rows` holds 8 * tiles values: the rows of Aᵀ M for every tile.
template <typename T>
void output_transform(const Tiling& s, const T* m, const T* bias, int64_t b0, int64_t b1, T* rows,
                      T* y) {
  int64_t p_count = (b1 - b0) * s.tiles, step = s.k * p_count, n = s.tiles;
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t kk = 0; kk < s.k; ++kk) {
      const T* e = m + kk * p_count + (b - b0) * s.tiles;
      for (int j = 0; j < 4; ++j) {  // Aᵀ M: r0[j] = m0j + m1j + m2j, r1[j] = m1j - m2j - m3j
        const T* m0 = e + j * step;
        const T* m1 = m0 + 4 * step;
        const T* m2 = m1 + 4 * step;
        const T* m3 = m2 + 4 * step;
        T* r0 = rows + j * n;
        T* r1 = rows + (4 + j) * n;
        for (int64_t p = 0; p < n; ++p) {
          r0[p] = m0[p] + m1[p] + m2[p];
          r1[p] = m1[p] - m2[p] - m3[p];
        }
      }
      T* plane = y + (b * s.k + kk) * s.oh * s.ow;
      T add = bias ? bias[kk] : T(0);
      for (int64_t ty = 0; ty < s.th; ++ty)
        for (int64_t i = 0; i < 2 && 2 * ty + i < s.oh; ++i) {  // (Aᵀ M) A, one output row
          const T* r = rows + 4 * i * n + ty * s.row;
          T* out = plane + (2 * ty + i) * s.ow;
          for (int64_t tx = 0; tx < s.ow / 2; ++tx) {
            out[2 * tx] = r[tx] + r[n + tx] + r[2 * n + tx] + add;
            out[2 * tx + 1] = r[n + tx] - r[2 * n + tx] - r[3 * n + tx] + add;
          }
          int64_t last = s.tw - 1;
          if (s.ow % 2) out[s.ow - 1] = r[last] + r[n + last] + r[2 * n + last] + add;
        }
    }
}

// dM (16, K, P) = A dY Aᵀ per tile: the adjoint of output_transform (outputs past the edge of
// a partial tile, and the unused tiles, count as zero). `rows` holds 4 * tiles values.
template <typename T>
void output_transform_adjoint(const Tiling& s, const T* grad, int64_t b0, int64_t b1, T* rows,
                              T* dm) {
  int64_t p_count = (b1 - b0) * s.tiles, step = s.k * p_count, n = s.tiles;
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t kk = 0; kk < s.k; ++kk) {
      // dY's 2x2 block of every tile: rows 0 and 1, even and odd columns.
      T* g00 = rows;
      T* g01 = g00 + n;
      T* g10 = g01 + n;
      T* g11 = g10 + n;
      std::fill_n(rows, 4 * n, T(0));
      const T* plane = grad + (b * s.k + kk) * s.oh * s.ow;
      for (int64_t ty = 0; ty < s.th; ++ty)
        for (int64_t i = 0; i < 2 && 2 * ty + i < s.oh; ++i) {
          T* even = (i ? g10 : g00) + ty * s.row;
          T* odd = (i ? g11 : g01) + ty * s.row;
          const T* in = plane + (2 * ty + i) * s.ow;
          for (int64_t tx = 0; tx < s.ow / 2; ++tx) {
            even[tx] = in[2 * tx];
            odd[tx] = in[2 * tx + 1];
          }
          if (s.ow % 2) even[s.tw - 1] = in[s.ow - 1];
        }
      T* e = dm + kk * p_count + (b - b0) * s.tiles;
      // Row i of A dY is (a, c) with a from dY's first column and c from its second; then
      // (A dY) Aᵀ turns each (a, c) into (a, a + c, a - c, -c).
      auto emit = [&](int i, auto a_at, auto c_at) {
        T* o0 = e + (4 * i) * step;
        T* o1 = o0 + step;
        T* o2 = o1 + step;
        T* o3 = o2 + step;
        for (int64_t p = 0; p < n; ++p) {
          T a = a_at(p), c = c_at(p);
          o0[p] = a;
          o1[p] = a + c;
          o2[p] = a - c;
          o3[p] = -c;
        }
      };
      emit(0, [&](int64_t p) { return g00[p]; }, [&](int64_t p) { return g01[p]; });
      emit(1, [&](int64_t p) { return g00[p] + g10[p]; }, [&](int64_t p) { return g01[p] + g11[p]; });
      emit(2, [&](int64_t p) { return g00[p] - g10[p]; }, [&](int64_t p) { return g01[p] - g11[p]; });
      emit(3, [&](int64_t p) { return -g10[p]; }, [&](int64_t p) { return -g11[p]; });
    }
}

// y = x ⋆ weight (+ bias) for weights already transformed into u (16, K, C).
template <typename T>
void forward(const Tiling& s, const T* x, const T* u, const T* bias, T* y) {
  parallel_for_blas(0, s.chunks, 1, [&](int64_t lo, int64_t hi) {
    int64_t p_max = s.per_chunk * s.tiles;
    Tensor v = empty({16 * s.c * p_max}, dtype_of<T>()), m = empty({16 * s.k * p_max}, dtype_of<T>());
    Tensor padded = empty({s.pplane}, dtype_of<T>());
    Tensor rows = empty({4 * s.th * s.prow + 4}, dtype_of<T>());
    for (int64_t chunk = lo; chunk < hi; ++chunk) {
      int64_t b0 = chunk * s.per_chunk, b1 = std::min(s.n, b0 + s.per_chunk);
      int64_t p_count = (b1 - b0) * s.tiles;
      T* vp = v.data_ptr<T>();
      T* mp = m.data_ptr<T>();
      input_transform(s, x, b0, b1, padded.data_ptr<T>(), rows.data_ptr<T>(), vp);
      for (int64_t xi = 0; xi < 16; ++xi)  // M[ξ] (K x P) = U[ξ] (K x C) @ V[ξ] (C x P)
        gemm(false, false, s.k, p_count, s.c, u + xi * s.k * s.c, s.c, vp + xi * s.c * p_count,
             p_count, T(0), mp + xi * s.k * p_count, p_count);
      output_transform(s, mp, bias, b0, b1, rows.data_ptr<T>(), y);
    }
  });
}

Tiling tiling_of(const Tensor& x, int64_t out_channels, const Window& w) {
  return Tiling{.n = x.size(0), .c = x.size(1), .k = out_channels, .h = x.size(2), .w = x.size(3),
                .ph = w.ph, .pw = w.pw};
}

}  // namespace

bool winograd_fits(const Tensor& x, const Tensor& weight, const Window& w, int64_t groups) {
  if (groups != 1 || w.kh != 3 || w.kw != 3 || w.sh != 1 || w.sw != 1 || w.dh != 1 ||
      w.dw != 1 || w.ph > 2 || w.pw > 2 || x.size(1) < 8 || weight.size(0) < 8)
    return false;
  // The weight gradient keeps one (16, K, C) partial sum per chunk: at most 4M elements.
  Tiling s = tiling_of(x, weight.size(0), w);
  return s.oh >= 1 && s.ow >= 1 && s.chunks * 16 * s.k * s.c <= (int64_t{1} << 22);
}

Tensor winograd_conv2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in,
                       const Window& w) {
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

Tensor winograd_conv2d_input_grad(const Tensor& grad_in, const Tensor& weight_in, const Window& w,
                                  int64_t height, int64_t width) {
  Tensor grad = contiguous(grad_in), weight = contiguous(weight_in);
  int64_t k = weight.size(0), c = weight.size(1);
  // The input gradient's convolution: input grad (N, K, OH, OW), C output channels, padding 2 - p.
  Window back{.kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 2 - w.ph, .pw = 2 - w.pw};
  Tiling s = tiling_of(grad, c, back);
  Tensor dx = empty({s.n, c, height, width}, grad.dtype());
  if (dx.numel() == 0) return dx;
  visit_floating(grad.dtype(), "conv2d backward", [&]<typename T>() {
    // flipped[c, k, i, j] = weight[k, c, 2 - i, 2 - j]
    Tensor flipped = empty({c, k, 3, 3}, grad.dtype());
    const T* wp = weight.data_ptr<T>();
    T* fp = flipped.data_ptr<T>();
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t cc = 0; cc < c; ++cc)
        for (int64_t t = 0; t < 9; ++t) fp[(cc * k + kk) * 9 + t] = wp[(kk * c + cc) * 9 + 8 - t];
    Tensor u = empty({16, c, k}, grad.dtype());
    weight_transform(fp, c, k, u.data_ptr<T>());
    forward(s, grad.data_ptr<T>(), u.data_ptr<T>(), static_cast<const T*>(nullptr),
            dx.data_ptr<T>());
  });
  return dx;
}

Tensor winograd_conv2d_weight_grad(const Tensor& grad_in, const Tensor& x_in, const Window& w) {
  Tensor grad = contiguous(grad_in), x = contiguous(x_in);
  Tiling s = tiling_of(x, grad.size(1), w);
  if (s.n == 0) return zeros({s.k, s.c, 3, 3}, x.dtype());
  Tensor dweight = empty({s.k, s.c, 3, 3}, x.dtype());
  Tensor partial = empty({s.chunks, 16, s.k, s.c}, x.dtype());  // each chunk's dU
  visit_floating(x.dtype(), "conv2d backward", [&]<typename T>() {
    parallel_for_blas(0, s.chunks, 1, [&](int64_t lo, int64_t hi) {
      int64_t p_max = s.per_chunk * s.tiles;
      Tensor v = empty({16 * s.c * p_max}, x.dtype()), dm = empty({16 * s.k * p_max}, x.dtype());
      Tensor padded = empty({s.pplane}, x.dtype()), rows = empty({4 * s.th * s.prow + 4}, x.dtype());
      for (int64_t chunk = lo; chunk < hi; ++chunk) {
        int64_t b0 = chunk * s.per_chunk, b1 = std::min(s.n, b0 + s.per_chunk);
        int64_t p_count = (b1 - b0) * s.tiles;
        T* vp = v.data_ptr<T>();
        T* dmp = dm.data_ptr<T>();
        T* du = partial.data_ptr<T>() + chunk * 16 * s.k * s.c;
        input_transform(s, x.data_ptr<T>(), b0, b1, padded.data_ptr<T>(), rows.data_ptr<T>(), vp);
        output_transform_adjoint(s, grad.data_ptr<T>(), b0, b1, rows.data_ptr<T>(), dmp);
        for (int64_t xi = 0; xi < 16; ++xi)  // dU[ξ] (K x C) = dM[ξ] (K x P) @ V[ξ]ᵀ (P x C)
          gemm(false, true, s.k, s.c, p_count, dmp + xi * s.k * p_count, p_count,
               vp + xi * s.c * p_count, p_count, T(0), du + xi * s.k * s.c, s.c);
      }
    });
    // The chunks' dU, added in chunk order, then Gᵀ dU G.
    int64_t size = 16 * s.k * s.c;
    Tensor du = empty({size}, x.dtype());
    const T* pp = partial.data_ptr<T>();
    T* dup = du.data_ptr<T>();
    std::copy(pp, pp + size, dup);
    for (int64_t chunk = 1; chunk < s.chunks; ++chunk)
      for (int64_t i = 0; i < size; ++i) dup[i] += pp[chunk * size + i];
    weight_transform_adjoint(dup, s.k, s.c, dweight.data_ptr<T>());
  });
  return dweight;
}

}  // namespace ember::kernels

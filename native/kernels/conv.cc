// 2-D convolution (cross-correlation, as PyTorch) over NCHW float32: forward, input gradient,
// weight and bias gradients, with stride, zero padding, dilation and groups.
//
// Shapes: x [N, C, H, W], w [O, C/groups, KH, KW], bias [O], y [N, O, OH, OW] with
//   OH = (H + 2*PH - DH*(KH - 1) - 1) / SH + 1   (floor), likewise OW.
// Per image n and group g (Cg = C/groups input channels, Og = O/groups output channels,
// K = Cg*KH*KW patch length, P = OH*OW output positions):
//   col[K, P]   = im2col(x[n, g])            col[(c*KH + i)*KW + j, oh*OW + ow] =
//                                            x[n, g*Cg + c, oh*SH - PH + i*DH, ow*SW - PW + j*DW] (0 outside)
//   y[n, g]     = w_g[Og, K] * col[K, P] + bias
//   dcol[K, P]  = w_g^T[K, Og] * dy[n, g][Og, P];  dx[n, g] = col2im(dcol)
//   dw_g[Og, K] = sum_n dy[n, g][Og, P] * col[K, P]^T;  dbias[o] = sum_{n, p} dy[n, o, p]
// A 1x1 convolution with stride 1 and no padding has col == x, so it is a plain GEMM.
//
// Paths: on AVX2 / AVX-512 CPUs, layers with at most 24 output channels per group take the direct
// path (see "Direct" below: a micro-kernel reads the patches from the padded image, no im2col);
// the input gradient takes it only for stride 1 when that is not more work. Everything else runs
// im2col + sgemm, with small feature maps batched: a chunk of images side by side in one GEMM
// (see kChunkFloats).
// Threads: with at least as many images (chunks, parts) as threads, they run in parallel and each
// calls sgemm serially; otherwise they run one after another and sgemm threads itself.
// Determinism: every output element of y and dx is computed by one dot product (one GEMM dot
// product, or one FMA chain on the direct path) whose order depends on the shapes only, and the
// weight gradient sums a fixed partition of the batch into parts (chosen from the shapes, never
// from the thread count) in part order, so results are bitwise equal for any thread count as
// long as sgemm does not split its K dimension across threads (the Goto/BLIS scheme threads the
// M and N loops only).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "conv.h"

#include "common.h"
#include "dispatch.h"
#include "gemm.h"
#if NL_HAS_X86
#include <immintrin.h>
#endif

namespace nl {
namespace {

// Valid output range [lo, hi) along one axis for kernel tap offset `off` (= tap*D - pad):
// the positions o with 0 <= o*S + off < L.
NL_INLINE void valid_range(int64_t off, int64_t S, int64_t L, int64_t OL, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + S - 1) / S;
  hi = L - off <= 0 ? 0 : (L - off + S - 1) / S;
  lo = std::min(lo, OL);
  hi = std::max(lo, std::min(hi, OL));
}

// Copies n floats as 8-float blocks, the last block overlapping the previous one when n is not
// a multiple of 8, so a 10- or 28-float row of a small feature map costs 2 or 4 block copies
// instead of a block loop plus a scalar tail (a plain copy loop also becomes a memcpy call,
// whose set-up dominates such rows).
NL_INLINE void copy_block8(float* dst, const float* src) {
  float t[8];
  for (int l = 0; l < 8; ++l) t[l] = src[l];
  for (int l = 0; l < 8; ++l) dst[l] = t[l];
}
NL_INLINE void copy_row(float* dst, const float* src, int64_t n) {
  if (n < 8) {
    for (int64_t k = 0; k < n; ++k) dst[k] = src[k];
    return;
  }
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) copy_block8(dst + k, src + k);
  if (k < n) copy_block8(dst + n - 8, src + n - 8);
}

// im2col of channels [c0, c1) of one image-group block x (Cg planes of H*W) into col rows of
// row stride ld (P for one image; the batched path places image b of a chunk at col + b*P).
NL_INLINE void im2col_body(const ConvGeom* gp, const float* x, float* col, int64_t ld, int64_t c0, int64_t c1) {
  const ConvGeom& g = *gp;
  for (int64_t c = c0; c < c1; ++c) {
    const float* plane = x + c * g.H * g.W;
    for (int64_t i = 0; i < g.KH; ++i) {
      for (int64_t j = 0; j < g.KW; ++j) {
        float* row = col + ((c * g.KH + i) * g.KW + j) * ld;
        const int64_t offh = i * g.DH - g.PH, offw = j * g.DW - g.PW;
        int64_t oh0, oh1, ow0, ow1;
        valid_range(offh, g.SH, g.H, g.OH, oh0, oh1);
        valid_range(offw, g.SW, g.W, g.OW, ow0, ow1);
        std::fill(row, row + oh0 * g.OW, 0.f);
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          float* r = row + oh * g.OW;
          const float* src = plane + (oh * g.SH + offh) * g.W + offw;
          for (int64_t ow = 0; ow < ow0; ++ow) r[ow] = 0.f;
          if (g.SW == 1) {
            copy_row(r + ow0, src + ow0, ow1 - ow0);
          } else {
            for (int64_t ow = ow0; ow < ow1; ++ow) r[ow] = src[ow * g.SW];
          }
          for (int64_t ow = ow1; ow < g.OW; ++ow) r[ow] = 0.f;
        }
        std::fill(row + oh1 * g.OW, row + g.P, 0.f);
      }
    }
  }
}
NL_ISA_VARIANTS(im2col_run, (const ConvGeom* g, const float* x, float* col, int64_t ld, int64_t c0, int64_t c1),
                (g, x, col, ld, c0, c1), im2col_body)

// col2im of channels [c0, c1): dx (Cg planes of H*W, zeroed here) = sum of dcol rows (row
// stride ld) at their input positions. Each channel's planes are written by its own rows only.
NL_INLINE void col2im_body(const ConvGeom* gp, const float* col, float* dx, int64_t ld, int64_t c0, int64_t c1) {
  const ConvGeom& g = *gp;
  for (int64_t c = c0; c < c1; ++c) {
    float* plane = dx + c * g.H * g.W;
    std::fill(plane, plane + g.H * g.W, 0.f);
    for (int64_t i = 0; i < g.KH; ++i) {
      for (int64_t j = 0; j < g.KW; ++j) {
        const float* row = col + ((c * g.KH + i) * g.KW + j) * ld;
        const int64_t offh = i * g.DH - g.PH, offw = j * g.DW - g.PW;
        int64_t oh0, oh1, ow0, ow1;
        valid_range(offh, g.SH, g.H, g.OH, oh0, oh1);
        valid_range(offw, g.SW, g.W, g.OW, ow0, ow1);
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          const float* r = row + oh * g.OW;
          float* dst = plane + (oh * g.SH + offh) * g.W + offw;
          if (g.SW == 1) {
            for (int64_t ow = ow0; ow < ow1; ++ow) dst[ow] += r[ow];
          } else {
            for (int64_t ow = ow0; ow < ow1; ++ow) dst[ow * g.SW] += r[ow];
          }
        }
      }
    }
  }
}
NL_ISA_VARIANTS(col2im_run, (const ConvGeom* g, const float* col, float* dx, int64_t ld, int64_t c0, int64_t c1),
                (g, col, dx, ld, c0, c1), col2im_body)

// y[o, p] += bias[o] over an [rows, P] block.
NL_INLINE void add_bias_body(float* y, const float* bias, int64_t rows, int64_t P) {
  for (int64_t o = 0; o < rows; ++o) {
    const float b = bias[o];
    float* r = y + o * P;
    for (int64_t p = 0; p < P; ++p) r[p] += b;
  }
}
NL_ISA_VARIANTS(add_bias, (float* y, const float* bias, int64_t rows, int64_t P), (y, bias, rows, P), add_bias_body)

// dst[i] += src[i].
NL_INLINE void accumulate_body(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}
NL_ISA_VARIANTS(accumulate, (float* dst, const float* src, int64_t n), (dst, src, n), accumulate_body)

// Copies an [rows, P] block from rows of stride ld into rows of stride ldd, adding bias[o] to
// row o when bias is not null: the scatter of a chunk's GEMM output into y and the gather of dy.
NL_INLINE void copy_rows_body(const float* src, int64_t ld, float* dst, int64_t ldd, int64_t rows, int64_t P,
                              const float* bias) {
  for (int64_t o = 0; o < rows; ++o) {
    const float* s = src + o * ld;
    float* d = dst + o * ldd;
    if (bias == nullptr) {
      copy_row(d, s, P);
    } else {
      const float b = bias[o];
      for (int64_t p = 0; p < P; ++p) d[p] = s[p] + b;
    }
  }
}
NL_ISA_VARIANTS(copy_rows, (const float* src, int64_t ld, float* dst, int64_t ldd, int64_t rows, int64_t P, const float* bias),
                (src, ld, dst, ldd, rows, P, bias), copy_rows_body)

// Per-thread scratch, grown on demand and kept across calls: slot 0 holds im2col / col2im
// columns, slot 1 a chunk's [Og, B*P] output or gathered output gradient.
float* scratch(int slot, int64_t n) {
  thread_local std::vector<float> buf[2];
  std::vector<float>& v = buf[slot];
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

// Small feature maps: every image alone is a GEMM with few columns, where packing, edge tiles
// and per-call costs weigh more (sgemm 16 x 100 x 150 ran at 45 GFLOP/s, 16 x 6400 x 150 at 58,
// one Zen 3 core). Layers with <= 24 channels per group take the direct path instead.
// The batched path puts a chunk of B images side by side: col [K, B*P] with image b at columns
// [b*P, (b+1)*P), one GEMM per chunk and group, and the [Og, B*P] result scattered into y (dy
// gathered likewise for the backward passes). B is chosen so that the columns and the [Og, B*P]
// block hold at most kChunkFloats floats (256 KiB, half of a Zen 3 L2, so the col chunk written
// by im2col is still in L2 when the GEMM packs it).
constexpr int64_t kChunkFloats = 1 << 16;

// Images per chunk from the shapes only (the weight gradient's summation order depends on it).
int64_t images_per_chunk(const ConvGeom& g) {
  const int64_t per_image = std::max(g.K, g.Og) * g.P;
  return std::max<int64_t>(1, std::min(g.N, kChunkFloats / std::max<int64_t>(per_image, 1)));
}

// Images per chunk for y and dx, whose elements are single GEMM dot products over K whatever the
// chunking (sgemm blocks K by K alone), so here the chunk may also shrink to give every thread one.
int64_t images_per_chunk_threads(const ConvGeom& g) {
  const int64_t nt = num_threads();
  return std::max<int64_t>(1, std::min(images_per_chunk(g), (g.N + nt - 1) / nt));
}

// im2col of group gr of images [n0, n0 + nb) into col [K, nb*P], split over (image, channel)
// pairs when not already inside a parallel region (parallel_for runs serially there).
void im2col_chunk(const ConvGeom& g, const float* x, int64_t n0, int64_t nb, int64_t gr, float* col) {
  const int64_t ld = nb * g.P;
  parallel_for(nb * g.Cg, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1;) {
      const int64_t b = i / g.Cg, c0 = i % g.Cg, c1 = std::min(g.Cg, c0 + (i1 - i));
      im2col_run(&g, x + ((n0 + b) * g.C + gr * g.Cg) * g.H * g.W, col + b * g.P, ld, c0, c1);
      i += c1 - c0;
    }
  });
}

// dx of group gr of images [n0, n0 + nb) = col2im of dcol [K, nb*P].
void col2im_chunk(const ConvGeom& g, const float* dcol, int64_t n0, int64_t nb, int64_t gr, float* dx) {
  const int64_t ld = nb * g.P;
  parallel_for(nb * g.Cg, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1;) {
      const int64_t b = i / g.Cg, c0 = i % g.Cg, c1 = std::min(g.Cg, c0 + (i1 - i));
      col2im_run(&g, dcol + b * g.P, dx + ((n0 + b) * g.C + gr * g.Cg) * g.H * g.W, ld, c0, c1);
      i += c1 - c0;
    }
  });
}

// dy of group gr of images [n0, n0 + nb) gathered into [Og, nb*P].
void gather_dy(const ConvGeom& g, const float* dy, int64_t n0, int64_t nb, int64_t gr, float* dst) {
  for (int64_t b = 0; b < nb; ++b)
    copy_rows(dy + ((n0 + b) * g.O + gr * g.Og) * g.P, g.P, dst + b * g.P, nb * g.P, g.Og, g.P, nullptr);
}

// Runs fn(begin, end) over [0, n) work items (images, chunks or weight-gradient parts): in
// parallel with serial GEMMs inside when there are at least as many items as threads, else
// serially with threaded GEMMs. Threads take items one at a time from a counter rather than a
// fixed half each: on a loaded machine a thread that gets its core late leaves its items to the
// others instead of stalling the call. Items write disjoint outputs (or their own partial sums),
// so which thread runs one does not change the result.
void over_items(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  const int nt = num_threads();
  if (n >= nt && nt > 1) {
    std::atomic<int64_t> next{0};
    parallel_run(nt, [&](int, int) {
      for (int64_t i; (i = next.fetch_add(1)) < n;) fn(i, i + 1);
    });
  } else {
    fn(0, n);
  }
}

// The column matrix (K x nb*P) of images [n0, n0 + nb) in group gr: x itself for one image of
// a 1x1 convolution (its columns are x's rows), else an im2col copy in scratch slot 0.
const float* col_operand(const ConvGeom& g, const float* x, int64_t n0, int64_t nb, int64_t gr) {
  if (nb == 1 && g.pointwise()) return x + (n0 * g.C + gr * g.Cg) * g.H * g.W;
  float* buf = scratch(0, g.K * nb * g.P);
  im2col_chunk(g, x, n0, nb, gr, buf);
  return buf;
}

// dy of images [n0, n0 + nb) in group gr as one Og x nb*P matrix: dy itself for one image, else
// the images' rows gathered side by side in scratch slot 1.
const float* dy_operand(const ConvGeom& g, const float* dy, int64_t n0, int64_t nb, int64_t gr) {
  if (nb == 1) return dy + (n0 * g.O + gr * g.Og) * g.P;
  float* buf = scratch(1, g.Og * nb * g.P);
  gather_dy(g, dy, n0, nb, gr, buf);
  return buf;
}

// fn(n0, nb, gr) for every group of every chunk of images_per_chunk_threads(g) images, the
// chunks spread over the threads (over_items).
template <class F>
void over_chunk_groups(const ConvGeom& g, F fn) {
  const int64_t B = images_per_chunk_threads(g);
  over_items((g.N + B - 1) / B, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t gr = 0; gr < g.G; ++gr) fn(c * B, std::min(B, g.N - c * B), gr);
  });
}

// ---------------------------------------------------------------------------------------------
// Direct ("indirect GEMM") path for layers with few output channels, on AVX2 and AVX-512 CPUs.
//
// With xp an image group zero-padded to [Cg, Hp, Wp] (Hp = H + 2*PH, Wp = W + 2*PW), the im2col
// matrix is col[k, p] = xp[tapoff[k] + posoff[p]] with tapoff[(c*KH + i)*KW + j] =
// c*Hp*Wp + i*DH*Wp + j*DW and posoff[oh*OW + ow] = oh*SH*Wp + ow*SW. One micro-kernel reads
// those elements straight from xp (a few KiB, L1-resident), so neither col nor GEMM packing is
// written: at LeNet-5 / MNIST sizes im2col and B packing cost as much as the multiply-adds.
//   forward:         y^T[p, o]  = sum_k   col[k, p] * w^T[k, o]     (tile: positions x channels)
//   weight gradient: dw^T[k, o] = sum_n,p col[k, p] * dy^T[p, o]    (tile: taps x channels)
//   input gradient (stride 1): a forward convolution of dy, zero-padded by DH*(KH-1) - PH rows
//     and DW*(KW-1) - PW columns, with weights w2[c, o, i, j] = w[o, c, KH-1-i, KW-1-j] and
//     dilation (DH, DW), giving dx[c, h, w].
// Channels are the vector dimension (8 floats, up to 3 vectors: at most 24 channels per group);
// each accumulator element is one FMA chain in a fixed order (k for y and dx; images of a part,
// then positions, for dw), so results do not depend on the thread count.

// tile[a, 0:8*NV] (+)= sum_{r < R} base[aoff[a] + roff[r]] * Bm[r, 0:8*NV] for a < NA; tile rows
// are ldt apart, Bm rows ldb apart. The Contig variant requires aoff[a] = aoff[0] + a (a run of
// positions along an output row with stride 1) and addresses the broadcasts from one pointer;
// the general one keeps NA pointers, which no longer fit the 16 general registers beyond
// NA = 8 (the spilled ones cost a reload per broadcast).
using IndKernel = void (*)(int64_t R, const float* base, const int64_t* aoff, const int64_t* roff, const float* Bm,
                           int64_t ldb, float* tile, int64_t ldt, bool accumulate);

#if NL_HAS_X86
template <int NA, int NV, bool Contig>
NL_TARGET_AVX2 void ind_kernel(int64_t R, const float* base, const int64_t* aoff, const int64_t* roff,
                               const float* Bm, int64_t ldb, float* tile, int64_t ldt, bool accumulate) {
  // The constant-trip loops are unrolled explicitly: otherwise GCC keeps c[][] on the stack and
  // stores every accumulator on each r step.
  __m256 c[NA][NV];
  const float* pa[NA];
#pragma GCC unroll 12
  for (int a = 0; a < NA; ++a) {
    pa[a] = base + aoff[Contig ? 0 : a];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) c[a][v] = accumulate ? _mm256_loadu_ps(tile + a * ldt + 8 * v) : _mm256_setzero_ps();
  }
  for (int64_t r = 0; r < R; ++r) {
    const float* br = Bm + r * ldb;
    __m256 b[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) b[v] = _mm256_loadu_ps(br + 8 * v);
    const int64_t o = roff[r];
#pragma GCC unroll 12
    for (int a = 0; a < NA; ++a) {
      const __m256 av = _mm256_broadcast_ss(Contig ? pa[0] + o + a : pa[a] + o);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) c[a][v] = _mm256_fmadd_ps(av, b[v], c[a][v]);
    }
  }
#pragma GCC unroll 12
  for (int a = 0; a < NA; ++a)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(tile + a * ldt + 8 * v, c[a][v]);
}

// Rows per tile for NV channel vectors: 12 accumulators (+ NV for Bm + 1 broadcast <= 16 ymm),
// at most 8 rows for the general variant (see above).
constexpr int tile_rows(int nv, bool contig) { return contig ? 12 / nv : std::min(8, 12 / nv); }

template <int NV, bool Contig, size_t... I>
const IndKernel* kernel_table(std::index_sequence<I...>) {
  static const IndKernel table[] = {&ind_kernel<static_cast<int>(I) + 1, NV, Contig>...};
  return table;
}

// The kernel for na rows (1 <= na <= tile_rows(nv, contig)) and nv vectors (1..3).
IndKernel ind_kernel_for(int64_t na, int64_t nv, bool contig) {
  static const IndKernel* t[2][3] = {
      {kernel_table<1, false>(std::make_index_sequence<tile_rows(1, false)>()),
       kernel_table<2, false>(std::make_index_sequence<tile_rows(2, false)>()),
       kernel_table<3, false>(std::make_index_sequence<tile_rows(3, false)>())},
      {kernel_table<1, true>(std::make_index_sequence<tile_rows(1, true)>()),
       kernel_table<2, true>(std::make_index_sequence<tile_rows(2, true)>()),
       kernel_table<3, true>(std::make_index_sequence<tile_rows(3, true)>())}};
  return t[contig ? 1 : 0][nv - 1][na - 1];
}

// The row variant for stride 1 (LeNet-5 / MNIST first layers, 6 or 10 channels on rows of 28 or
// 24 outputs, where the kernel above would fill 6 of 8 or 10 of 16 lanes and its tile scatter
// cost a third of the multiply-adds at K = 25): positions are the vector dimension and output channels the
// broadcast one, so accumulators are stored straight into output rows.
//   out[m*P + q] = sum_{r < K} in[tapoff[r] + q] * wT[r*ld + m] (+ bias[m])
// for m < MR channels and q < 8*NVP positions, of which the first nq are stored. Reads up to 7
// floats past the last valid position of a row (callers give `in` that much slack).
using RowKernel = void (*)(int64_t K, const float* in, const int64_t* tapoff, const float* wT, int64_t ld,
                           const float* bias, float* out, int64_t P, int64_t nq);

template <int MR, int NVP>
NL_TARGET_AVX2 void row_kernel(int64_t K, const float* in, const int64_t* tapoff, const float* wT, int64_t ld,
                               const float* bias, float* out, int64_t P, int64_t nq) {
  __m256 c[MR][NVP];
#pragma GCC unroll 12
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
    for (int v = 0; v < NVP; ++v) c[m][v] = _mm256_setzero_ps();
  // Of the MR weight broadcasts and NVP input vectors of a step, the smaller set is held in
  // registers: 12 accumulators + min(MR, NVP) + 1 fit the 16 ymm registers (holding both sets
  // for MR = 3, NVP = 4 spilled an accumulator to the stack on every step).
  for (int64_t r = 0; r < K; ++r) {
    const float* xr = in + tapoff[r];
    const float* wr = wT + r * ld;
    if constexpr (MR < NVP) {
      __m256 wb[MR];
#pragma GCC unroll 12
      for (int m = 0; m < MR; ++m) wb[m] = _mm256_broadcast_ss(wr + m);
#pragma GCC unroll 4
      for (int v = 0; v < NVP; ++v) {
        const __m256 xv = _mm256_loadu_ps(xr + 8 * v);
#pragma GCC unroll 12
        for (int m = 0; m < MR; ++m) c[m][v] = _mm256_fmadd_ps(wb[m], xv, c[m][v]);
      }
    } else {
      __m256 xv[NVP];
#pragma GCC unroll 4
      for (int v = 0; v < NVP; ++v) xv[v] = _mm256_loadu_ps(xr + 8 * v);
#pragma GCC unroll 12
      for (int m = 0; m < MR; ++m) {
        const __m256 wb = _mm256_broadcast_ss(wr + m);
#pragma GCC unroll 4
        for (int v = 0; v < NVP; ++v) c[m][v] = _mm256_fmadd_ps(wb, xv[v], c[m][v]);
      }
    }
  }
#pragma GCC unroll 12
  for (int m = 0; m < MR; ++m) {
    const __m256 b = _mm256_set1_ps(bias == nullptr ? 0.f : bias[m]);
    float* dst = out + m * P;
#pragma GCC unroll 4
    for (int v = 0; v < NVP; ++v) {
      const __m256 val = _mm256_add_ps(c[m][v], b);
      if (8 * (v + 1) <= nq) {
        _mm256_storeu_ps(dst + 8 * v, val);
      } else if (8 * v < nq) {
        alignas(32) float t[8];
        _mm256_store_ps(t, val);
        for (int64_t q = 8 * v; q < nq; ++q) dst[q] = t[q - 8 * v];
      }
    }
  }
}

template <int NVP, size_t... I>
const RowKernel* row_kernel_table(std::index_sequence<I...>) {
  static const RowKernel table[] = {&row_kernel<static_cast<int>(I) + 1, NVP>...};
  return table;
}

// The row kernel for mr channels (1 <= mr <= 12 / nvp) and nvp position vectors (1..4).
RowKernel row_kernel_for(int64_t mr, int64_t nvp) {
  static const RowKernel* t[4] = {row_kernel_table<1>(std::make_index_sequence<12>()),
                                  row_kernel_table<2>(std::make_index_sequence<6>()),
                                  row_kernel_table<3>(std::make_index_sequence<4>()),
                                  row_kernel_table<4>(std::make_index_sequence<3>())};
  return t[nvp - 1][mr - 1];
}
#endif

constexpr int64_t kDirectMaxChannels = 24;

// Direct forward / weight gradient: a SIMD CPU and at most 24 output channels per group.
bool direct_ok(const ConvGeom& g) {
#if NL_HAS_X86
  return active_isa() != Isa::Scalar && g.Og <= kDirectMaxChannels && g.N > 0;
#else
  (void)g;
  return false;
#endif
}

// Direct input gradient: stride 1, padding within the dilated kernel extent (so the padding of
// dy is >= 0), at most 24 input channels per group, and less work than the GEMM path. The
// transposed convolution runs over all H*W inputs, in vector lanes of H * min(ceil8(W) * Cg,
// W * ceil8(Cg)) (row or tile kernel) per tap; the GEMM path covers the P outputs with Cg exact
// but takes about 2.5x as long per multiply-add (im2col-sized dcol written and read back by
// col2im, packing; measured at LeNet-5 / MNIST sizes). So LeNet-5's 14x14 -> 10x10 (6 channels)
// goes direct (770 vs 950 us at batch 64), MNIST's 12x12 -> 8x8 (10 channels) does not (1430 vs
// 1030 us).
bool direct_input_ok(const ConvGeom& g) {
  if (!(direct_ok(g) && g.SH == 1 && g.SW == 1 && g.PH <= g.DH * (g.KH - 1) && g.PW <= g.DW * (g.KW - 1) &&
        g.Cg <= kDirectMaxChannels))
    return false;
  const int64_t lanes = g.H * std::min((g.W + 7) / 8 * 8 * g.Cg, g.W * ((g.Cg + 7) / 8 * 8));
  return 2 * lanes <= 5 * g.P * g.Cg;
}

// One direct convolution problem: `in` planes [Ci, Hp, Wp] (already padded) to `out` channels
// [Oc, OH, OW] with K = Ci*KH*KW taps; wT [G][K][8*NV] holds the weights transposed, zero beyond Oc.
struct Direct {
  int64_t Ci, Hp, Wp, Oc, K, OH, OW, SW, P, NV;
  std::vector<int64_t> tapoff, posoff;
  std::vector<float> wT;

  Direct(int64_t ci, int64_t hp, int64_t wp, int64_t oc, int64_t kh, int64_t kw, int64_t dh, int64_t dw, int64_t oh,
         int64_t ow, int64_t sh, int64_t sw, int64_t groups)
      : Ci(ci), Hp(hp), Wp(wp), Oc(oc), K(ci * kh * kw), OH(oh), OW(ow), SW(sw), P(oh * ow), NV((oc + 7) / 8) {
    tapoff.resize(static_cast<size_t>(K));
    for (int64_t c = 0; c < ci; ++c)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) tapoff[static_cast<size_t>((c * kh + i) * kw + j)] = c * hp * wp + i * dh * wp + j * dw;
    posoff.resize(static_cast<size_t>(P));
    for (int64_t a = 0; a < oh; ++a)
      for (int64_t b = 0; b < ow; ++b) posoff[static_cast<size_t>(a * ow + b)] = a * sh * wp + b * sw;
    wT.assign(static_cast<size_t>(groups * K * 8 * NV), 0.f);
  }
  int64_t ld() const { return 8 * NV; }
  // The row kernel (stride 1 only) when its vector lanes are at least as well used as those of
  // the tile kernel: OW of 8 * ceil(OW / 8) position lanes against Oc of 8 * NV channel lanes
  // (the row kernel also skips the tile scatter). It needs kInputSlack floats of readable input
  // after the Ci planes.
  bool rows_mode() const { return SW == 1 && OW * 8 * NV >= Oc * 8 * ((OW + 7) / 8); }
  static constexpr int64_t kInputSlack = 8;
  float* wT_group(int64_t gr) { return wT.data() + gr * K * ld(); }
  const float* wT_group(int64_t gr) const { return wT.data() + gr * K * ld(); }

#if NL_HAS_X86
  // out[o, p] = sum_k in[tapoff[k] + posoff[p]] * wT[k, o] (+ bias[o]) for o < Oc, p < P. Tiles
  // are runs along one output row (contiguous input for stride 1), each row cut into equal runs.
  void forward(const float* in, const float* wTg, const float* bias, float* out) const {
    if (rows_mode()) {
      forward_rows(in, wTg, bias, out);
      return;
    }
    const bool contig = SW == 1;
    const int64_t rows = tile_rows(static_cast<int>(NV), contig);
    const int64_t runs = (OW + rows - 1) / rows;
    alignas(32) float tile[12 * 8];
    for (int64_t oh = 0; oh < OH; ++oh) {
      for (int64_t t = 0; t < runs; ++t) {
        const int64_t ow0 = OW * t / runs, na = OW * (t + 1) / runs - ow0, p0 = oh * OW + ow0;
        ind_kernel_for(na, NV, contig)(K, in, posoff.data() + p0, tapoff.data(), wTg, ld(), tile, ld(), false);
        for (int64_t o = 0; o < Oc; ++o) {
          const float b = bias == nullptr ? 0.f : bias[o];
          float* dst = out + o * P + p0;
          for (int64_t a = 0; a < na; ++a) dst[a] = tile[a * ld() + o] + b;
        }
      }
    }
  }

  // forward() by the row kernel: each output row in pieces of up to 32 positions, the channels
  // in equal blocks of at most 12 / (position vectors) rows.
  void forward_rows(const float* in, const float* wTg, const float* bias, float* out) const {
    for (int64_t oh = 0; oh < OH; ++oh) {
      for (int64_t ow0 = 0; ow0 < OW; ow0 += 32) {
        const int64_t nq = std::min<int64_t>(32, OW - ow0), nvp = (nq + 7) / 8, mr_max = 12 / nvp;
        const int64_t blocks = (Oc + mr_max - 1) / mr_max;
        for (int64_t bl = 0; bl < blocks; ++bl) {
          const int64_t o0 = Oc * bl / blocks, mr = Oc * (bl + 1) / blocks - o0;
          row_kernel_for(mr, nvp)(K, in + posoff[static_cast<size_t>(oh * OW + ow0)], tapoff.data(), wTg + o0, ld(),
                                  bias == nullptr ? nullptr : bias + o0, out + o0 * P + oh * OW + ow0, P, nq);
        }
      }
    }
  }
#endif
};

// Copies planes [C, H, W] into the middle of zeroed planes [C, Hp, Wp] (top rows and left
// columns of padding), followed by Direct::kInputSlack zeros.
void pad_planes(const float* src, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t Hp, int64_t Wp,
                float* dst) {
  std::fill(dst, dst + C * Hp * Wp + Direct::kInputSlack, 0.f);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t h = 0; h < H; ++h) std::memcpy(dst + (c * Hp + top + h) * Wp + left, src + (c * H + h) * W, W * sizeof(float));
}

void conv_forward_direct(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
#if NL_HAS_X86
  const int64_t Hp = g.H + 2 * g.PH, Wp = g.W + 2 * g.PW;
  Direct d(g.Cg, Hp, Wp, g.Og, g.KH, g.KW, g.DH, g.DW, g.OH, g.OW, g.SH, g.SW, g.G);
  for (int64_t gr = 0; gr < g.G; ++gr)
    for (int64_t o = 0; o < g.Og; ++o)
      for (int64_t k = 0; k < g.K; ++k) d.wT_group(gr)[k * d.ld() + o] = w[(gr * g.Og + o) * g.K + k];
  // The row kernel reads past the planes, so it always takes a copy.
  const bool padded = g.PH > 0 || g.PW > 0 || d.rows_mode();
  over_items(g.N, [&](int64_t n0, int64_t n1) {
    float* xp = padded ? scratch(0, g.Cg * Hp * Wp + Direct::kInputSlack) : nullptr;
    for (int64_t n = n0; n < n1; ++n) {
      for (int64_t gr = 0; gr < g.G; ++gr) {
        const float* xg = x + (n * g.C + gr * g.Cg) * g.H * g.W;
        if (padded) pad_planes(xg, g.Cg, g.H, g.W, g.PH, g.PW, Hp, Wp, xp);
        d.forward(padded ? xp : xg, d.wT_group(gr), bias == nullptr ? nullptr : bias + gr * g.Og,
                  y + (n * g.O + gr * g.Og) * g.P);
      }
    }
  });
#else
  (void)g, (void)x, (void)w, (void)bias, (void)y;
#endif
}

void conv_backward_input_direct(const ConvGeom& g, const float* dy, const float* w, float* dx) {
#if NL_HAS_X86
  const int64_t QH = g.DH * (g.KH - 1) - g.PH, QW = g.DW * (g.KW - 1) - g.PW;
  const int64_t Hp = g.H + g.DH * (g.KH - 1), Wp = g.W + g.DW * (g.KW - 1);
  Direct d(g.Og, Hp, Wp, g.Cg, g.KH, g.KW, g.DH, g.DW, g.H, g.W, 1, 1, g.G);
  for (int64_t gr = 0; gr < g.G; ++gr)
    for (int64_t o = 0; o < g.Og; ++o)
      for (int64_t c = 0; c < g.Cg; ++c)
        for (int64_t i = 0; i < g.KH; ++i)
          for (int64_t j = 0; j < g.KW; ++j)
            d.wT_group(gr)[((o * g.KH + i) * g.KW + j) * d.ld() + c] =
                w[(((gr * g.Og + o) * g.Cg + c) * g.KH + (g.KH - 1 - i)) * g.KW + (g.KW - 1 - j)];
  over_items(g.N, [&](int64_t n0, int64_t n1) {
    float* dyp = scratch(0, g.Og * Hp * Wp + Direct::kInputSlack);
    for (int64_t n = n0; n < n1; ++n) {
      for (int64_t gr = 0; gr < g.G; ++gr) {
        pad_planes(dy + (n * g.O + gr * g.Og) * g.P, g.Og, g.OH, g.OW, QH, QW, Hp, Wp, dyp);
        d.forward(dyp, d.wT_group(gr), nullptr, dx + (n * g.C + gr * g.Cg) * g.H * g.W);
      }
    }
  });
#else
  (void)g, (void)dy, (void)w, (void)dx;
#endif
}

// dw as in conv_backward_weight (parts fixed by the shapes, summed in part order), each part's
// sum over its images and positions taken by the direct kernel into dw^T [G][K][8*NV].
void conv_backward_weight_direct(const ConvGeom& g, const float* x, const float* dy, float* dw, int64_t parts,
                                 float* partials) {
#if NL_HAS_X86
  const int64_t Hp = g.H + 2 * g.PH, Wp = g.W + 2 * g.PW;
  const Direct d(g.Cg, Hp, Wp, g.Og, g.KH, g.KW, g.DH, g.DW, g.OH, g.OW, g.SH, g.SW, 0);
  const int64_t ld = d.ld(), rows = tile_rows(static_cast<int>(d.NV), false);
  const bool padded = g.PH > 0 || g.PW > 0;
  over_items(parts, [&](int64_t q0, int64_t q1) {
    float* xp = padded ? scratch(0, g.Cg * Hp * Wp + Direct::kInputSlack) : nullptr;
    float* bufs = scratch(1, g.P * ld + g.G * g.K * ld);
    float* dyT = bufs;             // [P][ld], channels beyond Og zero
    float* dwT = bufs + g.P * ld;  // [G][K][ld]
    for (int64_t q = q0; q < q1; ++q) {
      float* acc = q == 0 ? dw : partials + (q - 1) * g.w_size();
      const int64_t first = g.N * q / parts, last = g.N * (q + 1) / parts;
      std::fill(dyT, dyT + g.P * ld, 0.f);
      for (int64_t n = first; n < last; ++n) {
        for (int64_t gr = 0; gr < g.G; ++gr) {
          const float* xg = x + (n * g.C + gr * g.Cg) * g.H * g.W;
          if (padded) pad_planes(xg, g.Cg, g.H, g.W, g.PH, g.PW, Hp, Wp, xp);
          const float* dyg = dy + (n * g.O + gr * g.Og) * g.P;
          for (int64_t o = 0; o < g.Og; ++o)
            for (int64_t p = 0; p < g.P; ++p) dyT[p * ld + o] = dyg[o * g.P + p];
          float* dwTg = dwT + gr * g.K * ld;
          for (int64_t k0 = 0; k0 < g.K; k0 += rows)
            ind_kernel_for(std::min(rows, g.K - k0), d.NV, false)(g.P, padded ? xp : xg, d.tapoff.data() + k0, d.posoff.data(),
                                                           dyT, ld, dwTg + k0 * ld, ld, n > first);
        }
      }
      for (int64_t gr = 0; gr < g.G; ++gr)
        for (int64_t o = 0; o < g.Og; ++o)
          for (int64_t k = 0; k < g.K; ++k) acc[(gr * g.Og + o) * g.K + k] = dwT[(gr * g.K + k) * ld + o];
    }
  });
#else
  (void)g, (void)x, (void)dy, (void)dw, (void)parts, (void)partials;
#endif
}

void conv_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
  if (direct_ok(g)) {
    conv_forward_direct(g, x, w, bias, y);
    return;
  }
  over_chunk_groups(g, [&](int64_t n0, int64_t nb, int64_t gr) {
    const int64_t ld = nb * g.P;
    const float* wg = w + gr * g.Og * g.K;
    const float* bg = bias == nullptr ? nullptr : bias + gr * g.Og;
    const float* col = col_operand(g, x, n0, nb, gr);
    if (nb == 1) {
      float* yg = y + (n0 * g.O + gr * g.Og) * g.P;
      sgemm(false, false, g.Og, g.P, g.K, 1.f, wg, g.K, col, g.P, 0.f, yg, g.P);
      if (bg != nullptr) add_bias(yg, bg, g.Og, g.P);
    } else {
      float* out = scratch(1, g.Og * ld);
      sgemm(false, false, g.Og, ld, g.K, 1.f, wg, g.K, col, ld, 0.f, out, ld);
      for (int64_t b = 0; b < nb; ++b)
        copy_rows(out + b * g.P, ld, y + ((n0 + b) * g.O + gr * g.Og) * g.P, g.P, g.Og, g.P, bg);
    }
  });
}

void conv_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  if (direct_input_ok(g)) {
    conv_backward_input_direct(g, dy, w, dx);
    return;
  }
  over_chunk_groups(g, [&](int64_t n0, int64_t nb, int64_t gr) {
    const int64_t ld = nb * g.P;
    const float* wg = w + gr * g.Og * g.K;
    const float* dyc = dy_operand(g, dy, n0, nb, gr);
    if (nb == 1 && g.pointwise()) {
      float* dxg = dx + (n0 * g.C + gr * g.Cg) * g.H * g.W;
      sgemm(true, false, g.K, g.P, g.Og, 1.f, wg, g.K, dyc, g.P, 0.f, dxg, g.P);
    } else {
      float* dcol = scratch(0, g.K * ld);
      sgemm(true, false, g.K, ld, g.Og, 1.f, wg, g.K, dyc, ld, 0.f, dcol, ld);
      col2im_chunk(g, dcol, n0, nb, gr, dx);
    }
  });
}

// Number of batch parts for the weight gradient: a function of the shapes only. At most 8
// (enough to balance 2-8 threads) and at most 8M floats of per-part partial gradients.
int64_t wgrad_parts(const ConvGeom& g) {
  const int64_t by_memory = std::max<int64_t>(1, (int64_t{8} << 20) / std::max<int64_t>(g.w_size(), 1));
  return std::max<int64_t>(1, std::min({g.N, int64_t{8}, by_memory}));
}

// The weight gradient's parts through im2col and sgemm.
void conv_backward_weight_gemm(const ConvGeom& g, const float* x, const float* dy, float* dw, int64_t parts, int64_t B,
                               float* partials) {
  const int64_t wsize = g.w_size();
  over_items(parts, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      float* acc = q == 0 ? dw : partials + (q - 1) * wsize;
      const int64_t first = g.N * q / parts, last = g.N * (q + 1) / parts;
      for (int64_t n0 = first; n0 < last; n0 += B) {
        const int64_t nb = std::min(B, last - n0), ld = nb * g.P;
        for (int64_t gr = 0; gr < g.G; ++gr) {
          const float* dyc = dy_operand(g, dy, n0, nb, gr);
          const float* col = col_operand(g, x, n0, nb, gr);
          sgemm(false, true, g.Og, g.K, ld, 1.f, dyc, ld, col, ld, n0 == first ? 0.f : 1.f, acc + gr * g.Og * g.K, g.K);
        }
      }
    }
  });
}

// dw = sum over parts (in part order) of the part's sum over its chunks of images_per_chunk
// images (in chunk order), each chunk one GEMM over its nb*P columns.
void conv_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t wsize = g.w_size();
  if (g.N == 0) {
    std::fill(dw, dw + wsize, 0.f);
    return;
  }
  const int64_t parts = wgrad_parts(g), B = images_per_chunk(g);
  // Part 0 accumulates straight into dw, part q > 0 into partial[(q - 1) * wsize].
  thread_local std::vector<float> partial;
  if (static_cast<int64_t>(partial.size()) < (parts - 1) * wsize) partial.resize(static_cast<size_t>((parts - 1) * wsize));
  float* partials = partial.data();
  if (direct_ok(g)) {
    conv_backward_weight_direct(g, x, dy, dw, parts, partials);
  } else {
    conv_backward_weight_gemm(g, x, dy, dw, parts, B, partials);
  }
  if (parts > 1) {
    parallel_for(wsize, 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t q = 1; q < parts; ++q) accumulate(dw + b, partials + (q - 1) * wsize + b, e - b);
    });
  }
}

// Sum of the P floats at r in double, as 8 interleaved partial sums (lane l takes p = l mod 8)
// added in lane order, so the loop vectorises; the order is fixed, so results are deterministic.
NL_INLINE void row_sum_body(const float* r, int64_t P, double* out) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t p = 0;
  for (; p + 8 <= P; p += 8)
    for (int l = 0; l < 8; ++l) acc[l] += static_cast<double>(r[p + l]);
  for (int l = 0; p + l < P; ++l) acc[l] += static_cast<double>(r[p + l]);
  double s = 0.0;
  for (int l = 0; l < 8; ++l) s += acc[l];
  *out = s;
}
NL_ISA_VARIANTS(row_sum, (const float* r, int64_t P, double* out), (r, P, out), row_sum_body)

// dbias[o] = sum over n, p of dy[n, o, p], in double: per image the row sum above, images in order.
void conv_backward_bias(const ConvGeom& g, const float* dy, float* db) {
  parallel_for(g.O, std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(g.N * g.P, 1)), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      double s = 0.0;
      for (int64_t n = 0; n < g.N; ++n) {
        double r;
        row_sum(dy + (n * g.O + o) * g.P, g.P, &r);
        s += r;
      }
      db[o] = static_cast<float>(s);
    }
  });
}

}  // namespace

void conv2d_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
  conv_forward(g, x, w, bias, y);
}

void conv2d_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  conv_backward_input(g, dy, w, dx);
}

void conv2d_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw, float* db) {
  if (dw != nullptr) conv_backward_weight(g, x, dy, dw);
  if (db != nullptr) conv_backward_bias(g, dy, db);
}

}  // namespace nl

// 2-D pooling over NCHW float32 planes, with PyTorch's semantics (ceil_mode false):
//   max pool:  OH = (H + 2*PH - KH) / SH + 1; padding counts as -inf; the saved index of each
//              output is the flat position ih*W + iw of its maximum inside the input plane (the
//              first maximum in row-major window order; a NaN propagates, and the index is then
//              the last NaN's, as in PyTorch's CPU kernel).
//   avg pool:  same windows; padding counts as zeros and is included in the divisor
//              (count_include_pad true), so every window divides by KH*KW.
//   adaptive:  output bin i along an axis of length L with OL bins covers
//              [floor(i*L/OL), ceil((i+1)*L/OL)) and divides by its own size.
// Planes are independent: every kernel splits the N*C planes over threads, so results do not
// depend on the thread count. Callers guarantee padding <= kernel/2 (checked here too), which
// keeps at least one input element in every max-pool window.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "pool.h"

#include "common.h"
#include "dispatch.h"
#include "reduce.h"
#if NL_HAS_X86
#include <immintrin.h>
#endif

namespace nl {

// Output length along one axis (PyTorch's pooling_output_shape): with ceil mode the last
// window may hang over the end, but it must start inside the input or its left padding.
int64_t pool_out_len(int64_t L, int64_t K, int64_t S, int64_t P, int64_t D, bool ceil_mode) {
  const int64_t span = D * (K - 1) + 1, num = L + 2 * P - span;
  int64_t out = (ceil_mode ? (num + S - 1) / S : num / S) + 1;
  if (ceil_mode && (out - 1) * S >= L + P) --out;
  return out;
}

namespace {

// Planes per thread chunk: at least ~16K input and output elements (~5-10 us of work), so a
// pool over a few small planes runs on the caller instead of paying the pool's fork and join.
inline int64_t plane_grain(int64_t in_plane, int64_t out_plane) {
  return std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(in_plane + out_plane, 1));
}

// The fast path also needs every window whole: ceil mode can add a last window past the edge.
NL_INLINE bool is_2x2(const PoolGeom& g) {
  return g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PH == 0 && g.PW == 0 && g.DH == 1 && g.DW == 1 &&
         2 * g.OH <= g.H && 2 * g.OW <= g.W;
}

// The common 2x2 / stride 2 / no padding case, by the same rule as the general loop (scan order,
// first maximum wins, a NaN replaces the current one). One output of that case: the window at column c of rows r0, r1 (r1 = r0 + W); base is the flat
// index of r0[0] in the plane.
NL_INLINE void max_2x2_one(const float* r0, const float* r1, int32_t base, int32_t W, int32_t c, float* out,
                           int32_t* ind) {
  float m = r0[c];
  int32_t i = base + c;
  const float b = r0[c + 1], d0 = r1[c], d1 = r1[c + 1];
  bool t = (b > m) | (b != b);
  m = t ? b : m;
  i = t ? base + c + 1 : i;
  t = (d0 > m) | (d0 != d0);
  m = t ? d0 : m;
  i = t ? base + W + c : i;
  t = (d1 > m) | (d1 != d1);
  m = t ? d1 : m;
  i = t ? base + W + c + 1 : i;
  *out = m;
  *ind = i;
}

NL_INLINE void max_fwd_2x2(const PoolGeom& g, const float* x, float* y, int32_t* idx, int64_t p0, int64_t p1) {
  for (int64_t pl = p0; pl < p1; ++pl) {
    const float* in = x + pl * g.H * g.W;
    float* out = y + pl * g.OH * g.OW;
    int32_t* ind = idx + pl * g.OH * g.OW;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const float* r0 = in + (2 * oh) * g.W;
      const int32_t base = static_cast<int32_t>(2 * oh * g.W);
      for (int64_t ow = 0; ow < g.OW; ++ow)
        max_2x2_one(r0, r0 + g.W, base, static_cast<int32_t>(g.W), static_cast<int32_t>(2 * ow), out + oh * g.OW + ow,
                    ind + oh * g.OW + ow);
    }
  }
}

NL_INLINE void max_fwd_body(const PoolGeom* gp, const float* x, float* y, int32_t* idx, int64_t p0, int64_t p1) {
  const PoolGeom& g = *gp;
  if (is_2x2(g)) {
    max_fwd_2x2(g, x, y, idx, p0, p1);
    return;
  }
  for (int64_t pl = p0; pl < p1; ++pl) {
    const float* in = x + pl * g.H * g.W;
    float* out = y + pl * g.OH * g.OW;
    int32_t* ind = idx + pl * g.OH * g.OW;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      // Taps hs + i*DH inside [0, H): i in [i0, i1). The first one is the index kept when every
      // tap is -inf (as PyTorch, whose start index is moved into the input by whole dilations).
      const int64_t hs = oh * g.SH - g.PH;
      const int64_t i0 = hs >= 0 ? 0 : (-hs + g.DH - 1) / g.DH;
      const int64_t i1 = std::min(g.KH, (g.H - hs + g.DH - 1) / g.DH);
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const int64_t ws = ow * g.SW - g.PW;
        const int64_t j0 = ws >= 0 ? 0 : (-ws + g.DW - 1) / g.DW;
        const int64_t j1 = std::min(g.KW, (g.W - ws + g.DW - 1) / g.DW);
        float best = -std::numeric_limits<float>::infinity();
        int64_t bi = (hs + i0 * g.DH) * g.W + ws + j0 * g.DW;
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t h = hs + i * g.DH;
          for (int64_t j = j0; j < j1; ++j) {
            const int64_t w = ws + j * g.DW;
            const float v = in[h * g.W + w];
            if (v > best || std::isnan(v)) {
              best = v;
              bi = h * g.W + w;
            }
          }
        }
        out[oh * g.OW + ow] = best;
        ind[oh * g.OW + ow] = static_cast<int32_t>(bi);
      }
    }
  }
}
NL_ISA_VARIANTS(max_fwd, (const PoolGeom* g, const float* x, float* y, int32_t* idx, int64_t p0, int64_t p1),
                (g, x, y, idx, p0, p1), max_fwd_body)

#if NL_HAS_X86
// 8 outputs of a 2x2 window row at a time. GCC does not vectorise max_fwd_2x2 (the stride-2
// loads plus the index select become compare-and-branch chains, ~17 ns per output on random
// data), so the even / odd columns of two rows are split with shuffles here, and a row's last
// OW % 8 outputs (all of them for the 4- and 5-wide outputs of LeNet-5 / MNIST nets) use masked
// loads rather than the scalar loop. The AVX-512 path uses this kernel too: the
// operation is load- and shuffle-bound, wider vectors would gain little.
// Each step applies the scalar rule lane-wise: t = (b > m) | isnan(b), in scan order.
NL_TARGET_AVX2 NL_INLINE void max_step_avx2(__m256& m, __m256i& i, __m256 b, __m256i bi) {
  const __m256 t = _mm256_or_ps(_mm256_cmp_ps(b, m, _CMP_GT_OQ), _mm256_cmp_ps(b, b, _CMP_UNORD_Q));
  m = _mm256_blendv_ps(m, b, t);
  i = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(i), _mm256_castsi256_ps(bi), t));
}
// Lanes j with j + first < n set (all ones), the others clear.
NL_TARGET_AVX2 NL_INLINE __m256i lane_mask(int64_t first, int64_t n) {
  const __m256i j = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int32_t>(first)));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(n)), j);
}
// Even (`odd` false) or odd elements of the 16 floats at p, in order; with Masked, only the
// first n floats are read (the rest count as 0 and end up in lanes the caller does not store).
template <bool Masked>
NL_TARGET_AVX2 NL_INLINE __m256 deinterleave_avx2(const float* p, bool odd, __m256i m0, __m256i m1) {
  const __m256 a = Masked ? _mm256_maskload_ps(p, m0) : _mm256_loadu_ps(p);
  const __m256 b = Masked ? _mm256_maskload_ps(p + 8, m1) : _mm256_loadu_ps(p + 8);
  const __m256 s = odd ? _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)) : _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}
// Outputs [ow, ow + 8) of one output row (with Masked, only the first `rem` of them).
template <bool Masked>
NL_TARGET_AVX2 NL_INLINE void max_2x2_row8(const float* r0, const float* r1, int64_t base, int64_t W, int64_t ow,
                                           int64_t rem, float* out, int32_t* ind) {
  const int64_t c = 2 * ow;
  __m256i m0 = _mm256_setzero_si256(), m1 = m0;
  if (Masked) {
    m0 = lane_mask(0, 2 * rem);
    m1 = lane_mask(8, 2 * rem);
  }
  const __m256i i00 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(base + c)),
                                       _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
  const __m256i i10 = _mm256_add_epi32(i00, _mm256_set1_epi32(static_cast<int32_t>(W)));
  const __m256i one = _mm256_set1_epi32(1);
  __m256 m = deinterleave_avx2<Masked>(r0 + c, false, m0, m1);
  __m256i i = i00;
  max_step_avx2(m, i, deinterleave_avx2<Masked>(r0 + c, true, m0, m1), _mm256_add_epi32(i00, one));
  max_step_avx2(m, i, deinterleave_avx2<Masked>(r1 + c, false, m0, m1), i10);
  max_step_avx2(m, i, deinterleave_avx2<Masked>(r1 + c, true, m0, m1), _mm256_add_epi32(i10, one));
  if (Masked) {
    // Through a stack tile: masked stores are microcoded and slow on AMD cores.
    alignas(32) float tm[8];
    alignas(32) int32_t ti[8];
    _mm256_store_ps(tm, m);
    _mm256_store_si256(reinterpret_cast<__m256i*>(ti), i);
    for (int64_t k = 0; k < rem; ++k) {
      out[ow + k] = tm[k];
      ind[ow + k] = ti[k];
    }
  } else {
    _mm256_storeu_ps(out + ow, m);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(ind + ow), i);
  }
}
NL_TARGET_AVX2 void max_fwd_2x2_avx2(const PoolGeom* gp, const float* x, float* y, int32_t* idx, int64_t p0,
                                     int64_t p1) {
  const PoolGeom& g = *gp;
  const int64_t full = g.OW / 8 * 8;
  for (int64_t pl = p0; pl < p1; ++pl) {
    const float* in = x + pl * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const float* r0 = in + (2 * oh) * g.W;
      float* out = y + (pl * g.OH + oh) * g.OW;
      int32_t* ind = idx + (pl * g.OH + oh) * g.OW;
      for (int64_t ow = 0; ow < full; ow += 8) max_2x2_row8<false>(r0, r0 + g.W, 2 * oh * g.W, g.W, ow, 8, out, ind);
      if (full < g.OW) max_2x2_row8<true>(r0, r0 + g.W, 2 * oh * g.W, g.W, full, g.OW - full, out, ind);
    }
  }
}
#endif

// max_fwd with the 2x2 / stride 2 case on the shuffle kernel where the CPU has AVX2.
void max_fwd_any(const PoolGeom* g, const float* x, float* y, int32_t* idx, int64_t p0, int64_t p1) {
#if NL_HAS_X86
  if (is_2x2(*g) && active_isa() != Isa::Scalar) {
    max_fwd_2x2_avx2(g, x, y, idx, p0, p1);
    return;
  }
#endif
  max_fwd(g, x, y, idx, p0, p1);
}

// Window of output (oh, ow) clipped to the input, and the average's divisor (PyTorch's
// avg_pool2d): with count_include_pad the window clipped to the padded input (so a ceil-mode
// window hanging past the padding counts only its part inside), else only the input part.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  float inv;
};
NL_INLINE AvgWindow avg_window(const PoolGeom& g, int64_t oh, int64_t ow) {
  const int64_t hs = oh * g.SH - g.PH, ws = ow * g.SW - g.PW;
  const int64_t he = std::min(hs + g.KH, g.H + g.PH), we = std::min(ws + g.KW, g.W + g.PW);
  AvgWindow r{std::max<int64_t>(hs, 0), std::min(he, g.H), std::max<int64_t>(ws, 0), std::min(we, g.W), 0.f};
  const int64_t count = g.include_pad ? (he - hs) * (we - ws) : (r.h1 - r.h0) * (r.w1 - r.w0);
  r.inv = count > 0 ? 1.f / static_cast<float>(count) : 0.f;
  return r;
}

NL_INLINE void avg_fwd_body(const PoolGeom* gp, const float* x, float* y, int64_t p0, int64_t p1) {
  const PoolGeom& g = *gp;
  for (int64_t pl = p0; pl < p1; ++pl) {
    const float* in = x + pl * g.H * g.W;
    float* out = y + pl * g.OH * g.OW;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const AvgWindow b = avg_window(g, oh, ow);
        float s = 0.f;
        for (int64_t h = b.h0; h < b.h1; ++h)
          for (int64_t w = b.w0; w < b.w1; ++w) s += in[h * g.W + w];
        out[oh * g.OW + ow] = s * b.inv;
      }
    }
  }
}
NL_ISA_VARIANTS(avg_fwd, (const PoolGeom* g, const float* x, float* y, int64_t p0, int64_t p1), (g, x, y, p0, p1),
                avg_fwd_body)

NL_INLINE void avg_bwd_body(const PoolGeom* gp, const float* dy, float* dx, int64_t p0, int64_t p1) {
  const PoolGeom& g = *gp;
  for (int64_t pl = p0; pl < p1; ++pl) {
    float* gin = dx + pl * g.H * g.W;
    const float* gout = dy + pl * g.OH * g.OW;
    std::fill(gin, gin + g.H * g.W, 0.f);
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const AvgWindow b = avg_window(g, oh, ow);
        const float v = gout[oh * g.OW + ow] * b.inv;
        for (int64_t h = b.h0; h < b.h1; ++h)
          for (int64_t w = b.w0; w < b.w1; ++w) gin[h * g.W + w] += v;
      }
    }
  }
}
NL_ISA_VARIANTS(avg_bwd, (const PoolGeom* g, const float* dy, float* dx, int64_t p0, int64_t p1), (g, dy, dx, p0, p1),
                avg_bwd_body)

// Adaptive bin bounds along one axis: [floor(i*L/OL), ceil((i+1)*L/OL)).
NL_INLINE int64_t bin_start(int64_t i, int64_t L, int64_t OL) { return (i * L) / OL; }
NL_INLINE int64_t bin_end(int64_t i, int64_t L, int64_t OL) { return ((i + 1) * L + OL - 1) / OL; }

NL_INLINE void adaptive_fwd_body(const PoolGeom* gp, const float* x, float* y, int64_t p0, int64_t p1) {
  const PoolGeom& g = *gp;
  for (int64_t pl = p0; pl < p1; ++pl) {
    const float* in = x + pl * g.H * g.W;
    float* out = y + pl * g.OH * g.OW;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const int64_t h0 = bin_start(oh, g.H, g.OH), h1 = bin_end(oh, g.H, g.OH);
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const int64_t w0 = bin_start(ow, g.W, g.OW), w1 = bin_end(ow, g.W, g.OW);
        float s = 0.f;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) s += in[h * g.W + w];
        out[oh * g.OW + ow] = s / static_cast<float>((h1 - h0) * (w1 - w0));
      }
    }
  }
}
NL_ISA_VARIANTS(adaptive_fwd, (const PoolGeom* g, const float* x, float* y, int64_t p0, int64_t p1),
                (g, x, y, p0, p1), adaptive_fwd_body)

NL_INLINE void adaptive_bwd_body(const PoolGeom* gp, const float* dy, float* dx, int64_t p0, int64_t p1) {
  const PoolGeom& g = *gp;
  for (int64_t pl = p0; pl < p1; ++pl) {
    float* gin = dx + pl * g.H * g.W;
    const float* gout = dy + pl * g.OH * g.OW;
    std::fill(gin, gin + g.H * g.W, 0.f);
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const int64_t h0 = bin_start(oh, g.H, g.OH), h1 = bin_end(oh, g.H, g.OH);
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const int64_t w0 = bin_start(ow, g.W, g.OW), w1 = bin_end(ow, g.W, g.OW);
        const float v = gout[oh * g.OW + ow] / static_cast<float>((h1 - h0) * (w1 - w0));
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) gin[h * g.W + w] += v;
      }
    }
  }
}
NL_ISA_VARIANTS(adaptive_bwd, (const PoolGeom* g, const float* dy, float* dx, int64_t p0, int64_t p1),
                (g, dy, dx, p0, p1), adaptive_bwd_body)

}  // namespace

void max_pool2d_forward(const PoolGeom& g, const float* x, float* y, int32_t* idx) {
  parallel_for(g.planes, plane_grain(g.H * g.W, g.OH * g.OW), [&](int64_t p0, int64_t p1) { max_fwd_any(&g, x, y, idx, p0, p1); });
}

bool max_pool2d_backward(const float* dy, const int32_t* idx, int64_t planes, int64_t plane_in, int64_t plane_out,
                         float* dx) {
  std::atomic<bool> bad{false};
  parallel_for(planes, plane_grain(plane_in, plane_out), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      float* gin = dx + pl * plane_in;
      const float* gout = dy + pl * plane_out;
      const int32_t* ind = idx + pl * plane_out;
      std::fill(gin, gin + plane_in, 0.f);
      for (int64_t o = 0; o < plane_out; ++o) {
        if (ind[o] < 0 || ind[o] >= plane_in) {
          bad.store(true);
          continue;
        }
        gin[ind[o]] += gout[o];
      }
    }
  });
  return !bad.load();
}

void avg_pool2d_forward(const PoolGeom& g, const float* x, float* y) {
  parallel_for(g.planes, plane_grain(g.H * g.W, g.OH * g.OW), [&](int64_t p0, int64_t p1) { avg_fwd(&g, x, y, p0, p1); });
}

void avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx) {
  parallel_for(g.planes, plane_grain(g.H * g.W, g.OH * g.OW), [&](int64_t p0, int64_t p1) { avg_bwd(&g, dy, dx, p0, p1); });
}

void adaptive_avg_pool2d_forward(const PoolGeom& g, const float* x, float* y) {
  if (g.OH == 1 && g.OW == 1) {
    // Global average pooling: the mean of each plane through the reduction engine (SIMD,
    // several accumulators, double across segments).
    reduce_dims(kReduceMean, x, {g.planes, g.H * g.W}, {false, true}, y, nullptr, false);
    return;
  }
  parallel_for(g.planes, plane_grain(g.H * g.W, g.OH * g.OW), [&](int64_t p0, int64_t p1) { adaptive_fwd(&g, x, y, p0, p1); });
}

void adaptive_avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx) {
  parallel_for(g.planes, plane_grain(g.H * g.W, g.OH * g.OW), [&](int64_t p0, int64_t p1) { adaptive_bwd(&g, dy, dx, p0, p1); });
}

}  // namespace nl

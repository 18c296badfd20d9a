// Normalization kernels: batch statistics per channel (BatchNorm, Filtered BN, Batch Renorm)
// and statistics per contiguous group (GroupNorm, LayerNorm, InstanceNorm), forward and
// backward, plus the per-channel scale + shift used in eval mode.
//
// Layout: x is [N, C, S] (S = H*W, L, or 1); a "row" is the S contiguous values of one (n, c).
//
// Conventions (see DESIGN.md, "Semantics"):
//   mean = sum(x) / m, var = sum((x - mean)^2) / m (biased: what training normalizes with),
//   invstd = 1 / sqrt(var + eps), y = (x - mean) * invstd * gamma + beta, applied as
//   y = x * a + b with a = gamma * invstd, b = beta - mean * a.
// The kernels write mean, invstd and the biased variance per channel; the running-statistics
// update (unbiased variance, momentum) is done by the caller in TS.
//
// Numerics: sums are shifted by a value of the channel (its first element), accumulated in
// float over chunks of kChunk values in kLanes independent lanes, and each chunk total is
// added in double. Determinism: the work is cut into (channel, block of kBlockRows(N, S) rows)
// pieces that depend only on the shape, and pieces are merged in a fixed order, so results are
// bitwise equal for any thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "norm.h"

#include "common.h"
#include "dispatch.h"
#include "vec8.h"
#if defined(__linux__)
#include <sys/mman.h>
#endif
#if NL_HAS_X86
#include <immintrin.h>
#endif

namespace nl {
namespace {

constexpr int kLanes = 16;
constexpr int64_t kChunk = 1024;
// Elements per (channel, row-block) piece of work; also the grain below which work stays serial.
constexpr int64_t kBlockElems = 16384;

// ---------------------------------------------------------------------------------------------
// Row bodies (always inline; instantiated per ISA by NL_ISA_VARIANTS).

// Float lanes are the 8-float vectors of vec8.h. Accumulators are two such vectors: kLanes = 16
// independent float sums.
NL_INLINE double hsum(v8f a, v8f b) {
  double t = 0.0;
  for (int k = 0; k < 8; ++k) t += a[k];
  for (int k = 0; k < 8; ++k) t += b[k];
  return t;
}

// The FBN filter: keep x when -T < (x - mu0) * r0 < T, computed in float. The same expression
// is used in forward and backward so both see the same mask.
NL_INLINE bool fbn_keep(float x, float mu0, float r0, float T) {
  const float z = (x - mu0) * r0;
  return z > -T && z < T;
}
NL_INLINE v8i fbn_keep8(v8f x, v8f mu0, v8f r0, v8f T) {
  const v8f z = (x - mu0) * r0;
  return (z > -T) & (z < T);
}
NL_INLINE v8f select8(v8i mask, v8f v) { return reinterpret_cast<v8f>(mask & reinterpret_cast<v8i>(v)); }

// out[0] = sum(x - K), out[1] = sum((x - K)^2) over n values.
NL_INLINE void stats_row_body(const float* x, int64_t n, float K, int64_t pf, double* out) {
  double s1 = 0.0, s2 = 0.0;
  const v8f k8 = splat8(K);
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t c1 = std::min(n, c0 + kChunk);
    v8f a1 = {}, b1 = {}, a2 = {}, b2 = {};
    int64_t i = c0;
    for (; i + kLanes <= c1; i += kLanes) {
      __builtin_prefetch(x + pf + i);
      const v8f d0 = load8(x + i) - k8, d1 = load8(x + i + 8) - k8;
      a1 += d0;
      b1 += d1;
      a2 += d0 * d0;
      b2 += d1 * d1;
    }
    double t1 = hsum(a1, b1), t2 = hsum(a2, b2);
    for (; i < c1; ++i) {
      const float d = x[i] - K;
      t1 += d;
      t2 += static_cast<double>(d) * d;
    }
    s1 += t1;
    s2 += t2;
  }
  out[0] = s1;
  out[1] = s2;
}
NL_ISA_VARIANTS(stats_row, (const float* x, int64_t n, float K, int64_t pf, double* out), (x, n, K, pf, out),
                stats_row_body)

// Over the kept values: out[0] = count, out[1] = sum(x - K), out[2] = sum((x - K)^2).
NL_INLINE void filtered_row_body(const float* x, int64_t n, float K, float mu0, float r0, float T, int64_t pf,
                                 double* out) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0;
  const v8f k8 = splat8(K), m8 = splat8(mu0), r8 = splat8(r0), t8 = splat8(T), one = splat8(1.f);
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t c1 = std::min(n, c0 + kChunk);
    v8f a0 = {}, b0 = {}, a1 = {}, b1 = {}, a2 = {}, b2 = {};
    int64_t i = c0;
    for (; i + kLanes <= c1; i += kLanes) {
      __builtin_prefetch(x + pf + i);
      const v8f v0 = load8(x + i), v1 = load8(x + i + 8);
      const v8i k0 = fbn_keep8(v0, m8, r8, t8), k1 = fbn_keep8(v1, m8, r8, t8);
      const v8f d0 = select8(k0, v0 - k8), d1 = select8(k1, v1 - k8);
      a0 += select8(k0, one);
      b0 += select8(k1, one);
      a1 += d0;
      b1 += d1;
      a2 += d0 * d0;
      b2 += d1 * d1;
    }
    double t0 = hsum(a0, b0), t1 = hsum(a1, b1), t2 = hsum(a2, b2);
    for (; i < c1; ++i) {
      if (!fbn_keep(x[i], mu0, r0, T)) continue;
      const float d = x[i] - K;
      t0 += 1.0;
      t1 += d;
      t2 += static_cast<double>(d) * d;
    }
    s0 += t0;
    s1 += t1;
    s2 += t2;
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
}
NL_ISA_VARIANTS(filtered_row,
                (const float* x, int64_t n, float K, float mu0, float r0, float T, int64_t pf, double* out),
                (x, n, K, mu0, r0, T, pf, out), filtered_row_body)

// y = x * a + b.
NL_INLINE void affine_row_body(const float* x, float* y, int64_t n, float a, float b, int64_t pf) {
  const v8f a8 = splat8(a), b8 = splat8(b);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    __builtin_prefetch(x + pf + i);
    store8(y + i, load8(x + i) * a8 + b8);
    store8(y + i + 8, load8(x + i + 8) * a8 + b8);
  }
  for (; i < n; ++i) y[i] = x[i] * a + b;
}
NL_ISA_VARIANTS(affine_row, (const float* x, float* y, int64_t n, float a, float b, int64_t pf), (x, y, n, a, b, pf),
                affine_row_body)

// out[0] = sum(dy), out[1] = sum(dy * (x - mu)).
NL_INLINE void bwd_reduce_row_body(const float* x, const float* dy, int64_t n, float mu, int64_t pf, double* out) {
  double s1 = 0.0, s2 = 0.0;
  const v8f m8 = splat8(mu);
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t c1 = std::min(n, c0 + kChunk);
    v8f a1 = {}, b1 = {}, a2 = {}, b2 = {};
    int64_t i = c0;
    for (; i + kLanes <= c1; i += kLanes) {
      __builtin_prefetch(x + pf + i);
      __builtin_prefetch(dy + pf + i);
      const v8f g0 = load8(dy + i), g1 = load8(dy + i + 8);
      a1 += g0;
      b1 += g1;
      a2 += g0 * (load8(x + i) - m8);
      b2 += g1 * (load8(x + i + 8) - m8);
    }
    double t1 = hsum(a1, b1), t2 = hsum(a2, b2);
    for (; i < c1; ++i) {
      t1 += dy[i];
      t2 += static_cast<double>(dy[i]) * (x[i] - mu);
    }
    s1 += t1;
    s2 += t2;
  }
  out[0] = s1;
  out[1] = s2;
}
NL_ISA_VARIANTS(bwd_reduce_row, (const float* x, const float* dy, int64_t n, float mu, int64_t pf, double* out),
                (x, dy, n, mu, pf, out), bwd_reduce_row_body)

// dx = a * dy + b * x + c.
NL_INLINE void dx_row_body(const float* x, const float* dy, float* dx, int64_t n, float a, float b, float c,
                           int64_t pf) {
  const v8f a8 = splat8(a), b8 = splat8(b), c8 = splat8(c);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    __builtin_prefetch(x + pf + i);
    __builtin_prefetch(dy + pf + i);
    store8(dx + i, a8 * load8(dy + i) + (b8 * load8(x + i) + c8));
    store8(dx + i + 8, a8 * load8(dy + i + 8) + (b8 * load8(x + i + 8) + c8));
  }
  for (; i < n; ++i) dx[i] = a * dy[i] + (b * x[i] + c);
}
NL_ISA_VARIANTS(dx_row, (const float* x, const float* dy, float* dx, int64_t n, float a, float b, float c, int64_t pf),
                (x, dy, dx, n, a, b, c, pf), dx_row_body)

// FBN: the statistics terms (b * x + c) apply to kept values only.
NL_INLINE void dx_row_masked_body(const float* x, const float* dy, float* dx, int64_t n, float a, float b, float c,
                                  float mu0, float r0, float T, int64_t pf) {
  const v8f a8 = splat8(a), b8 = splat8(b), c8 = splat8(c), m8 = splat8(mu0), r8 = splat8(r0), t8 = splat8(T);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    __builtin_prefetch(x + pf + i);
    __builtin_prefetch(dy + pf + i);
    const v8f v0 = load8(x + i), v1 = load8(x + i + 8);
    store8(dx + i, a8 * load8(dy + i) + select8(fbn_keep8(v0, m8, r8, t8), b8 * v0 + c8));
    store8(dx + i + 8, a8 * load8(dy + i + 8) + select8(fbn_keep8(v1, m8, r8, t8), b8 * v1 + c8));
  }
  for (; i < n; ++i) {
    const float v = x[i];
    const float stat = fbn_keep(v, mu0, r0, T) ? b * v + c : 0.f;
    dx[i] = a * dy[i] + stat;
  }
}
NL_ISA_VARIANTS(dx_row_masked,
                (const float* x, const float* dy, float* dx, int64_t n, float a, float b, float c, float mu0, float r0,
                 float T, int64_t pf),
                (x, dy, dx, n, a, b, c, mu0, r0, T, pf), dx_row_masked_body)

// Per-element affine over a row of channels (groups with S == 1, as LayerNorm over the last dim):
// y[c] = (x[c] - mu) * r * gamma[c] + beta[c].
NL_INLINE void affine_vec_row_body(const float* x, float* y, int64_t n, float mu, float r, const float* gamma,
                                   const float* beta) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mu) * r * gamma[i] + beta[i];
}
NL_ISA_VARIANTS(affine_vec_row,
                (const float* x, float* y, int64_t n, float mu, float r, const float* gamma, const float* beta),
                (x, y, n, mu, r, gamma, beta), affine_vec_row_body)

// Groups with S == 1, backward reductions: out[0] = sum(dy * gamma), out[1] = sum(dy * gamma * (x - mu));
// per element, dgamma[c] += dy[c] * (x[c] - mu) * r and dbeta[c] += dy[c] (float accumulators
// of one block of rows, merged in double by the caller).
NL_INLINE void bwd_reduce_vec_row_body(const float* x, const float* dy, int64_t n, float mu, float r,
                                       const float* gamma, double* out, float* dgamma, float* dbeta) {
  double s1 = 0.0, s2 = 0.0;
  const v8f m8 = splat8(mu), r8 = splat8(r);
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t c1 = std::min(n, c0 + kChunk);
    v8f a1 = {}, b1 = {}, a2 = {}, b2 = {};
    int64_t i = c0;
    for (; i + kLanes <= c1; i += kLanes) {
      const v8f g0 = load8(dy + i), g1 = load8(dy + i + 8);
      const v8f xc0 = load8(x + i) - m8, xc1 = load8(x + i + 8) - m8;
      const v8f gg0 = g0 * load8(gamma + i), gg1 = g1 * load8(gamma + i + 8);
      a1 += gg0;
      b1 += gg1;
      a2 += gg0 * xc0;
      b2 += gg1 * xc1;
      store8(dgamma + i, load8(dgamma + i) + g0 * (xc0 * r8));
      store8(dgamma + i + 8, load8(dgamma + i + 8) + g1 * (xc1 * r8));
      store8(dbeta + i, load8(dbeta + i) + g0);
      store8(dbeta + i + 8, load8(dbeta + i + 8) + g1);
    }
    double t1 = hsum(a1, b1), t2 = hsum(a2, b2);
    for (; i < c1; ++i) {
      const float g = dy[i], xc = x[i] - mu, gg = g * gamma[i];
      t1 += gg;
      t2 += static_cast<double>(gg) * xc;
      dgamma[i] += g * (xc * r);
      dbeta[i] += g;
    }
    s1 += t1;
    s2 += t2;
  }
  out[0] = s1;
  out[1] = s2;
}
NL_ISA_VARIANTS(bwd_reduce_vec_row,
                (const float* x, const float* dy, int64_t n, float mu, float r, const float* gamma, double* out,
                 float* dgamma, float* dbeta),
                (x, dy, n, mu, r, gamma, out, dgamma, dbeta), bwd_reduce_vec_row_body)

// dx[c] = r * gamma[c] * dy[c] + b * x[c] + c0.
NL_INLINE void dx_vec_row_body(const float* x, const float* dy, float* dx, int64_t n, float r, const float* gamma,
                               float b, float c0) {
  for (int64_t i = 0; i < n; ++i) dx[i] = r * gamma[i] * dy[i] + (b * x[i] + c0);
}
NL_ISA_VARIANTS(dx_vec_row,
                (const float* x, const float* dy, float* dx, int64_t n, float r, const float* gamma, float b, float c0),
                (x, dy, dx, n, r, gamma, b, c0), dx_vec_row_body)

// ---------------------------------------------------------------------------------------------
// Fused activations (BatchNormAct2d, GroupNormAct): the forward writes act(v) with the
// pre-activation v = x * a + b (a = gamma * invstd, b = beta - mean * a per channel) and never
// stores v. The backward recomputes v from x and the saved statistics instead of reading the
// forward output y: the BN/GN backward reads x anyway (for xhat), so recomputing costs a few
// flops per element while reading y would add one pass over memory per backward sweep (two in
// all: reduction and dx). g = dy * act'(v) then replaces dy in the reductions and in dx.
// Codes (kernels/norm.ts NormAct): 0 none, 1 relu, 2 leaky relu (slope p), 3 sigmoid, 4 tanh.
// Each code is a template parameter of its row bodies: the activation is chosen once per row,
// outside the element loops, and the plain kernels (code 0) keep their own rows untouched.

// exp(x) per lane on 8-float vectors (the Cephes expf scheme of simd.inc's vexp, about 1 ulp):
// below ln(FLT_MIN) gives 0, above ln(FLT_MAX) +inf.
NL_INLINE v8f exp8(v8f x) {
  const v8i under = x < splat8(-87.33654475f);
  const v8i over = x > splat8(88.72283935546875f);
  x = x > splat8(88.72283935546875f) ? splat8(88.72283935546875f) : x;
  x = x < splat8(-87.33654475f) ? splat8(-87.33654475f) : x;
  const v8f magic = splat8(12582912.f);
  const v8f t = x * splat8(1.44269504088896341f) + magic;
  const v8f n = t - magic;
  v8f r = x - n * splat8(0.693359375f);
  r = r - n * splat8(-2.12194440e-4f);
  v8f p = splat8(1.9875691500e-4f);
  p = p * r + splat8(1.3981999507e-3f);
  p = p * r + splat8(8.3334519073e-3f);
  p = p * r + splat8(4.1665795894e-2f);
  p = p * r + splat8(1.6666665459e-1f);
  p = p * r + splat8(5.0000001201e-1f);
  p = p * (r * r) + r + splat8(1.f);
  v8i ni;
  __builtin_memcpy(&ni, &t, sizeof ni);
  ni = ni - 0x4B400000;
  const v8i top = ni > 127;
  ni = top ? ni - 1 : ni;
  const v8i bits = (ni + 127) << 23;
  v8f scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  v8f res = p * scale;
  res = top ? res * splat8(2.f) : res;
  res = over ? splat8(__builtin_inff()) : res;
  return under ? splat8(0.f) : res;
}

// tanh per lane (Cephes tanhf): |v| < 0.625: v + v^3 P(v^2); else sign(v) (1 - 2 / (exp(2|v|) + 1)).
NL_INLINE v8f tanh8(v8f v) {
  const v8f z = v * v;
  v8f p = splat8(-5.70498872745e-3f);
  p = p * z + splat8(2.06390887954e-2f);
  p = p * z + splat8(-5.37397155531e-2f);
  p = p * z + splat8(1.33314422036e-1f);
  p = p * z + splat8(-3.33332819422e-1f);
  const v8f small = p * z * v + v;
  const v8f av = v < splat8(0.f) ? -v : v;
  const v8f big = splat8(1.f) - splat8(2.f) / (exp8(av + av) + splat8(1.f));
  const v8f sbig = v < splat8(0.f) ? -big : big;
  return av < splat8(0.625f) ? small : sbig;
}

template <int A>
NL_INLINE v8f act_fwd8(v8f v, v8f p) {
  if constexpr (A == 1) return v > splat8(0.f) ? v : splat8(0.f);
  else if constexpr (A == 2) return v > splat8(0.f) ? v : v * p;
  else if constexpr (A == 3) return splat8(1.f) / (splat8(1.f) + exp8(-v));
  else return tanh8(v);
}
template <int A>
NL_INLINE float act_fwd1(float v, float p) {
  if constexpr (A == 1) return v > 0.f ? v : 0.f;
  else if constexpr (A == 2) return v > 0.f ? v : v * p;
  else if constexpr (A == 3) return 1.f / (1.f + std::exp(-v));
  else return std::tanh(v);
}
// g = dy * act'(v); relu / leaky relu take the derivative at 0 from the left (PyTorch's).
template <int A>
NL_INLINE v8f act_grad8(v8f v, v8f dy, v8f p) {
  if constexpr (A == 1) return v > splat8(0.f) ? dy : splat8(0.f);
  else if constexpr (A == 2) return v > splat8(0.f) ? dy : dy * p;
  else if constexpr (A == 3) {
    const v8f s = splat8(1.f) / (splat8(1.f) + exp8(-v));
    return dy * (s * (splat8(1.f) - s));
  } else {
    const v8f t = tanh8(v);
    return dy * (splat8(1.f) - t * t);
  }
}
template <int A>
NL_INLINE float act_grad1(float v, float dy, float p) {
  if constexpr (A == 1) return v > 0.f ? dy : 0.f;
  else if constexpr (A == 2) return v > 0.f ? dy : dy * p;
  else if constexpr (A == 3) {
    const float s = 1.f / (1.f + std::exp(-v));
    return dy * (s * (1.f - s));
  } else {
    const float t = std::tanh(v);
    return dy * (1.f - t * t);
  }
}

// y = act(x * a + b).
template <int A>
NL_INLINE void act_affine_row_body(const float* x, float* y, int64_t n, float a, float b, float p, int64_t pf) {
  const v8f a8 = splat8(a), b8 = splat8(b), p8 = splat8(p);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    __builtin_prefetch(x + pf + i);
    store8(y + i, act_fwd8<A>(load8(x + i) * a8 + b8, p8));
    store8(y + i + 8, act_fwd8<A>(load8(x + i + 8) * a8 + b8, p8));
  }
  for (; i < n; ++i) y[i] = act_fwd1<A>(x[i] * a + b, p);
}

// With g = dy * act'(x * a + b): out[0] = sum(g), out[1] = sum(g * (x - mu)).
template <int A>
NL_INLINE void act_bwd_reduce_row_body(const float* x, const float* dy, int64_t n, float mu, float a, float b, float p,
                                       int64_t pf, double* out) {
  double s1 = 0.0, s2 = 0.0;
  const v8f m8 = splat8(mu), a8 = splat8(a), b8 = splat8(b), p8 = splat8(p);
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t c1 = std::min(n, c0 + kChunk);
    v8f a1 = {}, b1 = {}, a2 = {}, b2 = {};
    int64_t i = c0;
    for (; i + kLanes <= c1; i += kLanes) {
      __builtin_prefetch(x + pf + i);
      __builtin_prefetch(dy + pf + i);
      const v8f x0 = load8(x + i), x1 = load8(x + i + 8);
      const v8f g0 = act_grad8<A>(x0 * a8 + b8, load8(dy + i), p8);
      const v8f g1 = act_grad8<A>(x1 * a8 + b8, load8(dy + i + 8), p8);
      a1 += g0;
      b1 += g1;
      a2 += g0 * (x0 - m8);
      b2 += g1 * (x1 - m8);
    }
    double t1 = hsum(a1, b1), t2 = hsum(a2, b2);
    for (; i < c1; ++i) {
      const float g = act_grad1<A>(x[i] * a + b, dy[i], p);
      t1 += g;
      t2 += static_cast<double>(g) * (x[i] - mu);
    }
    s1 += t1;
    s2 += t2;
  }
  out[0] = s1;
  out[1] = s2;
}

// dx = ga * g + (cb * x + cc) with g = dy * act'(x * a + b).
template <int A>
NL_INLINE void act_dx_row_body(const float* x, const float* dy, float* dx, int64_t n, float ga, float cb, float cc,
                               float a, float b, float p, int64_t pf) {
  const v8f ga8 = splat8(ga), cb8 = splat8(cb), cc8 = splat8(cc), a8 = splat8(a), b8 = splat8(b), p8 = splat8(p);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    __builtin_prefetch(x + pf + i);
    __builtin_prefetch(dy + pf + i);
    const v8f x0 = load8(x + i), x1 = load8(x + i + 8);
    store8(dx + i, ga8 * act_grad8<A>(x0 * a8 + b8, load8(dy + i), p8) + (cb8 * x0 + cc8));
    store8(dx + i + 8, ga8 * act_grad8<A>(x1 * a8 + b8, load8(dy + i + 8), p8) + (cb8 * x1 + cc8));
  }
  for (; i < n; ++i) dx[i] = ga * act_grad1<A>(x[i] * a + b, dy[i], p) + (cb * x[i] + cc);
}

#define NL_ACT_ROWS(A)                                                                                               \
  NL_ISA_VARIANTS(act_affine_row_##A, (const float* x, float* y, int64_t n, float a, float b, float p, int64_t pf),   \
                  (x, y, n, a, b, p, pf), act_affine_row_body<A>)                                                    \
  NL_ISA_VARIANTS(act_bwd_reduce_row_##A,                                                                            \
                  (const float* x, const float* dy, int64_t n, float mu, float a, float b, float p, int64_t pf,      \
                   double* out),                                                                                     \
                  (x, dy, n, mu, a, b, p, pf, out), act_bwd_reduce_row_body<A>)                                      \
  NL_ISA_VARIANTS(act_dx_row_##A,                                                                                    \
                  (const float* x, const float* dy, float* dx, int64_t n, float ga, float cb, float cc, float a,     \
                   float b, float p, int64_t pf),                                                                    \
                  (x, dy, dx, n, ga, cb, cc, a, b, p, pf), act_dx_row_body<A>)
NL_ACT_ROWS(1)
NL_ACT_ROWS(2)
NL_ACT_ROWS(3)
NL_ACT_ROWS(4)
#undef NL_ACT_ROWS

// Row entry points by activation code (1..4; code 0 takes the plain rows).
void act_affine_row(int act, const float* x, float* y, int64_t n, float a, float b, float p, int64_t pf) {
  switch (act) {
    case 1: act_affine_row_1(x, y, n, a, b, p, pf); break;
    case 2: act_affine_row_2(x, y, n, a, b, p, pf); break;
    case 3: act_affine_row_3(x, y, n, a, b, p, pf); break;
    default: act_affine_row_4(x, y, n, a, b, p, pf); break;
  }
}
void act_bwd_reduce_row(int act, const float* x, const float* dy, int64_t n, float mu, float a, float b, float p,
                        int64_t pf, double* out) {
  switch (act) {
    case 1: act_bwd_reduce_row_1(x, dy, n, mu, a, b, p, pf, out); break;
    case 2: act_bwd_reduce_row_2(x, dy, n, mu, a, b, p, pf, out); break;
    case 3: act_bwd_reduce_row_3(x, dy, n, mu, a, b, p, pf, out); break;
    default: act_bwd_reduce_row_4(x, dy, n, mu, a, b, p, pf, out); break;
  }
}
void act_dx_row(int act, const float* x, const float* dy, float* dx, int64_t n, float ga, float cb, float cc, float a,
                float b, float p, int64_t pf) {
  switch (act) {
    case 1: act_dx_row_1(x, dy, dx, n, ga, cb, cc, a, b, p, pf); break;
    case 2: act_dx_row_2(x, dy, dx, n, ga, cb, cc, a, b, p, pf); break;
    case 3: act_dx_row_3(x, dy, dx, n, ga, cb, cc, a, b, p, pf); break;
    default: act_dx_row_4(x, dy, dx, n, ga, cb, cc, a, b, p, pf); break;
  }
}

// The pre-activation's per-channel scale and shift, a = gamma * invstd and b = beta - mean * a,
// from the statistics as stored (float): forward and backward compute the same a and b, so the
// backward sees the same v = x * a + b (and relu the same mask) as the forward.
void preact_coeffs(float mean, float invstd, double gamma, double beta, float* a, float* b) {
  const double av = gamma * static_cast<double>(invstd);
  *a = static_cast<float>(av);
  *b = static_cast<float>(beta - static_cast<double>(mean) * av);
}

// Streaming-store versions of the output rows, for tensors larger than the caches: the output
// is not read here, so writing around the caches saves the read-for-ownership traffic and
// keeps the input rows cached between the statistics and normalize passes. The first values
// up to a 32-byte boundary are written plainly. Same arithmetic as affine_row / dx_row.
#if NL_HAS_X86
NL_TARGET_AVX2 void affine_row_stream(const float* x, float* y, int64_t n, float a, float b, int64_t pf) {
  const __m256 a8 = _mm256_set1_ps(a), b8 = _mm256_set1_ps(b);
  int64_t i = 0;
  for (; i < n && reinterpret_cast<uintptr_t>(y + i) % 32 != 0; ++i) y[i] = x[i] * a + b;
  for (; i + kLanes <= n; i += kLanes) {
    __builtin_prefetch(x + pf + i);
    _mm256_stream_ps(y + i, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), a8), b8));
    _mm256_stream_ps(y + i + 8, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8), a8), b8));
  }
  for (; i < n; ++i) y[i] = x[i] * a + b;
  _mm_sfence();
}

NL_TARGET_AVX2 void dx_row_stream(const float* x, const float* dy, float* dx, int64_t n, float a, float b, float c,
                                  int64_t pf) {
  const __m256 a8 = _mm256_set1_ps(a), b8 = _mm256_set1_ps(b), c8 = _mm256_set1_ps(c);
  int64_t i = 0;
  for (; i < n && reinterpret_cast<uintptr_t>(dx + i) % 32 != 0; ++i) dx[i] = a * dy[i] + (b * x[i] + c);
  for (; i + 8 <= n; i += 8) {
    if ((i & 15) == 0) {
      __builtin_prefetch(x + pf + i);
      __builtin_prefetch(dy + pf + i);
    }
    const __m256 stat = _mm256_add_ps(_mm256_mul_ps(b8, _mm256_loadu_ps(x + i)), c8);
    _mm256_stream_ps(dx + i, _mm256_add_ps(_mm256_mul_ps(a8, _mm256_loadu_ps(dy + i)), stat));
  }
  for (; i < n; ++i) dx[i] = a * dy[i] + (b * x[i] + c);
  _mm_sfence();
}

// The same for the fused activations: act_affine_row / act_dx_row with streaming stores.
template <int A>
NL_TARGET_AVX2 void act_affine_row_stream_t(const float* x, float* y, int64_t n, float a, float b, float p, int64_t pf) {
  const v8f a8 = splat8(a), b8 = splat8(b), p8 = splat8(p);
  int64_t i = 0;
  for (; i < n && reinterpret_cast<uintptr_t>(y + i) % 32 != 0; ++i) y[i] = act_fwd1<A>(x[i] * a + b, p);
  for (; i + kLanes <= n; i += kLanes) {
    __builtin_prefetch(x + pf + i);
    _mm256_stream_ps(y + i, reinterpret_cast<__m256>(act_fwd8<A>(load8(x + i) * a8 + b8, p8)));
    _mm256_stream_ps(y + i + 8, reinterpret_cast<__m256>(act_fwd8<A>(load8(x + i + 8) * a8 + b8, p8)));
  }
  for (; i < n; ++i) y[i] = act_fwd1<A>(x[i] * a + b, p);
  _mm_sfence();
}

template <int A>
NL_TARGET_AVX2 void act_dx_row_stream_t(const float* x, const float* dy, float* dx, int64_t n, float ga, float cb,
                                        float cc, float a, float b, float p, int64_t pf) {
  const v8f ga8 = splat8(ga), cb8 = splat8(cb), cc8 = splat8(cc), a8 = splat8(a), b8 = splat8(b), p8 = splat8(p);
  int64_t i = 0;
  for (; i < n && reinterpret_cast<uintptr_t>(dx + i) % 32 != 0; ++i)
    dx[i] = ga * act_grad1<A>(x[i] * a + b, dy[i], p) + (cb * x[i] + cc);
  for (; i + kLanes <= n; i += kLanes) {
    __builtin_prefetch(x + pf + i);
    __builtin_prefetch(dy + pf + i);
    const v8f x0 = load8(x + i), x1 = load8(x + i + 8);
    const v8f d0 = ga8 * act_grad8<A>(x0 * a8 + b8, load8(dy + i), p8) + (cb8 * x0 + cc8);
    const v8f d1 = ga8 * act_grad8<A>(x1 * a8 + b8, load8(dy + i + 8), p8) + (cb8 * x1 + cc8);
    _mm256_stream_ps(dx + i, reinterpret_cast<__m256>(d0));
    _mm256_stream_ps(dx + i + 8, reinterpret_cast<__m256>(d1));
  }
  for (; i < n; ++i) dx[i] = ga * act_grad1<A>(x[i] * a + b, dy[i], p) + (cb * x[i] + cc);
  _mm_sfence();
}

void act_affine_row_stream(int act, const float* x, float* y, int64_t n, float a, float b, float p, int64_t pf) {
  switch (act) {
    case 1: act_affine_row_stream_t<1>(x, y, n, a, b, p, pf); break;
    case 2: act_affine_row_stream_t<2>(x, y, n, a, b, p, pf); break;
    case 3: act_affine_row_stream_t<3>(x, y, n, a, b, p, pf); break;
    default: act_affine_row_stream_t<4>(x, y, n, a, b, p, pf); break;
  }
}
void act_dx_row_stream(int act, const float* x, const float* dy, float* dx, int64_t n, float ga, float cb, float cc,
                       float a, float b, float p, int64_t pf) {
  switch (act) {
    case 1: act_dx_row_stream_t<1>(x, dy, dx, n, ga, cb, cc, a, b, p, pf); break;
    case 2: act_dx_row_stream_t<2>(x, dy, dx, n, ga, cb, cc, a, b, p, pf); break;
    case 3: act_dx_row_stream_t<3>(x, dy, dx, n, ga, cb, cc, a, b, p, pf); break;
    default: act_dx_row_stream_t<4>(x, dy, dx, n, ga, cb, cc, a, b, p, pf); break;
  }
}
#endif

// Streaming stores pay off for outputs well beyond the L2/L3 sizes, on the SIMD paths, with
// rows long enough to amortise the aligned start.
bool use_stream(const float* out, int64_t S, int64_t total) {
#if NL_HAS_X86
  return out != nullptr && active_isa() != Isa::Scalar && S >= 64 &&
         total * static_cast<int64_t>(sizeof(float)) >= (int64_t{16} << 20);
#else
  (void)out; (void)S; (void)total;
  return false;
#endif
}

// ---------------------------------------------------------------------------------------------
// Work partition for per-channel statistics.

struct Geo {
  int64_t N, C, S;
  int64_t rows;    // rows (values of n) per block
  int64_t blocks;  // blocks per channel
  const float* row(const float* base, int64_t n, int64_t c) const { return base + (n * C + c) * S; }
  float* row(float* base, int64_t n, int64_t c) const { return base + (n * C + c) * S; }
  // Distance (in floats) from row (n, c) to the row read next, (n + 1, c), for software
  // prefetch: rows of one channel are C * S apart, often one page each, where the hardware
  // prefetcher stops. 0 (the row itself) for the last row.
  int64_t next(int64_t n) const { return n + 1 < N ? C * S : 0; }
};

Geo make_geo(int64_t N, int64_t C, int64_t S) {
  Geo g{N, C, S, 1, 1};
  g.rows = std::max<int64_t>(1, std::min<int64_t>(N, (kBlockElems + S - 1) / std::max<int64_t>(S, 1)));
  g.blocks = (N + g.rows - 1) / g.rows;
  return g;
}

// Runs a per-channel pipeline: `passes` reduction passes, each producing W doubles per
// (channel, block) piece that are summed over blocks in order and handed to finish(pass, c,
// totals); then apply(c, n0, n1) over the rows of each channel. Channels are split over
// threads when there are enough of them (each thread then runs the whole pipeline per channel,
// while its data is in cache); otherwise each pass is split over (channel, block) pieces.
// The arithmetic is the same either way.
template <int W, class Reduce, class Finish, class Apply>
void channel_pipeline(const Geo& g, int passes, Reduce reduce, Finish finish, Apply apply) {
  const int64_t per_channel = g.N * g.S;
  const int nt = num_threads();
  const int64_t grain = std::max<int64_t>(1, kBlockElems * 2 / std::max<int64_t>(per_channel, 1));
  if (nt == 1 || g.C >= 4 * nt) {
    parallel_for(g.C, grain, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        for (int p = 0; p < passes; ++p) {
          double tot[W] = {}, part[W];
          for (int64_t b = 0; b < g.blocks; ++b) {
            reduce(p, c, b, part);
            for (int k = 0; k < W; ++k) tot[k] += part[k];
          }
          finish(p, c, tot);
        }
        apply(c, 0, g.N);
      }
    });
    return;
  }
  const int64_t pieces = g.C * g.blocks;
  const int64_t piece_grain = std::max<int64_t>(1, kBlockElems / std::max<int64_t>(g.rows * g.S, 1));
  std::vector<double> parts(static_cast<size_t>(pieces * W));
  for (int p = 0; p < passes; ++p) {
    parallel_for(pieces, piece_grain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) reduce(p, i / g.blocks, i % g.blocks, &parts[i * W]);
    });
    for (int64_t c = 0; c < g.C; ++c) {
      double tot[W] = {};
      for (int64_t b = 0; b < g.blocks; ++b)
        for (int k = 0; k < W; ++k) tot[k] += parts[(c * g.blocks + b) * W + k];
      finish(p, c, tot);
    }
  }
  parallel_for(pieces, piece_grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t c = i / g.blocks, b = i % g.blocks;
      apply(c, b * g.rows, std::min(g.N, (b + 1) * g.rows));
    }
  });
}

// Sums a row-wise reduction over the rows of block b of channel c.
template <int W, class RowFn>
void block_sum(const Geo& g, int64_t c, int64_t b, double* out, RowFn row) {
  for (int k = 0; k < W; ++k) out[k] = 0.0;
  const int64_t n1 = std::min(g.N, (b + 1) * g.rows);
  double r[W];
  for (int64_t n = b * g.rows; n < n1; ++n) {
    row(n, r);
    for (int k = 0; k < W; ++k) out[k] += r[k];
  }
}

// Large outputs are usually fresh memory from the JS allocator (mmap'ed, not yet touched):
// first-touch page faults then cost more than the kernel itself (one per 4 KB). Asking for
// transparent huge pages on the 2 MB-aligned interior makes that one fault per 2 MB. A hint
// only: memory already touched, or a kernel without THP, is left as it is.
void hint_huge_pages(float* p, size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (p == nullptr || n * sizeof(float) < 2 * kHuge) return;
  const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t e = (reinterpret_cast<uintptr_t>(p + n)) & ~(kHuge - 1);
  if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

}  // namespace

void batch_norm_forward(const float* x, int64_t N, int64_t C, int64_t S, const float* gamma, const float* beta,
                        double eps, float* y, float* mean, float* invstd, float* var, float T, float* mu0, float* rstd0,
                        float* kept, int act, float act_param) {
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C);
  const bool filtered = T > 0.f;
  hint_huge_pages(y, total);
  const Geo g = make_geo(N, C, S);
  const double m = static_cast<double>(N * S);
  std::vector<float> shift(nc);
  for (int64_t c = 0; c < C; ++c) shift[c] = x[c * S];
  std::vector<float> ca(nc), cb(nc);
  auto set_stats = [&](int64_t c, double mu, double v) {
    v = std::max(v, 0.0);
    const double r = 1.0 / std::sqrt(v + eps);
    mean[c] = static_cast<float>(mu);
    var[c] = static_cast<float>(v);
    invstd[c] = static_cast<float>(r);
    const double gm = gamma ? gamma[c] : 1.0, bt = beta ? beta[c] : 0.0;
    if (act != 0) {
      preact_coeffs(mean[c], invstd[c], gm, bt, &ca[c], &cb[c]);
      return;
    }
    ca[c] = static_cast<float>(gm * r);
    cb[c] = static_cast<float>(bt - mu * gm * r);
  };
  const bool stream = use_stream(y, S, N * C * S);
  auto apply = [&](int64_t c, int64_t n0, int64_t n1) {
    if (y == nullptr) return;
    if (act != 0) {
      for (int64_t n = n0; n < n1; ++n) {
#if NL_HAS_X86
        if (stream) {
          act_affine_row_stream(act, g.row(x, n, c), g.row(y, n, c), S, ca[c], cb[c], act_param, g.next(n));
          continue;
        }
#endif
        act_affine_row(act, g.row(x, n, c), g.row(y, n, c), S, ca[c], cb[c], act_param, g.next(n));
      }
      return;
    }
    for (int64_t n = n0; n < n1; ++n) {
#if NL_HAS_X86
      if (stream) {
        affine_row_stream(g.row(x, n, c), g.row(y, n, c), S, ca[c], cb[c], g.next(n));
        continue;
      }
#endif
      affine_row(g.row(x, n, c), g.row(y, n, c), S, ca[c], cb[c], g.next(n));
    }
  };
  if (!filtered) {
    channel_pipeline<2>(
        g, 1,
        [&](int, int64_t c, int64_t b, double* out) {
          block_sum<2>(g, c, b, out, [&](int64_t n, double* r) { stats_row(g.row(x, n, c), S, shift[c], g.next(n), r); });
        },
        [&](int, int64_t c, const double* t) {
          const double d = t[0] / m;
          set_stats(c, shift[c] + d, t[1] / m - d * d);
        },
        apply);
    return;
  }
  channel_pipeline<3>(
      g, 2,
      [&](int p, int64_t c, int64_t b, double* out) {
        if (p == 0) {
          block_sum<2>(g, c, b, out, [&](int64_t n, double* r) { stats_row(g.row(x, n, c), S, shift[c], g.next(n), r); });
          out[2] = 0.0;
        } else {
          block_sum<3>(g, c, b, out, [&](int64_t n, double* r) {
            filtered_row(g.row(x, n, c), S, shift[c], mu0[c], rstd0[c], T, g.next(n), r);
          });
        }
      },
      [&](int p, int64_t c, const double* t) {
        if (p == 0) {
          // Unfiltered mean and unbiased variance (the seed's torch.std).
          const double d = t[0] / m;
          const double v0 = std::max(0.0, (t[1] - t[0] * d) / (m - 1.0));
          mu0[c] = static_cast<float>(shift[c] + d);
          rstd0[c] = static_cast<float>(1.0 / std::sqrt(v0 + 1e-10));
          return;
        }
        const double k = t[0];
        kept[c] = static_cast<float>(k);
        if (k < 1.0) {
          set_stats(c, NAN, NAN);
          return;
        }
        const double d = t[1] / k;
        set_stats(c, shift[c] + d, t[2] / k - d * d);
      },
      apply);
}

void batch_norm_backward(const float* x, const float* dy, int64_t N, int64_t C, int64_t S, const float* mean,
                         const float* invstd, const float* gamma, bool batch_stats, float* dx, float* dgamma, float* dbeta,
                         const float* count, float T, const float* mu0, const float* rstd0, const float* beta, int act,
                         float act_param) {
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C);
  const bool filtered = T > 0.f;
  hint_huge_pages(dx, total);
  const Geo g = make_geo(N, C, S);
  // With an activation: the pre-activation's scale and shift per channel (see preact_coeffs).
  std::vector<float> sa(act != 0 ? nc : 0), sb(act != 0 ? nc : 0);
  for (int64_t c = 0; c < C && act != 0; ++c)
    preact_coeffs(mean[c], invstd[c], gamma ? gamma[c] : 1.0, beta ? beta[c] : 0.0, &sa[c], &sb[c]);
  const bool need_sums = dgamma != nullptr || dbeta != nullptr || (dx != nullptr && batch_stats);
  std::vector<float> ca(nc), cb(nc), cc(nc);
  auto finish = [&](int, int64_t c, const double* t) {
    const double r = invstd[c], mu = mean[c];
    const double sdy = t[0], sdyxhat = t[1] * r;
    if (dgamma) dgamma[c] = static_cast<float>(sdyxhat);
    if (dbeta) dbeta[c] = static_cast<float>(sdy);
    const double av = (gamma ? gamma[c] : 1.0) * r;
    ca[c] = static_cast<float>(av);
    if (!batch_stats) {
      cb[c] = 0.f;
      cc[c] = 0.f;
      return;
    }
    const double m = count ? static_cast<double>(count[c]) : static_cast<double>(N * S);
    // dx = av * dy - av/m * (sdy + (x - mu) * r * sdyxhat) = av * dy + b * x + c.
    const double bv = -av / m * r * sdyxhat;
    cb[c] = static_cast<float>(bv);
    cc[c] = static_cast<float>(-av / m * sdy - bv * mu);
  };
  const bool stream = use_stream(dx, S, N * C * S);
  auto apply = [&](int64_t c, int64_t n0, int64_t n1) {
    if (dx == nullptr) return;
    if (act != 0) {
      for (int64_t n = n0; n < n1; ++n) {
#if NL_HAS_X86
        if (stream) {
          act_dx_row_stream(act, g.row(x, n, c), g.row(dy, n, c), g.row(dx, n, c), S, ca[c], cb[c], cc[c], sa[c], sb[c],
                            act_param, g.next(n));
          continue;
        }
#endif
        act_dx_row(act, g.row(x, n, c), g.row(dy, n, c), g.row(dx, n, c), S, ca[c], cb[c], cc[c], sa[c], sb[c],
                   act_param, g.next(n));
      }
      return;
    }
    for (int64_t n = n0; n < n1; ++n) {
      if (filtered && batch_stats)
        dx_row_masked(g.row(x, n, c), g.row(dy, n, c), g.row(dx, n, c), S, ca[c], cb[c], cc[c], mu0[c], rstd0[c], T,
                      g.next(n));
#if NL_HAS_X86
      else if (stream)
        dx_row_stream(g.row(x, n, c), g.row(dy, n, c), g.row(dx, n, c), S, ca[c], cb[c], cc[c], g.next(n));
#endif
      else
        dx_row(g.row(x, n, c), g.row(dy, n, c), g.row(dx, n, c), S, ca[c], cb[c], cc[c], g.next(n));
    }
  };
  if (!need_sums) {
    const double zero[2] = {0.0, 0.0};
    for (int64_t c = 0; c < C; ++c) finish(0, c, zero);
  }
  channel_pipeline<2>(
      g, need_sums ? 1 : 0,
      [&](int, int64_t c, int64_t b, double* out) {
        if (act != 0) {
          block_sum<2>(g, c, b, out, [&](int64_t n, double* r) {
            act_bwd_reduce_row(act, g.row(x, n, c), g.row(dy, n, c), S, mean[c], sa[c], sb[c], act_param, g.next(n), r);
          });
          return;
        }
        block_sum<2>(g, c, b, out, [&](int64_t n, double* r) {
          bwd_reduce_row(g.row(x, n, c), g.row(dy, n, c), S, mean[c], g.next(n), r);
        });
      },
      finish, apply);
}

void norm_channel_affine(const float* x, int64_t N, int64_t C, int64_t S, const float* scale, const float* shift,
                         float* y) {
  const size_t total = static_cast<size_t>(N * C * S);
  hint_huge_pages(y, total);
  const int64_t planes = N * C;
  const bool stream = use_stream(y, S, static_cast<int64_t>(total));
  parallel_for(planes, std::max<int64_t>(1, kBlockElems * 2 / std::max<int64_t>(S, 1)), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
#if NL_HAS_X86
      if (stream) {
        affine_row_stream(x + p * S, y + p * S, S, scale[p % C], shift[p % C], 0);
        continue;
      }
#endif
      affine_row(x + p * S, y + p * S, S, scale[p % C], shift[p % C], 0);
    }
  });
}

void group_norm_forward(const float* x, int64_t N, int64_t G, int64_t Cg, int64_t S, const float* gamma_in,
                        const float* beta_in, double eps, float* y, float* mean, float* invstd, float* var, int act,
                        float act_param) {
  const int64_t C = G * Cg, L = Cg * S;
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C);
  hint_huge_pages(y, total);
  std::vector<float> ones, zeros;
  const float* gamma = gamma_in;
  const float* beta = beta_in;
  if (!gamma) { ones.assign(nc, 1.f); gamma = ones.data(); }
  if (!beta) { zeros.assign(nc, 0.f); beta = zeros.data(); }
  if (L == 0) return;
  parallel_for(N * G, std::max<int64_t>(1, kBlockElems / L), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* xb = x + i * L;
      float* yb = y + i * L;
      const int64_t g0 = (i % G) * Cg;
      double t[2];
      stats_row(xb, L, xb[0], 0, t);
      const double d = t[0] / L;
      const double mu = xb[0] + d;
      const double v = std::max(0.0, t[1] / L - d * d);
      const double r = 1.0 / std::sqrt(v + eps);
      if (var) var[i] = static_cast<float>(v);
      mean[i] = static_cast<float>(mu);
      invstd[i] = static_cast<float>(r);
      if (act != 0) {
        for (int64_t k = 0; k < Cg; ++k) {
          float a, b;
          preact_coeffs(mean[i], invstd[i], gamma[g0 + k], beta[g0 + k], &a, &b);
          act_affine_row(act, xb + k * S, yb + k * S, S, a, b, act_param, 0);
        }
        continue;
      }
      if (S == 1) {
        affine_vec_row(xb, yb, Cg, static_cast<float>(mu), static_cast<float>(r), gamma + g0, beta + g0);
        continue;
      }
      for (int64_t k = 0; k < Cg; ++k) {
        const double av = gamma[g0 + k] * r;
        affine_row(xb + k * S, yb + k * S, S, static_cast<float>(av), static_cast<float>(beta[g0 + k] - mu * av), 0);
      }
    }
  });
}

void group_norm_backward(const float* x, const float* dy, int64_t N, int64_t G, int64_t Cg, int64_t S, const float* mean,
                         const float* invstd, const float* gamma_in, float* dx, float* dgamma, float* dbeta,
                         const float* beta_in, int act, float act_param) {
  const int64_t C = G * Cg, L = Cg * S;
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C);
  hint_huge_pages(dx, total);
  std::vector<float> ones, zeros;
  const float* gamma = gamma_in;
  const float* beta = beta_in;
  if (!gamma) { ones.assign(nc, 1.f); gamma = ones.data(); }
  if (!beta) { zeros.assign(nc, 0.f); beta = zeros.data(); }
  // S == 1 without an activation runs the per-element rows; with one, the per-channel rows.
  const bool vec = S == 1 && act == 0;
  if (N == 0 || L == 0) {
    if (dgamma) std::fill(dgamma, dgamma + C, 0.f);
    if (dbeta) std::fill(dbeta, dbeta + C, 0.f);
    return;
  }
  const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(N, (kBlockElems + C * S - 1) / (C * S)));
  const int64_t blocks = (N + rows - 1) / rows;
  std::vector<double> acc(static_cast<size_t>(blocks * C * 2), 0.0);
  const double m = static_cast<double>(L);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> fdg, fdb;  // S == 1: float accumulators of <= 32 rows, see bwd_reduce_vec_row
    if (vec) {
      fdg.assign(static_cast<size_t>(C), 0.f);
      fdb.assign(static_cast<size_t>(C), 0.f);
    }
    for (int64_t b = b0; b < b1; ++b) {
      double* dg = &acc[b * C * 2];
      double* db = dg + C;
      const int64_t n_end = std::min(N, (b + 1) * rows);
      for (int64_t n = b * rows; n < n_end; ++n) {
        // The float accumulators of the S == 1 path go into double every 32 rows.
        const bool flush = vec && ((n - b * rows) % 32 == 31 || n + 1 == n_end);
        for (int64_t gi = 0; gi < G; ++gi) {
          const int64_t i = n * G + gi, c0 = gi * Cg;
          const float* xb = x + i * L;
          const float* gb = dy + i * L;
          const float mu = mean[i], r = invstd[i];
          double s1 = 0.0, s2 = 0.0;  // sum(gdy), sum(gdy * (x - mean))
          if (vec) {
            double t[2];
            bwd_reduce_vec_row(xb, gb, Cg, mu, r, gamma + c0, t, fdg.data() + c0, fdb.data() + c0);
            s1 = t[0];
            s2 = t[1];
          } else {
            for (int64_t k = 0; k < Cg; ++k) {
              double t[2];
              if (act != 0) {
                float a, bb;
                preact_coeffs(mu, r, gamma[c0 + k], beta[c0 + k], &a, &bb);
                act_bwd_reduce_row(act, xb + k * S, gb + k * S, S, mu, a, bb, act_param, 0, t);
              } else {
                bwd_reduce_row(xb + k * S, gb + k * S, S, mu, 0, t);
              }
              dg[c0 + k] += t[1] * r;
              db[c0 + k] += t[0];
              s1 += gamma[c0 + k] * t[0];
              s2 += gamma[c0 + k] * t[1];
            }
          }
          if (dx == nullptr) continue;
          // dx = r * gdy - r/m * s1 - (x - mu) * r^3 / m * s2 = r * gdy + bv * x + cv.
          const double bv = -static_cast<double>(r) * r * r / m * s2;
          const double cv = -r / m * s1 - bv * mu;
          float* dxb = dx + i * L;
          if (vec) {
            dx_vec_row(xb, gb, dxb, Cg, r, gamma + c0, static_cast<float>(bv), static_cast<float>(cv));
          } else if (act != 0) {
            for (int64_t k = 0; k < Cg; ++k) {
              float a, bb;
              preact_coeffs(mu, r, gamma[c0 + k], beta[c0 + k], &a, &bb);
              act_dx_row(act, xb + k * S, gb + k * S, dxb + k * S, S, r * gamma[c0 + k], static_cast<float>(bv),
                         static_cast<float>(cv), a, bb, act_param, 0);
            }
          } else {
            for (int64_t k = 0; k < Cg; ++k)
              dx_row(xb + k * S, gb + k * S, dxb + k * S, S, r * gamma[c0 + k], static_cast<float>(bv),
                     static_cast<float>(cv), 0);
          }
        }
        if (flush) {
          for (int64_t c = 0; c < C; ++c) {
            dg[c] += fdg[c];
            db[c] += fdb[c];
          }
          std::fill(fdg.begin(), fdg.end(), 0.f);
          std::fill(fdb.begin(), fdb.end(), 0.f);
        }
      }
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    double sg = 0.0, sb = 0.0;
    for (int64_t b = 0; b < blocks; ++b) {
      sg += acc[b * C * 2 + c];
      sb += acc[b * C * 2 + C + c];
    }
    if (dgamma) dgamma[c] = static_cast<float>(sg);
    if (dbeta) dbeta[c] = static_cast<float>(sb);
  }
}

void copy_floats(const float* src, float* dst, size_t n) {
  parallel_for(static_cast<int64_t>(n), 1 << 16, [&](int64_t b, int64_t e) { std::copy(src + b, src + e, dst + b); });
}

}  // namespace nl

// Channels-first normalization per position, Filter Response Normalization per row, EvoNorm-S0
// per group and EvoNorm-B0 per row (below).
// Channels-first: x is [N, C, S] and each (n, s) is normalized over
// its C values (timm's LayerNorm2d with center = true, RmsNorm2d with center = false):
//   LayerNorm2d: mu = mean_c x, r = 1 / sqrt(mean_c (x - mu)^2 + eps), xhat = (x - mu) * r
//   RmsNorm2d:   mu = 0,        r = 1 / sqrt(mean_c x^2 + eps),        xhat = x * r
//   y = xhat * gamma[c] + beta[c]
// Backward (gdy = gamma[c] * dy, sums over c at one position):
//   dx = r * (gdy - [center] sum(gdy) / C - xhat * sum(gdy * xhat) / C)
//   dgamma[c] = sum over n, s of dy * xhat; dbeta[c] = sum of dy.
// Work is cut into blocks of `len` positions of one sample (block_len: a function of N, C and S
// only); a block's C x len values (at most kBlockFloats, so x, dy and dx of a backward block fit
// in a core's L2) stay in cache between its passes, so x is read from memory once per kernel
// (and dy once in the backward), each channel's row segment of len floats streaming
// contiguously. Per-position sums run over c with one float lane per position (the inner loops
// run along s and vectorize); dgamma/dbeta are summed per block on 8 float lanes (the backward
// pass that reads dy anyway), finished in double and merged in block order, so results do not
// depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "channel_norm.h"

#include "common.h"
#include "dispatch.h"
#include "vec8.h"

#if NL_HAS_X86
#include <immintrin.h>
#endif

namespace nl {
namespace {

constexpr int64_t kPos = 1024;       // most positions per block (the per-position row buffers)
constexpr int64_t kBlockFloats = 32768;  // most values (C x len) per block: 128 KiB per tensor

// Positions per block: C x len <= kBlockFloats, a multiple of 8 up to kPos, halved (not below
// 64) while the N x blocks would give fewer than 16 blocks to share among the threads.
int64_t block_len(int64_t N, int64_t C, int64_t S) {
  int64_t len = std::min<int64_t>(kPos, std::max<int64_t>(8, kBlockFloats / std::max<int64_t>(1, C) / 8 * 8));
  while (len > 64 && N * ((S + len - 1) / len) < 16) len = std::max<int64_t>(64, len / 2 / 8 * 8);
  return len;
}

// Calls fn(row, c) for every row (n, c) of a tensor viewed as [N * C, S], rows split over the
// threads in chunks of at least ~16K values.
template <class F>
void for_each_row(int64_t N, int64_t C, int64_t S, F fn) {
  parallel_for(N * C, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, S)), [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) fn(row, row % C);
  });
}

// Per channel c, sums the K per-row partials part[K * (n * C + c) + k] over n in order (so the
// totals do not depend on the thread count) and calls finish(c, totals).
template <int K, class F>
void channel_totals(const std::vector<double>& part, int64_t N, int64_t C, F finish) {
  for (int64_t c = 0; c < C; ++c) {
    double t[K] = {};
    for (int64_t n = 0; n < N; ++n) {
      const double* p = part.data() + K * (n * C + c);
      for (int k = 0; k < K; ++k) t[k] += p[k];
    }
    finish(c, t);
  }
}

// Writes v to dst[c] when dst is given.
inline void put(float* dst, int64_t c, double v) {
  if (dst) dst[c] = static_cast<float>(v);
}

// Streaming stores for the output rows of tensors larger than the caches (as norm.cc's
// use_stream): the output is not read here, so writing around the caches saves the
// read-for-ownership traffic; the rows of the thread's next block (xn, dn: same layout, or
// null) are prefetched meanwhile, one cache line per 16 floats. Values before a 32-byte
// boundary of the output are written plainly. Same arithmetic as the plain loops.
bool use_stream(int64_t total) {
#if NL_HAS_X86
  return active_isa() != Isa::Scalar && total * static_cast<int64_t>(sizeof(float)) >= (int64_t{16} << 20);
#else
  (void)total;
  return false;
#endif
}

// Whether the per-row / per-group kernels below write `out` (total values, rows of S) with
// streaming stores: as use_stream, with rows that keep every 8-float store 16-byte aligned.
bool use_stream_rows(const float* out, int64_t S, int64_t total) {
  return out != nullptr && use_stream(total) && S % 4 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
}

// Stores 8 floats at p (16-byte aligned when stream), around the caches when stream. The SSE
// streaming store is in the x86-64 baseline, so every ISA variant of a body can use it.
NL_INLINE void put8(float* p, v8f v, bool stream) {
#if NL_HAS_X86
  if (stream) {
    __m128 lo, hi;
    __builtin_memcpy(&lo, &v, sizeof lo);
    __builtin_memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
    _mm_stream_ps(p, lo);
    _mm_stream_ps(p + 4, hi);
    return;
  }
#endif
  store8(p, v);
}

// Orders the streaming stores before the results are read by another thread or call.
inline void stream_fence(bool stream) {
#if NL_HAS_X86
  if (stream) _mm_sfence();
#else
  (void)stream;
#endif
}

#if NL_HAS_X86
// y[j] = (x[j] - mu[j]) * r[j] * g + b for j < len.
NL_TARGET_AVX2 void cn_affine_row_stream(const float* x, float* y, int64_t len, const float* mu, const float* r, float g,
                                         float b, const float* xn) {
  const __m256 g8 = _mm256_set1_ps(g), b8 = _mm256_set1_ps(b);
  int64_t j = 0;
  for (; j < len && reinterpret_cast<uintptr_t>(y + j) % 32 != 0; ++j) y[j] = (x[j] - mu[j]) * r[j] * g + b;
  for (; j + 8 <= len; j += 8) {
    if (xn && (j & 15) == 0) __builtin_prefetch(xn + j);
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(mu + j));
    _mm256_stream_ps(y + j, _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(r + j)), g8), b8));
  }
  for (; j < len; ++j) y[j] = (x[j] - mu[j]) * r[j] * g + b;
}

// dx[j] = r[j] * (g * dy[j] - sa[j] - xh * sb[j]), xh = (x[j] - mu[j]) * r[j], for j < len.
NL_TARGET_AVX2 void cn_dx_row_stream(const float* x, const float* dy, float* dx, int64_t len, const float* mu,
                                     const float* r, const float* sa, const float* sb, float g, const float* xn,
                                     const float* dn) {
  const __m256 g8 = _mm256_set1_ps(g);
  int64_t j = 0;
  for (; j < len && reinterpret_cast<uintptr_t>(dx + j) % 32 != 0; ++j)
    dx[j] = r[j] * (g * dy[j] - sa[j] - (x[j] - mu[j]) * r[j] * sb[j]);
  for (; j + 8 <= len; j += 8) {
    if (xn && (j & 15) == 0) {
      __builtin_prefetch(xn + j);
      __builtin_prefetch(dn + j);
    }
    const __m256 r8 = _mm256_loadu_ps(r + j);
    const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(mu + j)), r8);
    const __m256 t = _mm256_sub_ps(_mm256_mul_ps(g8, _mm256_loadu_ps(dy + j)), _mm256_loadu_ps(sa + j));
    _mm256_stream_ps(dx + j, _mm256_mul_ps(r8, _mm256_sub_ps(t, _mm256_mul_ps(xh, _mm256_loadu_ps(sb + j)))));
  }
  for (; j < len; ++j) dx[j] = r[j] * (g * dy[j] - sa[j] - (x[j] - mu[j]) * r[j] * sb[j]);
}
#endif

// One block: positions [0, len) of x (stride S between channels). stream: y rows through
// cn_affine_row_stream, prefetching xn (the next block's x, or null).
NL_INLINE void cn_forward_body(const float* x, float* y, int64_t C, int64_t S, int64_t len, const float* gamma,
                               const float* beta, float eps, bool center, float* mean, float* invstd, bool stream,
                               const float* xn) {
  float mu[kPos], acc[kPos];
  for (int64_t j = 0; j < len; ++j) mu[j] = 0.f, acc[j] = 0.f;
  // Sums over c take four channels per step ((x0 + x1) + (x2 + x3) added to the running sum), so
  // the per-position row buffers are loaded and stored once per four channel rows.
  const int64_t c4 = C / 4 * 4;
  if (center) {
    for (int64_t c = 0; c < c4; c += 4) {
      const float *x0 = x + c * S, *x1 = x0 + S, *x2 = x1 + S, *x3 = x2 + S;
      for (int64_t j = 0; j < len; ++j) mu[j] += (x0[j] + x1[j]) + (x2[j] + x3[j]);
    }
    for (int64_t c = c4; c < C; ++c) {
      const float* xc = x + c * S;
      for (int64_t j = 0; j < len; ++j) mu[j] += xc[j];
    }
    const float inv = 1.f / static_cast<float>(C);
    for (int64_t j = 0; j < len; ++j) mu[j] *= inv;
  }
  for (int64_t c = 0; c < c4; c += 4) {
    const float *x0 = x + c * S, *x1 = x0 + S, *x2 = x1 + S, *x3 = x2 + S;
    for (int64_t j = 0; j < len; ++j) {
      const float d0 = x0[j] - mu[j], d1 = x1[j] - mu[j], d2 = x2[j] - mu[j], d3 = x3[j] - mu[j];
      acc[j] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
    }
  }
  for (int64_t c = c4; c < C; ++c) {
    const float* xc = x + c * S;
    for (int64_t j = 0; j < len; ++j) {
      const float d = xc[j] - mu[j];
      acc[j] += d * d;
    }
  }
  for (int64_t j = 0; j < len; ++j) acc[j] = 1.f / std::sqrt(acc[j] / static_cast<float>(C) + eps);
  for (int64_t c = 0; c < C; ++c) {
    const float* xc = x + c * S;
    float* yc = y + c * S;
    const float g = gamma ? gamma[c] : 1.f, b = beta ? beta[c] : 0.f;
#if NL_HAS_X86
    if (stream) {
      cn_affine_row_stream(xc, yc, len, mu, acc, g, b, xn ? xn + c * S : nullptr);
      continue;
    }
#endif
    for (int64_t j = 0; j < len; ++j) yc[j] = (xc[j] - mu[j]) * acc[j] * g + b;
  }
#if NL_HAS_X86
  if (stream) _mm_sfence();
#endif
  if (mean) for (int64_t j = 0; j < len; ++j) mean[j] = mu[j];
  for (int64_t j = 0; j < len; ++j) invstd[j] = acc[j];
}
NL_ISA_VARIANTS(cn_forward_block,
                (const float* x, float* y, int64_t C, int64_t S, int64_t len, const float* gamma, const float* beta,
                 float eps, bool center, float* mean, float* invstd, bool stream, const float* xn),
                (x, y, C, S, len, gamma, beta, eps, center, mean, invstd, stream, xn), cn_forward_body)

// dgp/dbp (C doubles each, this block's partials) receive sum dy * xhat and sum dy per channel,
// each summed on 8 float lanes along the block's positions and finished in double.
NL_INLINE void cn_backward_body(const float* x, const float* dy, float* dx, int64_t C, int64_t S, int64_t len,
                                const float* mean, const float* invstd, const float* gamma, bool center, double* dgp,
                                double* dbp, bool stream, const float* xn, const float* dn) {
  float sa[kPos], sb[kPos], mu[kPos];
  for (int64_t j = 0; j < len; ++j) sa[j] = 0.f, sb[j] = 0.f, mu[j] = center ? mean[j] : 0.f;
  // Two channels per step: sa, sb get (channel c's term + channel c + 1's term), so the row
  // buffers are loaded and stored once per two channel rows; a last odd channel alone.
  int64_t c = 0;
  for (; c + 2 <= C; c += 2) {
    const float *x0 = x + c * S, *x1 = x0 + S, *e0 = dy + c * S, *e1 = e0 + S;
    const float g0 = gamma ? gamma[c] : 1.f, g1 = gamma ? gamma[c + 1] : 1.f;
    const v8f g08 = splat8(g0), g18 = splat8(g1);
    v8f pg0 = {}, pb0 = {}, pg1 = {}, pb1 = {};
    int64_t j = 0;
    for (; j + 8 <= len; j += 8) {
      const v8f m = load8(mu + j), r = load8(invstd + j);
      const v8f d0 = load8(e0 + j), d1 = load8(e1 + j);
      const v8f xh0 = (load8(x0 + j) - m) * r, xh1 = (load8(x1 + j) - m) * r;
      const v8f gd0 = g08 * d0, gd1 = g18 * d1;
      store8(sa + j, load8(sa + j) + (gd0 + gd1));
      store8(sb + j, load8(sb + j) + (gd0 * xh0 + gd1 * xh1));
      pg0 += d0 * xh0;
      pb0 += d0;
      pg1 += d1 * xh1;
      pb1 += d1;
    }
    double q0 = hsum8(pg0), b0 = hsum8(pb0), q1 = hsum8(pg1), b1 = hsum8(pb1);
    for (; j < len; ++j) {
      const float xh0 = (x0[j] - mu[j]) * invstd[j], xh1 = (x1[j] - mu[j]) * invstd[j];
      const float gd0 = g0 * e0[j], gd1 = g1 * e1[j];
      sa[j] += gd0 + gd1;
      sb[j] += gd0 * xh0 + gd1 * xh1;
      q0 += e0[j] * xh0;
      b0 += e0[j];
      q1 += e1[j] * xh1;
      b1 += e1[j];
    }
    if (dgp) dgp[c] = q0, dgp[c + 1] = q1;
    if (dbp) dbp[c] = b0, dbp[c + 1] = b1;
  }
  for (; c < C; ++c) {
    const float* xc = x + c * S;
    const float* dc = dy + c * S;
    const float g = gamma ? gamma[c] : 1.f;
    const v8f g8 = splat8(g);
    v8f pg8 = {}, pb8 = {};
    int64_t j = 0;
    for (; j + 8 <= len; j += 8) {
      const v8f d = load8(dc + j);
      const v8f xh = (load8(xc + j) - load8(mu + j)) * load8(invstd + j);
      store8(sa + j, load8(sa + j) + g8 * d);
      store8(sb + j, load8(sb + j) + g8 * d * xh);
      pg8 += d * xh;
      pb8 += d;
    }
    double pg = hsum8(pg8), pb = hsum8(pb8);
    for (; j < len; ++j) {
      const float xh = (xc[j] - mu[j]) * invstd[j];
      sa[j] += g * dc[j];
      sb[j] += g * dc[j] * xh;
      pg += dc[j] * xh;
      pb += dc[j];
    }
    if (dgp) dgp[c] = pg;
    if (dbp) dbp[c] = pb;
  }
  if (!dx) return;
  const float inv = 1.f / static_cast<float>(C);
  for (int64_t j = 0; j < len; ++j) {
    sa[j] = center ? sa[j] * inv : 0.f;
    sb[j] *= inv;
  }
  for (int64_t c = 0; c < C; ++c) {
    const float* xc = x + c * S;
    const float* dc = dy + c * S;
    float* o = dx + c * S;
    const float g = gamma ? gamma[c] : 1.f;
#if NL_HAS_X86
    if (stream) {
      cn_dx_row_stream(xc, dc, o, len, mu, invstd, sa, sb, g, xn ? xn + c * S : nullptr, xn ? dn + c * S : nullptr);
      continue;
    }
#endif
    for (int64_t j = 0; j < len; ++j) {
      const float xh = (xc[j] - mu[j]) * invstd[j];
      o[j] = invstd[j] * (g * dc[j] - sa[j] - xh * sb[j]);
    }
  }
#if NL_HAS_X86
  if (stream) _mm_sfence();
#endif
}
NL_ISA_VARIANTS(cn_backward_block,
                (const float* x, const float* dy, float* dx, int64_t C, int64_t S, int64_t len, const float* mean,
                 const float* invstd, const float* gamma, bool center, double* dgp, double* dbp, bool stream,
                 const float* xn, const float* dn),
                (x, dy, dx, C, S, len, mean, invstd, gamma, center, dgp, dbp, stream, xn, dn), cn_backward_body)

// Offset of block b's first value in x (nb blocks of bl positions per sample).
int64_t block_offset(int64_t b, int64_t nb, int64_t bl, int64_t C, int64_t S) { return (b / nb) * C * S + (b % nb) * bl; }

}  // namespace

void channel_norm_forward(const float* x, int64_t N, int64_t C, int64_t S, const float* gamma, const float* beta,
                          float eps, bool center, float* y, float* mean, float* invstd) {
  const int64_t bl = block_len(N, C, S), nb = (S + bl - 1) / bl;
  const bool stream = use_stream(N * C * S);
  parallel_for(N * nb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n = b / nb, s0 = (b % nb) * bl, len = std::min(bl, S - s0);
      const int64_t off = n * C * S + s0, p = n * S + s0;
      cn_forward_block(x + off, y + off, C, S, len, gamma, beta, eps, center, mean ? mean + p : nullptr, invstd + p, stream,
                       b + 1 < b1 ? x + block_offset(b + 1, nb, bl, C, S) : nullptr);
    }
  });
}

void channel_norm_backward(const float* x, const float* dy, int64_t N, int64_t C, int64_t S, const float* mean,
                           const float* invstd, const float* gamma, bool center, float* dx, float* dgamma, float* dbeta) {
  const size_t nc = static_cast<size_t>(C);
  const int64_t bl = block_len(N, C, S), nb = (S + bl - 1) / bl, blocks = N * nb;
  const bool sums = dgamma || dbeta;
  const bool stream = dx && use_stream(N * C * S);
  std::vector<double> partial(sums ? static_cast<size_t>(blocks) * 2 * nc : 0);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n = b / nb, s0 = (b % nb) * bl, len = std::min(bl, S - s0);
      const int64_t off = n * C * S + s0, p = n * S + s0;
      double* dgp = sums ? partial.data() + static_cast<size_t>(b) * 2 * nc : nullptr;
      const int64_t next = b + 1 < b1 ? block_offset(b + 1, nb, bl, C, S) : -1;
      cn_backward_block(x + off, dy + off, dx ? dx + off : nullptr, C, S, len, center ? mean + p : nullptr, invstd + p, gamma,
                        center, dgp, sums ? dgp + nc : nullptr, stream, next >= 0 ? x + next : nullptr,
                        next >= 0 ? dy + next : nullptr);
    }
  });
  if (sums) {
    for (int64_t c = 0; c < C; ++c) {
      double g = 0.0, bsum = 0.0;
      for (int64_t b = 0; b < blocks; ++b) {
        g += partial[static_cast<size_t>(b) * 2 * nc + c];
        bsum += partial[static_cast<size_t>(b) * 2 * nc + nc + c];
      }
      put(dgamma, c, g);
      put(dbeta, c, bsum);
    }
  }
}

namespace {

// ---------------------------------------------------------------------------------------------
// Filter Response Normalization + TLU per row (n, c) of x viewed as [N * C, S]:
//   r = 1 / sqrt(mean(x^2) + eps), z = x * r * gamma[c] + beta[c], y = max(z, tau[c])
// Backward (ties z == tau send half of dy each way, as torch.maximum):
//   dz = dy * [z > tau] (+ dy / 2 at ties), dtau[c] += dy - dz
//   dx = gamma[c] * r * (dz - x * r^2 * sum(dz * x) / S)
//   dgamma[c] += r * sum(dz * x), dbeta[c] += sum(dz)
// Row sums use the 8-float vector lanes of vec8.h, finished in double.

NL_INLINE void frn_forward_body(const float* x, float* y, int64_t S, float eps, float g, float b, float tau, bool tlu,
                                float* rout, bool stream) {
  v8f acc = {};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f v = load8(x + i);
    acc += v * v;
  }
  double q = hsum8(acc);
  for (; i < S; ++i) q += static_cast<double>(x[i]) * x[i];
  const float r = static_cast<float>(1.0 / std::sqrt(q / static_cast<double>(S) + eps));
  *rout = r;
  const float a = r * g;
  const v8f a8 = a - v8f{}, b8 = b - v8f{}, t8 = tau - v8f{};
  i = 0;
  for (; i + 8 <= S; i += 8) {
    v8f z = load8(x + i) * a8 + b8;
    if (tlu) z = z > t8 ? z : t8;
    put8(y + i, z, stream);
  }
  for (; i < S; ++i) {
    const float z = x[i] * a + b;
    y[i] = tlu ? std::max(z, tau) : z;
  }
}
NL_ISA_VARIANTS(frn_forward_row,
                (const float* x, float* y, int64_t S, float eps, float g, float b, float tau, bool tlu, float* rout,
                 bool stream),
                (x, y, S, eps, g, b, tau, tlu, rout, stream), frn_forward_body)

// d max(z, t) / dz as torch.maximum: 1 where z > t, 1/2 at a tie, else 0 (the TLU's and
// EvoNorm-B0's gradient split).
NL_INLINE v8f max_share8(v8f z, v8f t) {
  const v8f one = 1.f - v8f{}, half = 0.5f - v8f{}, zero = {};
  return z > t ? one : (z == t ? half : zero);
}
NL_INLINE float max_share1(float z, float t) { return z > t ? 1.f : (z == t ? 0.5f : 0.f); }

// out[0] = sum(dz * x), out[1] = sum(dz), out[2] = sum(dy - dz) (the TLU's share).
NL_INLINE void frn_backward_body(const float* x, const float* dy, float* dx, int64_t S, float r, float g, float b,
                                 float tau, bool tlu, double* out, bool stream) {
  const float a = r * g;
  v8f sx = {}, sz = {}, st = {};
  const v8f a8 = a - v8f{}, b8 = b - v8f{}, t8 = tau - v8f{}, one = 1.f - v8f{};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f xv = load8(x + i), d = load8(dy + i);
    const v8f w = tlu ? max_share8(xv * a8 + b8, t8) : one;
    const v8f dz = d * w;
    sx += dz * xv;
    sz += dz;
    st += d - dz;
  }
  double qx = hsum8(sx), qz = hsum8(sz), qt = hsum8(st);
  for (; i < S; ++i) {
    const float w = tlu ? max_share1(x[i] * a + b, tau) : 1.f;
    const float dz = dy[i] * w;
    qx += static_cast<double>(dz) * x[i];
    qz += dz;
    qt += dy[i] - dz;
  }
  out[0] = qx;
  out[1] = qz;
  out[2] = qt;
  if (!dx) return;
  const float k = static_cast<float>(static_cast<double>(r) * r * qx / static_cast<double>(S));
  const v8f k8 = k - v8f{};
  i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f xv = load8(x + i), d = load8(dy + i);
    const v8f w = tlu ? max_share8(xv * a8 + b8, t8) : one;
    put8(dx + i, a8 * (d * w - xv * k8), stream);
  }
  for (; i < S; ++i) {
    const float w = tlu ? max_share1(x[i] * a + b, tau) : 1.f;
    dx[i] = a * (dy[i] * w - x[i] * k);
  }
}
NL_ISA_VARIANTS(frn_backward_row,
                (const float* x, const float* dy, float* dx, int64_t S, float r, float g, float b, float tau, bool tlu,
                 double* out, bool stream),
                (x, dy, dx, S, r, g, b, tau, tlu, out, stream), frn_backward_body)

}  // namespace

void frn_forward(const float* x, int64_t N, int64_t C, int64_t S, const float* gamma, const float* beta, const float* tau,
                 float eps, float* y, float* rstd) {
  const bool stream = use_stream_rows(y, S, N * C * S);
  for_each_row(N, C, S, [&](int64_t row, int64_t c) {
    frn_forward_row(x + row * S, y + row * S, S, eps, gamma[c], beta[c], tau ? tau[c] : 0.f, tau != nullptr, rstd + row,
                    stream);
    stream_fence(stream);
  });
}

void frn_backward(const float* x, const float* dy, int64_t N, int64_t C, int64_t S, const float* rstd, const float* gamma,
                  const float* beta, const float* tau, float* dx, float* dgamma, float* dbeta, float* dtau) {
  std::vector<double> sums(static_cast<size_t>(N * C) * 3);
  const bool stream = use_stream_rows(dx, S, N * C * S);
  for_each_row(N, C, S, [&](int64_t row, int64_t c) {
    double* out = sums.data() + 3 * row;
    frn_backward_row(x + row * S, dy + row * S, dx ? dx + row * S : nullptr, S, rstd[row], gamma[c], beta[c],
                     tau ? tau[c] : 0.f, tau != nullptr, out, stream);
    stream_fence(stream);
    out[0] *= rstd[row];  // dgamma's share of the row: r * sum(dz * x)
  });
  channel_totals<3>(sums, N, C, [&](int64_t c, const double* t) {
    put(dgamma, c, t[0]);
    put(dbeta, c, t[1]);
    put(dtau, c, t[2]);
  });
}

namespace {

// ---------------------------------------------------------------------------------------------
// EvoNorm-S0 per group (n, g) of x viewed as [N * G, Cg * S] (M values, channel c = g * Cg + i / S):
//   rs = 1 / sqrt(var + eps) (biased variance over the group), u = x * sigmoid(v[c] * x),
//   y = u * rs * w[c] + b[c]
// Backward (A = sum over the group of dy * w[c] * u, du = dy * w[c] * rs, s = sigmoid(v x)),
// one pass for the sums and one for dx over the group (in cache for groups up to ~64K values):
//   dx = du * (s + v x s (1 - s)) - rs^3 * A * (x - mean) / M
//   dv[c] += sum du * x^2 s (1 - s); dw[c] += sum dy * u * rs; db[c] += sum dy
// sigmoid uses exp8 (vec8.h).
// The mean mu of the n values at x (float lanes, summed in double), returned, and
// *q = sum((x - mu)^2) the same way.
NL_INLINE float mean_sq_dev(const float* x, int64_t n, double* q) {
  v8f acc = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc += load8(x + i);
  double sum = hsum8(acc);
  for (; i < n; ++i) sum += x[i];
  const float mu = static_cast<float>(sum / static_cast<double>(n));
  const v8f m8 = mu - v8f{};
  acc = v8f{};
  i = 0;
  for (; i + 8 <= n; i += 8) {
    const v8f d = load8(x + i) - m8;
    acc += d * d;
  }
  double s2 = hsum8(acc);
  for (; i < n; ++i) s2 += static_cast<double>(x[i] - mu) * (x[i] - mu);
  *q = s2;
  return mu;
}

NL_INLINE v8f sigmoid8(v8f z) { return 1.f / (1.f + exp8(-z)); }
NL_INLINE float sigmoid1(float z) { return 1.f / (1.f + std::exp(-z)); }

NL_INLINE void s0_forward_body(const float* x, float* y, int64_t Cg, int64_t S, const float* v, const float* w,
                               const float* b, float eps, float* mean, float* rstd, bool stream) {
  const int64_t M = Cg * S;
  double q;
  const float mu = mean_sq_dev(x, M, &q);
  const float rs = static_cast<float>(1.0 / std::sqrt(q / static_cast<double>(M) + eps));
  *mean = mu;
  *rstd = rs;
  for (int64_t k = 0; k < Cg; ++k) {
    const float* xc = x + k * S;
    float* yc = y + k * S;
    const float vk = v[k], a = rs * w[k], bk = b[k];
    const v8f v8 = vk - v8f{}, a8 = a - v8f{}, b8 = bk - v8f{};
    int64_t j = 0;
    for (; j + 8 <= S; j += 8) {
      const v8f xv = load8(xc + j);
      put8(yc + j, xv * sigmoid8(v8 * xv) * a8 + b8, stream);
    }
    for (; j < S; ++j) yc[j] = xc[j] * sigmoid1(vk * xc[j]) * a + bk;
  }
}
NL_ISA_VARIANTS(s0_forward_group,
                (const float* x, float* y, int64_t Cg, int64_t S, const float* v, const float* w, const float* b, float eps,
                 float* mean, float* rstd, bool stream),
                (x, y, Cg, S, v, w, b, eps, mean, rstd, stream), s0_forward_body)

// part: 3 doubles per channel of the group (dv, dw, db). fac (M floats, per thread) keeps
// s + v x s (1 - s) from the first pass for the dx pass, so each sigmoid is evaluated once.
NL_INLINE void s0_backward_body(const float* x, const float* dy, float* dx, int64_t Cg, int64_t S, const float* v,
                                const float* w, float mu, float rs, double* part, float* fac, bool stream) {
  const int64_t M = Cg * S;
  double A = 0.0;
  for (int64_t k = 0; k < Cg; ++k) {
    const float* xc = x + k * S;
    const float* dc = dy + k * S;
    float* fc = fac + k * S;
    const v8f v8 = v[k] - v8f{};
    v8f su = {}, sv = {}, sb = {};
    int64_t j = 0;
    for (; j + 8 <= S; j += 8) {
      const v8f xv = load8(xc + j), d = load8(dc + j);
      const v8f sg = sigmoid8(v8 * xv);
      su += d * xv * sg;
      sv += d * xv * xv * sg * (1.f - sg);
      sb += d;
      store8(fc + j, sg + v8 * xv * sg * (1.f - sg));
    }
    double du = hsum8(su), dvs = hsum8(sv), db = hsum8(sb);
    for (; j < S; ++j) {
      const float sg = sigmoid1(v[k] * xc[j]);
      du += static_cast<double>(dc[j]) * xc[j] * sg;
      dvs += static_cast<double>(dc[j]) * xc[j] * xc[j] * sg * (1.f - sg);
      db += dc[j];
      fc[j] = sg + v[k] * xc[j] * sg * (1.f - sg);
    }
    // sum dy * u over the channel: A gets it times w; dw = rs * it; dv = w * rs * sum(dy x^2 s (1 - s)).
    A += w[k] * du;
    part[3 * k] = w[k] * rs * dvs;
    part[3 * k + 1] = rs * du;
    part[3 * k + 2] = db;
  }
  if (!dx) return;
  const float kvar = static_cast<float>(static_cast<double>(rs) * rs * rs * A / static_cast<double>(M));
  const v8f kv8 = kvar - v8f{}, m8 = mu - v8f{};
  for (int64_t k = 0; k < Cg; ++k) {
    const float* xc = x + k * S;
    const float* dc = dy + k * S;
    const float* fc = fac + k * S;
    float* o = dx + k * S;
    const float a = w[k] * rs;
    const v8f a8 = a - v8f{};
    int64_t j = 0;
    for (; j + 8 <= S; j += 8) {
      const v8f xv = load8(xc + j), d = load8(dc + j);
      put8(o + j, d * a8 * load8(fc + j) - kv8 * (xv - m8), stream);
    }
    for (; j < S; ++j) o[j] = dc[j] * a * fc[j] - kvar * (xc[j] - mu);
  }
}
NL_ISA_VARIANTS(s0_backward_group,
                (const float* x, const float* dy, float* dx, int64_t Cg, int64_t S, const float* v, const float* w, float mu,
                 float rs, double* part, float* fac, bool stream),
                (x, dy, dx, Cg, S, v, w, mu, rs, part, fac, stream), s0_backward_body)

}  // namespace

void evo_norm_s0_forward(const float* x, int64_t N, int64_t G, int64_t Cg, int64_t S, const float* v, const float* w,
                         const float* b, float eps, float* y, float* mean, float* rstd) {
  const int64_t M = Cg * S;
  const bool stream = use_stream_rows(y, S, N * G * M);
  for_each_row(N, G, M, [&](int64_t i, int64_t g) {
    const int64_t c0 = g * Cg;
    s0_forward_group(x + i * M, y + i * M, Cg, S, v + c0, w + c0, b + c0, eps, mean + i, rstd + i, stream);
    stream_fence(stream);
  });
}

void evo_norm_s0_backward(const float* x, const float* dy, int64_t N, int64_t G, int64_t Cg, int64_t S, const float* v,
                          const float* w, const float* mean, const float* rstd, float* dx, float* dv, float* dw, float* db) {
  const int64_t M = Cg * S;
  std::vector<double> part(static_cast<size_t>(N * G * Cg) * 3);
  const bool stream = use_stream_rows(dx, S, N * G * M);
  for_each_row(N, G, M, [&](int64_t i, int64_t g) {
    const int64_t c0 = g * Cg;
    // The calling thread's dx-factor buffer, grown to the group size and reused across calls.
    thread_local std::vector<float> fac;
    if (fac.size() < static_cast<size_t>(M)) fac.resize(static_cast<size_t>(M));
    s0_backward_group(x + i * M, dy + i * M, dx ? dx + i * M : nullptr, Cg, S, v + c0, w + c0, mean[i], rstd[i],
                      part.data() + 3 * static_cast<size_t>(i * Cg), fac.data(), stream);
    stream_fence(stream);
  });
  channel_totals<3>(part, N, G * Cg, [&](int64_t c, const double* t) {
    put(dv, c, t[0]);
    put(dw, c, t[1]);
    put(db, c, t[2]);
  });
}

namespace {

// ---------------------------------------------------------------------------------------------
// EvoNorm-B0 per row (n, c) of x viewed as [N * C, S], given left[c] = sqrt(var_B[c] + eps):
//   sd = sqrt(biased row variance + eps), den = max(left[c], v[c] * x + sd), y = x / den * w[c] + b[c]
// Backward (dq = dy * w[c]; dden = -dq * x / den^2, to `left` where left > right, to the right
// term where right > left, half each at ties, as torch.maximum):
//   dx = dq / den + dden_right * v[c] + (sum over the row of dden_right) / sd * (x - mean) / S
//   row sums: dleft (to var_B, finished by the caller), dv = sum dden_right * x, dw = sum dy * x / den,
//   db = sum dy.
NL_INLINE void b0_forward_body(const float* x, float* y, int64_t S, float left, float v, float w, float b, float eps,
                               float* mean, float* sdout, bool stream) {
  double q;
  const float mu = mean_sq_dev(x, S, &q);
  const float sd = static_cast<float>(std::sqrt(q / static_cast<double>(S) + eps));
  *mean = mu;
  *sdout = sd;
  const v8f l8 = left - v8f{}, v8 = v - v8f{}, s8 = sd - v8f{}, w8 = w - v8f{}, b8 = b - v8f{};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f xv = load8(x + i);
    const v8f r = v8 * xv + s8;
    put8(y + i, xv / (r > l8 ? r : l8) * w8 + b8, stream);
  }
  for (; i < S; ++i) y[i] = x[i] / std::max(left, v * x[i] + sd) * w + b;
}
NL_ISA_VARIANTS(b0_forward_row,
                (const float* x, float* y, int64_t S, float left, float v, float w, float b, float eps, float* mean, float* sd,
                 bool stream),
                (x, y, S, left, v, w, b, eps, mean, sd, stream), b0_forward_body)

// out: dleft, dsd (sum of dden_right), dv, dw, db for the row.
NL_INLINE void b0_reduce_body(const float* x, const float* dy, int64_t S, float left, float v, float w, float sd,
                              double* out) {
  v8f sl = {}, sr = {}, sv = {}, sw = {}, sb = {};
  const v8f l8 = left - v8f{}, v8 = v - v8f{}, s8 = sd - v8f{}, w8 = w - v8f{}, one = 1.f - v8f{};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f xv = load8(x + i), d = load8(dy + i);
    const v8f r = v8 * xv + s8;
    const v8f den = r > l8 ? r : l8;
    const v8f q = xv / den;
    const v8f dden = -(d * w8) * q / den;
    const v8f toR = max_share8(r, l8);
    sl += dden * (one - toR);
    sr += dden * toR;
    sv += dden * toR * xv;
    sw += d * q;
    sb += d;
  }
  double dl = hsum8(sl), dr = hsum8(sr), dv = hsum8(sv), dw = hsum8(sw), db = hsum8(sb);
  for (; i < S; ++i) {
    const float r = v * x[i] + sd;
    const float den = std::max(r, left);
    const float q = x[i] / den;
    const float dden = -(dy[i] * w) * q / den;
    const float toR = max_share1(r, left);
    dl += dden * (1.f - toR);
    dr += dden * toR;
    dv += dden * toR * x[i];
    dw += dy[i] * q;
    db += dy[i];
  }
  out[0] = dl;
  out[1] = dr;
  out[2] = dv;
  out[3] = dw;
  out[4] = db;
}
NL_ISA_VARIANTS(b0_reduce_row,
                (const float* x, const float* dy, int64_t S, float left, float v, float w, float sd, double* out),
                (x, dy, S, left, v, w, sd, out), b0_reduce_body)

// dx = dq / den + dden * toR * v + kI * (x - mu) + kB * (x - muB); kI = dsd / (sd S), kB from var_B.
NL_INLINE void b0_dx_body(const float* x, const float* dy, float* dx, int64_t S, float left, float v, float w, float sd,
                          float mu, float kI, float muB, float kB, bool stream) {
  const v8f l8 = left - v8f{}, v8 = v - v8f{}, s8 = sd - v8f{}, w8 = w - v8f{}, m8 = mu - v8f{},
            ki8 = kI - v8f{}, mb8 = muB - v8f{}, kb8 = kB - v8f{};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f xv = load8(x + i), d = load8(dy + i);
    const v8f r = v8 * xv + s8;
    const v8f den = r > l8 ? r : l8;
    const v8f dq = d * w8;
    const v8f dden = -dq * xv / (den * den);
    const v8f toR = max_share8(r, l8);
    put8(dx + i, dq / den + dden * toR * v8 + ki8 * (xv - m8) + kb8 * (xv - mb8), stream);
  }
  for (; i < S; ++i) {
    const float r = v * x[i] + sd;
    const float den = std::max(r, left);
    const float dq = dy[i] * w;
    const float dden = -dq * x[i] / (den * den);
    const float toR = max_share1(r, left);
    dx[i] = dq / den + dden * toR * v + kI * (x[i] - mu) + kB * (x[i] - muB);
  }
}
NL_ISA_VARIANTS(b0_dx_row,
                (const float* x, const float* dy, float* dx, int64_t S, float left, float v, float w, float sd, float mu,
                 float kI, float muB, float kB, bool stream),
                (x, dy, dx, S, left, v, w, sd, mu, kI, muB, kB, stream), b0_dx_body)

}  // namespace

void evo_norm_b0_forward(const float* x, int64_t N, int64_t C, int64_t S, const float* left, const float* v,
                         const float* w, const float* b, float eps, float* y, float* mean, float* sd) {
  const bool stream = use_stream_rows(y, S, N * C * S);
  for_each_row(N, C, S, [&](int64_t row, int64_t c) {
    b0_forward_row(x + row * S, y + row * S, S, left[c], v[c], w[c], b[c], eps, mean + row, sd + row, stream);
    stream_fence(stream);
  });
}

void evo_norm_b0_backward(const float* x, const float* dy, int64_t N, int64_t C, int64_t S, const float* left,
                          const float* v, const float* w, const float* mean, const float* sd, const float* muB, float* dx,
                          float* dv, float* dw, float* db) {
  std::vector<double> part(static_cast<size_t>(N * C) * 5);
  // kI for a row from its reduced sums: dsd / (sd S).
  const auto row_kI = [&](int64_t row) { return static_cast<float>(part[5 * row + 1] / sd[row] / static_cast<double>(S)); };
  // Eval (left constant): dx needs only the row's own sums, so each row is finished while it is
  // in cache and x, dy are read once. Training: dx also needs the channel totals over all rows
  // (the batch variance's share), so dx runs in a second sweep.
  const bool fused = dx && !muB;
  const bool stream = use_stream_rows(dx, S, N * C * S);
  for_each_row(N, C, S, [&](int64_t row, int64_t c) {
    b0_reduce_row(x + row * S, dy + row * S, S, left[c], v[c], w[c], sd[row], part.data() + 5 * row);
    if (fused)
      b0_dx_row(x + row * S, dy + row * S, dx + row * S, S, left[c], v[c], w[c], sd[row], mean[row], row_kI(row), 0.f, 0.f,
                stream);
    stream_fence(stream);
  });
  // Per channel in n order: dL/dvar_B = dleft / (2 left); dx gets dvar_B * 2 (x - muB) / (N S).
  std::vector<float> kB(static_cast<size_t>(C), 0.f);
  channel_totals<5>(part, N, C, [&](int64_t c, const double* t) {
    if (muB) kB[c] = static_cast<float>(t[0] / left[c] / static_cast<double>(N * S));
    put(dv, c, t[2]);
    put(dw, c, t[3]);
    put(db, c, t[4]);
  });
  if (!dx || fused) return;
  for_each_row(N, C, S, [&](int64_t row, int64_t c) {
    b0_dx_row(x + row * S, dy + row * S, dx + row * S, S, left[c], v[c], w[c], sd[row], mean[row], row_kI(row), muB[c], kB[c],
              stream);
    stream_fence(stream);
  });
}

}  // namespace nl

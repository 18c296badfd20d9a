// Local response normalization across channels (torch.nn.LocalResponseNorm), x viewed as
// [N, C, S]. With before = size / 2 and after = (size - 1) / 2 (integer division; channels
// outside [0, C) count as zero, as the zero padding of torch.nn.functional.local_response_norm):
//   s_c = k + alpha / size * sum_{c' = c - before}^{c + after} x_{c'}^2,   p_c = s_c^(-beta)
//   y_c = x_c * p_c
// Backward (channel j lies in the window of c for c in [j - after, j + before]):
//   t_c  = dy_c * x_c * p_c / s_c                          (= dy_c * x_c * s_c^(-beta-1))
//   dx_j = dy_j * p_j - 2 alpha beta / size * x_j * sum_{c = j - after}^{j + before} t_c
// Work is cut into fixed blocks of positions of one sample (len positions, C * len about 64K
// values, whole 1024-position rows at C = 64 so each channel row streams from memory
// contiguously; the backward's x, dy, dx and t blocks fit a 1 MiB L2): x is read from memory
// once in the forward and x and dy once in the backward, which recomputes s instead of saving
// it. Window sums slide along the channels with one double lane per position (squares of floats
// are exact in double, so removing the channel that leaves the window cancels nothing that
// matters); every position sees the same operations whatever the block or thread split, so
// results do not depend on the thread count. p = exp(-beta * log s) on 8-float lanes (beta = 3/4:
// from square roots); lanes where s is not a positive normal float or the result leaves exp's
// range take 1 / powf(s, beta) (PyTorch's x / s^beta at s = 0: inf or NaN): a block with any
// such lane runs again on that slower path.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <vector>

#include "local_response_norm.h"

#include "common.h"
#include "dispatch.h"
#include "vec8.h"

namespace nl {
namespace {

typedef float v4f __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));

// 8 doubles as two 4-double halves: GCC moves a single 64-byte vector lane by lane through memory
// on the AVX2 and scalar paths.
struct D8 {
  v4d lo, hi;
};
NL_INLINE void operator+=(D8& a, D8 b) { a.lo += b.lo, a.hi += b.hi; }
NL_INLINE void operator-=(D8& a, D8 b) { a.lo -= b.lo, a.hi -= b.hi; }
NL_INLINE D8 widen8(v8f v) {
  return {__builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), v4d),
          __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), v4d)};
}
NL_INLINE v8f narrow8(D8 d) {
  const v4f lo = __builtin_convertvector(d.lo, v4f), hi = __builtin_convertvector(d.hi, v4f);
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
}

constexpr int64_t kMaxPos = 1024;

// Positions per block for C channels: about 64K values per block, a multiple of 8, 8 to kMaxPos.
int64_t block_len(int64_t C, int64_t S) {
  const int64_t len = std::min(kMaxPos, std::max<int64_t>(8, (65536 / std::max<int64_t>(1, C)) / 8 * 8));
  return std::min(len, S);
}

// The first n (<= 8) floats at p, the other lanes 0; and the store of the first n lanes.
NL_INLINE v8f loadn(const float* p, int64_t n) {
  if (n == 8) return load8(p);
  v8f v = {};
  __builtin_memcpy(&v, p, static_cast<size_t>(n) * sizeof(float));
  return v;
}
NL_INLINE void storen(float* p, v8f v, int64_t n) {
  if (n == 8) store8(p, v);
  else __builtin_memcpy(p, &v, static_cast<size_t>(n) * sizeof(float));
}
NL_INLINE D8 square8d(v8f v) {
  const D8 d = widen8(v);
  return {d.lo * d.lo, d.hi * d.hi};
}
// k + an * acc, rounded to float.
NL_INLINE v8f scale8(D8 acc, double kd, double an) { return narrow8({kd + an * acc.lo, kd + an * acc.hi}); }

// s^(-beta) per lane as exp(-beta * log s). Lanes [0, n) outside that formula's range (see the
// file comment) set their bits in *bad; with safe, they take 1 / powf(s, beta) instead.
NL_INLINE v8f pow_neg8(v8f s, float beta, int64_t n, bool safe, v8i* bad) {
  // beta = 3/4 (PyTorch's default and AlexNet's): 1 / (sqrt(s) sqrt(sqrt(s))), correctly rounded
  // steps that also give powf's values at 0 (inf), below 0 (NaN), at inf (0) and at NaN.
  if (beta == 0.75f) {
    v8f r;
    for (int i = 0; i < 8; ++i) r[i] = std::sqrt(s[i]);
    v8f q;
    for (int i = 0; i < 8; ++i) q[i] = std::sqrt(r[i]);
    return 1.f / (r * q);
  }
  const v8f lo = FLT_MIN - v8f{}, hi = FLT_MAX - v8f{};
  const v8f clamped = s >= lo ? (s <= hi ? s : hi) : lo;
  const v8f e = -beta * log8(clamped);
  const v8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
  const v8i ok = ((s >= lo) & (s <= hi) & (e >= -87.f) & (e <= 87.f)) | (lane >= static_cast<int32_t>(n));
  v8f r = exp8(e);
  *bad |= ~ok;
  if (safe) {
    for (int i = 0; i < 8; ++i) {
      if (!ok[i]) r[i] = 1.f / std::pow(s[i], beta);
    }
  }
  return r;
}

// True when any lane of bad is set.
NL_INLINE bool any8(v8i bad) {
  int32_t m = 0;
  for (int i = 0; i < 8; ++i) m |= bad[i];
  return m != 0;
}

// acc[q] = the sum of x_c^2 over the channels c < after (the window of channel 0 before its
// first slide), for the len positions of the block in chunks of 8.
NL_INLINE void prime_window(D8* acc, const float* x, int64_t C, int64_t S, int64_t len, int64_t nch, int64_t after) {
  for (int64_t q = 0; q < nch; ++q) acc[q] = D8{};
  for (int64_t c = 0; c < std::min(after, C); ++c) {
    for (int64_t q = 0; q < nch; ++q) acc[q] += square8d(loadn(x + c * S + 8 * q, std::min<int64_t>(8, len - 8 * q)));
  }
}

// One block: positions [0, len) of x and y (stride S between channels).
// safe: lanes outside exp/log's range take powf; without it, *redo is set when there are any
// (the caller then runs the block again with safe).
NL_INLINE void lrn_forward_body(const float* x, float* y, int64_t C, int64_t S, int64_t len, int64_t size, float alpha,
                                float beta, float k, bool safe, bool* redo) {
  const int64_t before = size / 2, after = (size - 1) / 2, nch = (len + 7) / 8;
  const double an = static_cast<double>(alpha) / static_cast<double>(size), kd = k;
  D8 acc[kMaxPos / 8];
  v8i bad = {};
  prime_window(acc, x, C, S, len, nch, after);
  for (int64_t c = 0; c < C; ++c) {
    const float* xin = c + after < C ? x + (c + after) * S : nullptr;
    const float* xout = c - before >= 0 ? x + (c - before) * S : nullptr;
    for (int64_t q = 0; q < nch; ++q) {
      const int64_t n = std::min<int64_t>(8, len - 8 * q), j = 8 * q;
      if (xin) acc[q] += square8d(loadn(xin + j, n));
      const v8f s = scale8(acc[q], kd, an);
      storen(y + c * S + j, loadn(x + c * S + j, n) * pow_neg8(s, beta, n, safe, &bad), n);
      if (xout) acc[q] -= square8d(loadn(xout + j, n));
    }
  }
  *redo = any8(bad);
}
NL_ISA_VARIANTS(lrn_forward_block,
                (const float* x, float* y, int64_t C, int64_t S, int64_t len, int64_t size, float alpha, float beta,
                 float k, bool safe, bool* redo),
                (x, y, C, S, len, size, alpha, beta, k, safe, redo), lrn_forward_body)

// One block; t holds C rows of ld floats (ld = len rounded up to 8) for the t_c of the file
// comment; safe and redo as in lrn_forward_body.
NL_INLINE void lrn_backward_body(const float* x, const float* dy, float* dx, int64_t C, int64_t S, int64_t len,
                                 int64_t size, float alpha, float beta, float k, float* t, bool safe, bool* redo) {
  const int64_t before = size / 2, after = (size - 1) / 2, nch = (len + 7) / 8, ld = 8 * nch;
  const double an = static_cast<double>(alpha) / static_cast<double>(size), kd = k;
  D8 acc[kMaxPos / 8];
  v8i bad = {};
  prime_window(acc, x, C, S, len, nch, after);
  // First pass: dx_c = dy_c * p_c and t_c.
  for (int64_t c = 0; c < C; ++c) {
    const float* xin = c + after < C ? x + (c + after) * S : nullptr;
    const float* xout = c - before >= 0 ? x + (c - before) * S : nullptr;
    for (int64_t q = 0; q < nch; ++q) {
      const int64_t n = std::min<int64_t>(8, len - 8 * q), j = 8 * q;
      if (xin) acc[q] += square8d(loadn(xin + j, n));
      const v8f s = scale8(acc[q], kd, an);
      const v8f p = pow_neg8(s, beta, n, safe, &bad);
      const v8f d = loadn(dy + c * S + j, n);
      storen(dx + c * S + j, d * p, n);
      store8(t + c * ld + j, d * loadn(x + c * S + j, n) * p / s);
      if (xout) acc[q] -= square8d(loadn(xout + j, n));
    }
  }
  *redo = any8(bad);
  if (*redo && !safe) return;
  // Second pass: the window sums of t over [j - after, j + before].
  const float coef = static_cast<float>(2.0 * alpha * beta / static_cast<double>(size));
  for (int64_t q = 0; q < nch; ++q) acc[q] = D8{};
  for (int64_t c = 0; c < std::min(before, C); ++c) {
    for (int64_t q = 0; q < nch; ++q) acc[q] += widen8(load8(t + c * ld + 8 * q));
  }
  for (int64_t j = 0; j < C; ++j) {
    const float* tin = j + before < C ? t + (j + before) * ld : nullptr;
    const float* tout = j - after >= 0 ? t + (j - after) * ld : nullptr;
    for (int64_t q = 0; q < nch; ++q) {
      const int64_t n = std::min<int64_t>(8, len - 8 * q), i = 8 * q;
      if (tin) acc[q] += widen8(load8(tin + i));
      const v8f sum = narrow8(acc[q]);
      float* o = dx + j * S + i;
      storen(o, loadn(o, n) - coef * loadn(x + j * S + i, n) * sum, n);
      if (tout) acc[q] -= widen8(load8(tout + i));
    }
  }
}
NL_ISA_VARIANTS(lrn_backward_block,
                (const float* x, const float* dy, float* dx, int64_t C, int64_t S, int64_t len, int64_t size, float alpha,
                 float beta, float k, float* t, bool safe, bool* redo),
                (x, dy, dx, C, S, len, size, alpha, beta, k, t, safe, redo), lrn_backward_body)

}  // namespace

void local_response_norm_forward(const float* x, int64_t N, int64_t C, int64_t S, int64_t size, float alpha, float beta,
                                 float k, float* y) {
  if (N * C * S == 0) return;
  const int64_t len = block_len(C, S), nb = (S + len - 1) / len;
  parallel_for(N * nb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n = b / nb, s0 = (b % nb) * len;
      const int64_t off = n * C * S + s0;
      bool redo = false;
      lrn_forward_block(x + off, y + off, C, S, std::min(len, S - s0), size, alpha, beta, k, false, &redo);
      if (redo) lrn_forward_block(x + off, y + off, C, S, std::min(len, S - s0), size, alpha, beta, k, true, &redo);
    }
  });
}

void local_response_norm_backward(const float* x, const float* dy, int64_t N, int64_t C, int64_t S, int64_t size,
                                  float alpha, float beta, float k, float* dx) {
  if (N * C * S == 0) return;
  const int64_t len = block_len(C, S), nb = (S + len - 1) / len;
  const size_t ld = static_cast<size_t>((len + 7) / 8 * 8);
  parallel_for(N * nb, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> t(static_cast<size_t>(C) * ld);
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n = b / nb, s0 = (b % nb) * len;
      const int64_t off = n * C * S + s0;
      const int64_t m = std::min(len, S - s0);
      bool redo = false;
      lrn_backward_block(x + off, dy + off, dx + off, C, S, m, size, alpha, beta, k, t.data(), false, &redo);
      if (redo) lrn_backward_block(x + off, dy + off, dx + off, C, S, m, size, alpha, beta, k, t.data(), true, &redo);
    }
  });
}

}  // namespace nl

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
// Work is cut into fixed blocks of kPos positions of one sample; a block's C x kPos values stay
// in cache between its passes, so x is read from memory once per kernel (and dy once in the
// backward). Per-position sums run over c with one float lane per position (the inner loops run
// along s and vectorize); dgamma/dbeta are summed per block in double and merged in block
// order, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common.h"
#include "dispatch.h"
#include "napi_args.h"

// The 8-float vector helpers below pass vectors by value between always-inline functions; the
// ABI note GCC prints for that does not apply (nothing crosses a call boundary).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace nl {
namespace {

constexpr int64_t kPos = 256;

float* optional_f32(const Args& a, const Napi::CallbackInfo& info, size_t i, size_t need) {
  if (i < info.Length() && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
  return a.f32(i, need);
}

// One block: positions [0, len) of x (stride S between channels).
NL_INLINE void cn_forward_body(const float* x, float* y, int64_t C, int64_t S, int64_t len, const float* gamma,
                               const float* beta, float eps, bool center, float* mean, float* invstd) {
  float mu[kPos], acc[kPos];
  for (int64_t j = 0; j < len; ++j) mu[j] = 0.f, acc[j] = 0.f;
  if (center) {
    for (int64_t c = 0; c < C; ++c) {
      const float* xc = x + c * S;
      for (int64_t j = 0; j < len; ++j) mu[j] += xc[j];
    }
    const float inv = 1.f / static_cast<float>(C);
    for (int64_t j = 0; j < len; ++j) mu[j] *= inv;
  }
  for (int64_t c = 0; c < C; ++c) {
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
    for (int64_t j = 0; j < len; ++j) yc[j] = (xc[j] - mu[j]) * acc[j] * g + b;
  }
  if (mean) for (int64_t j = 0; j < len; ++j) mean[j] = mu[j];
  for (int64_t j = 0; j < len; ++j) invstd[j] = acc[j];
}
NL_ISA_VARIANTS(cn_forward_block,
                (const float* x, float* y, int64_t C, int64_t S, int64_t len, const float* gamma, const float* beta,
                 float eps, bool center, float* mean, float* invstd),
                (x, y, C, S, len, gamma, beta, eps, center, mean, invstd), cn_forward_body)

// dgp/dbp (C doubles each, this block's partials) receive sum dy * xhat and sum dy per channel.
NL_INLINE void cn_backward_body(const float* x, const float* dy, float* dx, int64_t C, int64_t S, int64_t len,
                                const float* mean, const float* invstd, const float* gamma, bool center, double* dgp,
                                double* dbp) {
  float sa[kPos], sb[kPos], mu[kPos];
  for (int64_t j = 0; j < len; ++j) sa[j] = 0.f, sb[j] = 0.f, mu[j] = center ? mean[j] : 0.f;
  for (int64_t c = 0; c < C; ++c) {
    const float* xc = x + c * S;
    const float* dc = dy + c * S;
    const float g = gamma ? gamma[c] : 1.f;
    float pg = 0.f, pb = 0.f;
    for (int64_t j = 0; j < len; ++j) {
      const float xh = (xc[j] - mu[j]) * invstd[j];
      sa[j] += g * dc[j];
      sb[j] += g * dc[j] * xh;
      pg += dc[j] * xh;
      pb += dc[j];
    }
    if (dgp) dgp[c] += pg;
    if (dbp) dbp[c] += pb;
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
    for (int64_t j = 0; j < len; ++j) {
      const float xh = (xc[j] - mu[j]) * invstd[j];
      o[j] = invstd[j] * (g * dc[j] - sa[j] - xh * sb[j]);
    }
  }
}
NL_ISA_VARIANTS(cn_backward_block,
                (const float* x, const float* dy, float* dx, int64_t C, int64_t S, int64_t len, const float* mean,
                 const float* invstd, const float* gamma, bool center, double* dgp, double* dbp),
                (x, dy, dx, C, S, len, mean, invstd, gamma, center, dgp, dbp), cn_backward_body)

// channelNormForward(x, N, C, S, gamma|null, beta|null, eps, center, y, mean|null, invstd)
// mean and invstd hold one value per position (N * S); mean is written only with center.
Napi::Value ChannelNormForward(const Napi::CallbackInfo& info) {
  Args a(info, "channelNormForward");
  const int64_t N = a.int64(1), C = a.int64(2), S = a.int64(3);
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C), np = static_cast<size_t>(N * S);
  const float* x = a.f32(0, total);
  const float* gamma = optional_f32(a, info, 4, nc);
  const float* beta = optional_f32(a, info, 5, nc);
  const float eps = static_cast<float>(a.num(6));
  const bool center = a.flag(7);
  float* y = a.f32(8, total);
  float* mean = optional_f32(a, info, 9, np);
  float* invstd = a.f32(10, np);
  const int64_t nb = (S + kPos - 1) / kPos;
  parallel_for(N * nb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n = b / nb, s0 = (b % nb) * kPos, len = std::min(kPos, S - s0);
      const int64_t off = n * C * S + s0, p = n * S + s0;
      cn_forward_block(x + off, y + off, C, S, len, gamma, beta, eps, center, mean ? mean + p : nullptr, invstd + p);
    }
  });
  return info.Env().Undefined();
}

// channelNormBackward(x, dy, N, C, S, mean|null, invstd, gamma|null, center, dx|null, dgamma|null, dbeta|null)
Napi::Value ChannelNormBackward(const Napi::CallbackInfo& info) {
  Args a(info, "channelNormBackward");
  const int64_t N = a.int64(2), C = a.int64(3), S = a.int64(4);
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C), np = static_cast<size_t>(N * S);
  const float* x = a.f32(0, total);
  const float* dy = a.f32(1, total);
  const float* mean = optional_f32(a, info, 5, np);
  const float* invstd = a.f32(6, np);
  const float* gamma = optional_f32(a, info, 7, nc);
  const bool center = a.flag(8);
  if (center && !mean) a.fail(5, "must be a Float32Array when center is true");
  float* dx = optional_f32(a, info, 9, total);
  float* dgamma = optional_f32(a, info, 10, nc);
  float* dbeta = optional_f32(a, info, 11, nc);
  const int64_t nb = (S + kPos - 1) / kPos, blocks = N * nb;
  const bool sums = dgamma || dbeta;
  std::vector<double> partial(sums ? static_cast<size_t>(blocks) * 2 * nc : 0, 0.0);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n = b / nb, s0 = (b % nb) * kPos, len = std::min(kPos, S - s0);
      const int64_t off = n * C * S + s0, p = n * S + s0;
      double* dgp = sums ? partial.data() + static_cast<size_t>(b) * 2 * nc : nullptr;
      cn_backward_block(x + off, dy + off, dx ? dx + off : nullptr, C, S, len, center ? mean + p : nullptr, invstd + p, gamma,
                        center, dgp, sums ? dgp + nc : nullptr);
    }
  });
  if (sums) {
    for (int64_t c = 0; c < C; ++c) {
      double g = 0.0, bsum = 0.0;
      for (int64_t b = 0; b < blocks; ++b) {
        g += partial[static_cast<size_t>(b) * 2 * nc + c];
        bsum += partial[static_cast<size_t>(b) * 2 * nc + nc + c];
      }
      if (dgamma) dgamma[c] = static_cast<float>(g);
      if (dbeta) dbeta[c] = static_cast<float>(bsum);
    }
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// Filter Response Normalization + TLU per row (n, c) of x viewed as [N * C, S]:
//   r = 1 / sqrt(mean(x^2) + eps), z = x * r * gamma[c] + beta[c], y = max(z, tau[c])
// Backward (ties z == tau send half of dy each way, as torch.maximum):
//   dz = dy * [z > tau] (+ dy / 2 at ties), dtau[c] += dy - dz
//   dx = gamma[c] * r * (dz - x * r^2 * sum(dz * x) / S)
//   dgamma[c] += r * sum(dz * x), dbeta[c] += sum(dz)
// Row sums use 8-float vector lanes (GCC vector extensions), finished in double.
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i_t __attribute__((vector_size(32)));

NL_INLINE v8f ld8(const float* p) {
  v8f v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
NL_INLINE void st8(float* p, v8f v) { __builtin_memcpy(p, &v, sizeof v); }
NL_INLINE double hsum8(v8f v) {
  double s = 0.0;
  for (int k = 0; k < 8; ++k) s += v[k];
  return s;
}

NL_INLINE void frn_forward_body(const float* x, float* y, int64_t S, float eps, float g, float b, float tau, bool tlu,
                                float* rout) {
  v8f acc = {};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f v = ld8(x + i);
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
    v8f z = ld8(x + i) * a8 + b8;
    if (tlu) z = z > t8 ? z : t8;
    st8(y + i, z);
  }
  for (; i < S; ++i) {
    const float z = x[i] * a + b;
    y[i] = tlu ? std::max(z, tau) : z;
  }
}
NL_ISA_VARIANTS(frn_forward_row,
                (const float* x, float* y, int64_t S, float eps, float g, float b, float tau, bool tlu, float* rout),
                (x, y, S, eps, g, b, tau, tlu, rout), frn_forward_body)

// out[0] = sum(dz * x), out[1] = sum(dz), out[2] = sum(dy - dz) (the TLU's share).
NL_INLINE void frn_backward_body(const float* x, const float* dy, float* dx, int64_t S, float r, float g, float b,
                                 float tau, bool tlu, double* out) {
  const float a = r * g;
  v8f sx = {}, sz = {}, st = {};
  const v8f a8 = a - v8f{}, b8 = b - v8f{}, t8 = tau - v8f{}, half = 0.5f - v8f{}, one = 1.f - v8f{}, zero = {};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f xv = ld8(x + i), d = ld8(dy + i);
    v8f w = one;
    if (tlu) {
      const v8f z = xv * a8 + b8;
      w = z > t8 ? one : (z == t8 ? half : zero);
    }
    const v8f dz = d * w;
    sx += dz * xv;
    sz += dz;
    st += d - dz;
  }
  double qx = hsum8(sx), qz = hsum8(sz), qt = hsum8(st);
  for (; i < S; ++i) {
    float w = 1.f;
    if (tlu) {
      const float z = x[i] * a + b;
      w = z > tau ? 1.f : (z == tau ? 0.5f : 0.f);
    }
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
    const v8f xv = ld8(x + i), d = ld8(dy + i);
    v8f w = one;
    if (tlu) {
      const v8f z = xv * a8 + b8;
      w = z > t8 ? one : (z == t8 ? half : zero);
    }
    st8(dx + i, a8 * (d * w - xv * k8));
  }
  for (; i < S; ++i) {
    float w = 1.f;
    if (tlu) {
      const float z = x[i] * a + b;
      w = z > tau ? 1.f : (z == tau ? 0.5f : 0.f);
    }
    dx[i] = a * (dy[i] * w - x[i] * k);
  }
}
NL_ISA_VARIANTS(frn_backward_row,
                (const float* x, const float* dy, float* dx, int64_t S, float r, float g, float b, float tau, bool tlu,
                 double* out),
                (x, dy, dx, S, r, g, b, tau, tlu, out), frn_backward_body)

// frnForward(x, N, C, S, gamma, beta, tau|null, eps, y, rstd)  rstd: N * C values
Napi::Value FrnForward(const Napi::CallbackInfo& info) {
  Args a(info, "frnForward");
  const int64_t N = a.int64(1), C = a.int64(2), S = a.int64(3);
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C);
  const float* x = a.f32(0, total);
  const float* gamma = a.f32(4, nc);
  const float* beta = a.f32(5, nc);
  const float* tau = optional_f32(a, info, 6, nc);
  const float eps = static_cast<float>(a.num(7));
  float* y = a.f32(8, total);
  float* rstd = a.f32(9, static_cast<size_t>(N * C));
  parallel_for(N * C, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, S)), [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t c = row % C;
      frn_forward_row(x + row * S, y + row * S, S, eps, gamma[c], beta[c], tau ? tau[c] : 0.f, tau != nullptr, rstd + row);
    }
  });
  return info.Env().Undefined();
}

// frnBackward(x, dy, N, C, S, rstd, gamma, beta, tau|null, dx|null, dgamma|null, dbeta|null, dtau|null)
Napi::Value FrnBackward(const Napi::CallbackInfo& info) {
  Args a(info, "frnBackward");
  const int64_t N = a.int64(2), C = a.int64(3), S = a.int64(4);
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C), rows = static_cast<size_t>(N * C);
  const float* x = a.f32(0, total);
  const float* dy = a.f32(1, total);
  const float* rstd = a.f32(5, rows);
  const float* gamma = a.f32(6, nc);
  const float* beta = a.f32(7, nc);
  const float* tau = optional_f32(a, info, 8, nc);
  float* dx = optional_f32(a, info, 9, total);
  float* dgamma = optional_f32(a, info, 10, nc);
  float* dbeta = optional_f32(a, info, 11, nc);
  float* dtau = optional_f32(a, info, 12, nc);
  std::vector<double> sums(rows * 3);
  parallel_for(N * C, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, S)), [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t c = row % C;
      frn_backward_row(x + row * S, dy + row * S, dx ? dx + row * S : nullptr, S, rstd[row], gamma[c], beta[c],
                       tau ? tau[c] : 0.f, tau != nullptr, sums.data() + 3 * row);
    }
  });
  // Per channel, rows summed in n order: independent of the thread count.
  for (int64_t c = 0; c < C; ++c) {
    double g = 0.0, b = 0.0, t = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const size_t row = static_cast<size_t>(n * C + c);
      g += sums[3 * row] * rstd[row];
      b += sums[3 * row + 1];
      t += sums[3 * row + 2];
    }
    if (dgamma) dgamma[c] = static_cast<float>(g);
    if (dbeta) dbeta[c] = static_cast<float>(b);
    if (dtau) dtau[c] = static_cast<float>(t);
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// EvoNorm-S0 per group (n, g) of x viewed as [N * G, Cg * S] (M values, channel c = g * Cg + i / S):
//   rs = 1 / sqrt(var + eps) (biased variance over the group), u = x * sigmoid(v[c] * x),
//   y = u * rs * w[c] + b[c]
// Backward (A = sum over the group of dy * w[c] * u, du = dy * w[c] * rs, s = sigmoid(v x)):
//   dx = du * (s + v x s (1 - s)) - rs^3 * A * (x - mean) / M
//   dv[c] += sum du * x^2 s (1 - s); dw[c] += sum dy * u * rs; db[c] += sum dy
// sigmoid uses exp from a degree-6 polynomial on [-ln2/2, ln2/2] scaled by 2^n (relative error
// about 2e-7), written on 8-float lanes so every ISA variant vectorizes it.
NL_INLINE v8f exp8(v8f x) {
  const v8f lo = -87.f - v8f{}, hi = 88.f - v8f{};
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const v8f n = __builtin_convertvector(__builtin_convertvector(x * 1.44269504088896341f + (x >= 0.f ? 0.5f - v8f{} : -0.5f - v8f{}), v8i_t), v8f);
  const v8f r = x - n * 0.693359375f - n * -2.12194440e-4f;
  v8f p = 1.9875691500e-4f - v8f{};
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const v8i_t e = (__builtin_convertvector(n, v8i_t) + 127) << 23;
  v8f scale;
  __builtin_memcpy(&scale, &e, sizeof scale);
  return p * scale;
}
NL_INLINE v8f sigmoid8(v8f z) { return 1.f / (1.f + exp8(-z)); }
NL_INLINE float sigmoid1(float z) { return 1.f / (1.f + std::exp(-z)); }

NL_INLINE void s0_forward_body(const float* x, float* y, int64_t Cg, int64_t S, const float* v, const float* w,
                               const float* b, float eps, float* mean, float* rstd) {
  const int64_t M = Cg * S;
  v8f acc = {};
  int64_t i = 0;
  for (; i + 8 <= M; i += 8) acc += ld8(x + i);
  double sum = hsum8(acc);
  for (; i < M; ++i) sum += x[i];
  const float mu = static_cast<float>(sum / static_cast<double>(M));
  const v8f m8 = mu - v8f{};
  acc = v8f{};
  i = 0;
  for (; i + 8 <= M; i += 8) {
    const v8f d = ld8(x + i) - m8;
    acc += d * d;
  }
  double q = hsum8(acc);
  for (; i < M; ++i) q += static_cast<double>(x[i] - mu) * (x[i] - mu);
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
      const v8f xv = ld8(xc + j);
      st8(yc + j, xv * sigmoid8(v8 * xv) * a8 + b8);
    }
    for (; j < S; ++j) yc[j] = xc[j] * sigmoid1(vk * xc[j]) * a + bk;
  }
}
NL_ISA_VARIANTS(s0_forward_group,
                (const float* x, float* y, int64_t Cg, int64_t S, const float* v, const float* w, const float* b, float eps,
                 float* mean, float* rstd),
                (x, y, Cg, S, v, w, b, eps, mean, rstd), s0_forward_body)

// part: 3 doubles per channel of the group (dv, dw, db).
NL_INLINE void s0_backward_body(const float* x, const float* dy, float* dx, int64_t Cg, int64_t S, const float* v,
                                const float* w, float mu, float rs, double* part) {
  const int64_t M = Cg * S;
  double A = 0.0;
  for (int64_t k = 0; k < Cg; ++k) {
    const float* xc = x + k * S;
    const float* dc = dy + k * S;
    const v8f v8 = v[k] - v8f{};
    v8f su = {}, sv = {}, sb = {};
    int64_t j = 0;
    for (; j + 8 <= S; j += 8) {
      const v8f xv = ld8(xc + j), d = ld8(dc + j);
      const v8f sg = sigmoid8(v8 * xv);
      su += d * xv * sg;
      sv += d * xv * xv * sg * (1.f - sg);
      sb += d;
    }
    double du = hsum8(su), dvs = hsum8(sv), db = hsum8(sb);
    for (; j < S; ++j) {
      const float sg = sigmoid1(v[k] * xc[j]);
      du += static_cast<double>(dc[j]) * xc[j] * sg;
      dvs += static_cast<double>(dc[j]) * xc[j] * xc[j] * sg * (1.f - sg);
      db += dc[j];
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
    float* o = dx + k * S;
    const float vk = v[k], a = w[k] * rs;
    const v8f v8 = vk - v8f{}, a8 = a - v8f{};
    int64_t j = 0;
    for (; j + 8 <= S; j += 8) {
      const v8f xv = ld8(xc + j), d = ld8(dc + j);
      const v8f sg = sigmoid8(v8 * xv);
      st8(o + j, d * a8 * (sg + v8 * xv * sg * (1.f - sg)) - kv8 * (xv - m8));
    }
    for (; j < S; ++j) {
      const float sg = sigmoid1(vk * xc[j]);
      o[j] = dc[j] * a * (sg + vk * xc[j] * sg * (1.f - sg)) - kvar * (xc[j] - mu);
    }
  }
}
NL_ISA_VARIANTS(s0_backward_group,
                (const float* x, const float* dy, float* dx, int64_t Cg, int64_t S, const float* v, const float* w, float mu,
                 float rs, double* part),
                (x, dy, dx, Cg, S, v, w, mu, rs, part), s0_backward_body)

// evoNormS0Forward(x, N, G, Cg, S, v, w, b, eps, y, mean, rstd)  mean, rstd: N * G values
Napi::Value EvoNormS0Forward(const Napi::CallbackInfo& info) {
  Args a(info, "evoNormS0Forward");
  const int64_t N = a.int64(1), G = a.int64(2), Cg = a.int64(3), S = a.int64(4);
  const int64_t C = G * Cg, M = Cg * S;
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C), ng = static_cast<size_t>(N * G);
  const float* x = a.f32(0, total);
  const float* v = a.f32(5, nc);
  const float* w = a.f32(6, nc);
  const float* b = a.f32(7, nc);
  const float eps = static_cast<float>(a.num(8));
  float* y = a.f32(9, total);
  float* mean = a.f32(10, ng);
  float* rstd = a.f32(11, ng);
  parallel_for(N * G, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, M)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t c0 = (i % G) * Cg;
      s0_forward_group(x + i * M, y + i * M, Cg, S, v + c0, w + c0, b + c0, eps, mean + i, rstd + i);
    }
  });
  return info.Env().Undefined();
}

// evoNormS0Backward(x, dy, N, G, Cg, S, v, w, mean, rstd, dx|null, dv|null, dw|null, db|null)
Napi::Value EvoNormS0Backward(const Napi::CallbackInfo& info) {
  Args a(info, "evoNormS0Backward");
  const int64_t N = a.int64(2), G = a.int64(3), Cg = a.int64(4), S = a.int64(5);
  const int64_t C = G * Cg, M = Cg * S;
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C), ng = static_cast<size_t>(N * G);
  const float* x = a.f32(0, total);
  const float* dy = a.f32(1, total);
  const float* v = a.f32(6, nc);
  const float* w = a.f32(7, nc);
  const float* mean = a.f32(8, ng);
  const float* rstd = a.f32(9, ng);
  float* dx = optional_f32(a, info, 10, total);
  float* dv = optional_f32(a, info, 11, nc);
  float* dw = optional_f32(a, info, 12, nc);
  float* db = optional_f32(a, info, 13, nc);
  std::vector<double> part(static_cast<size_t>(N) * nc * 3);
  parallel_for(N * G, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, M)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t c0 = (i % G) * Cg;
      s0_backward_group(x + i * M, dy + i * M, dx ? dx + i * M : nullptr, Cg, S, v + c0, w + c0, mean[i], rstd[i],
                        part.data() + 3 * static_cast<size_t>(i * Cg));
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    double sv = 0.0, sw = 0.0, sb = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const size_t o = 3 * static_cast<size_t>(n * C + c);
      sv += part[o];
      sw += part[o + 1];
      sb += part[o + 2];
    }
    if (dv) dv[c] = static_cast<float>(sv);
    if (dw) dw[c] = static_cast<float>(sw);
    if (db) db[c] = static_cast<float>(sb);
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// EvoNorm-B0 per row (n, c) of x viewed as [N * C, S], given left[c] = sqrt(var_B[c] + eps):
//   sd = sqrt(biased row variance + eps), den = max(left[c], v[c] * x + sd), y = x / den * w[c] + b[c]
// Backward (dq = dy * w[c]; dden = -dq * x / den^2, to `left` where left > right, to the right
// term where right > left, half each at ties, as torch.maximum):
//   dx = dq / den + dden_right * v[c] + (sum over the row of dden_right) / sd * (x - mean) / S
//   row sums: dleft (to var_B, finished by the caller), dv = sum dden_right * x, dw = sum dy * x / den,
//   db = sum dy.
NL_INLINE void b0_forward_body(const float* x, float* y, int64_t S, float left, float v, float w, float b, float eps,
                               float* mean, float* sdout) {
  v8f acc = {};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) acc += ld8(x + i);
  double sum = hsum8(acc);
  for (; i < S; ++i) sum += x[i];
  const float mu = static_cast<float>(sum / static_cast<double>(S));
  const v8f m8 = mu - v8f{};
  acc = v8f{};
  i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f d = ld8(x + i) - m8;
    acc += d * d;
  }
  double q = hsum8(acc);
  for (; i < S; ++i) q += static_cast<double>(x[i] - mu) * (x[i] - mu);
  const float sd = static_cast<float>(std::sqrt(q / static_cast<double>(S) + eps));
  *mean = mu;
  *sdout = sd;
  const v8f l8 = left - v8f{}, v8 = v - v8f{}, s8 = sd - v8f{}, w8 = w - v8f{}, b8 = b - v8f{};
  i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f xv = ld8(x + i);
    const v8f r = v8 * xv + s8;
    st8(y + i, xv / (r > l8 ? r : l8) * w8 + b8);
  }
  for (; i < S; ++i) y[i] = x[i] / std::max(left, v * x[i] + sd) * w + b;
}
NL_ISA_VARIANTS(b0_forward_row,
                (const float* x, float* y, int64_t S, float left, float v, float w, float b, float eps, float* mean, float* sd),
                (x, y, S, left, v, w, b, eps, mean, sd), b0_forward_body)

// out: dleft, dsd (sum of dden_right), dv, dw, db for the row.
NL_INLINE void b0_reduce_body(const float* x, const float* dy, int64_t S, float left, float v, float w, float sd,
                              double* out) {
  v8f sl = {}, sr = {}, sv = {}, sw = {}, sb = {};
  const v8f l8 = left - v8f{}, v8 = v - v8f{}, s8 = sd - v8f{}, w8 = w - v8f{}, half = 0.5f - v8f{}, one = 1.f - v8f{},
            zero = {};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f xv = ld8(x + i), d = ld8(dy + i);
    const v8f r = v8 * xv + s8;
    const v8f den = r > l8 ? r : l8;
    const v8f q = xv / den;
    const v8f dden = -(d * w8) * q / den;
    const v8f toR = r > l8 ? one : (r == l8 ? half : zero);
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
    const float toR = r > left ? 1.f : (r == left ? 0.5f : 0.f);
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
                          float mu, float kI, float muB, float kB) {
  const v8f l8 = left - v8f{}, v8 = v - v8f{}, s8 = sd - v8f{}, w8 = w - v8f{}, half = 0.5f - v8f{}, one = 1.f - v8f{},
            zero = {}, m8 = mu - v8f{}, ki8 = kI - v8f{}, mb8 = muB - v8f{}, kb8 = kB - v8f{};
  int64_t i = 0;
  for (; i + 8 <= S; i += 8) {
    const v8f xv = ld8(x + i), d = ld8(dy + i);
    const v8f r = v8 * xv + s8;
    const v8f den = r > l8 ? r : l8;
    const v8f dq = d * w8;
    const v8f dden = -dq * xv / (den * den);
    const v8f toR = r > l8 ? one : (r == l8 ? half : zero);
    st8(dx + i, dq / den + dden * toR * v8 + ki8 * (xv - m8) + kb8 * (xv - mb8));
  }
  for (; i < S; ++i) {
    const float r = v * x[i] + sd;
    const float den = std::max(r, left);
    const float dq = dy[i] * w;
    const float dden = -dq * x[i] / (den * den);
    const float toR = r > left ? 1.f : (r == left ? 0.5f : 0.f);
    dx[i] = dq / den + dden * toR * v + kI * (x[i] - mu) + kB * (x[i] - muB);
  }
}
NL_ISA_VARIANTS(b0_dx_row,
                (const float* x, const float* dy, float* dx, int64_t S, float left, float v, float w, float sd, float mu,
                 float kI, float muB, float kB),
                (x, dy, dx, S, left, v, w, sd, mu, kI, muB, kB), b0_dx_body)

// evoNormB0Forward(x, N, C, S, left, v, w, b, eps, y, mean, sd)  mean, sd: N * C values
Napi::Value EvoNormB0Forward(const Napi::CallbackInfo& info) {
  Args a(info, "evoNormB0Forward");
  const int64_t N = a.int64(1), C = a.int64(2), S = a.int64(3);
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C), rows = static_cast<size_t>(N * C);
  const float* x = a.f32(0, total);
  const float* left = a.f32(4, nc);
  const float* v = a.f32(5, nc);
  const float* w = a.f32(6, nc);
  const float* b = a.f32(7, nc);
  const float eps = static_cast<float>(a.num(8));
  float* y = a.f32(9, total);
  float* mean = a.f32(10, rows);
  float* sd = a.f32(11, rows);
  parallel_for(N * C, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, S)), [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t c = row % C;
      b0_forward_row(x + row * S, y + row * S, S, left[c], v[c], w[c], b[c], eps, mean + row, sd + row);
    }
  });
  return info.Env().Undefined();
}

// evoNormB0Backward(x, dy, N, C, S, left, v, w, mean, sd, batchMean|null, dx|null, dv|null, dw|null, db|null)
// batchMean given (training): left[c] = sqrt(var_B[c] + eps) depends on x through the biased
// batch variance with mean batchMean[c]; null (eval): left is a constant.
Napi::Value EvoNormB0Backward(const Napi::CallbackInfo& info) {
  Args a(info, "evoNormB0Backward");
  const int64_t N = a.int64(2), C = a.int64(3), S = a.int64(4);
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C), rows = static_cast<size_t>(N * C);
  const float* x = a.f32(0, total);
  const float* dy = a.f32(1, total);
  const float* left = a.f32(5, nc);
  const float* v = a.f32(6, nc);
  const float* w = a.f32(7, nc);
  const float* mean = a.f32(8, rows);
  const float* sd = a.f32(9, rows);
  const float* muB = optional_f32(a, info, 10, nc);
  float* dx = optional_f32(a, info, 11, total);
  float* dv = optional_f32(a, info, 12, nc);
  float* dw = optional_f32(a, info, 13, nc);
  float* db = optional_f32(a, info, 14, nc);
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, S));
  std::vector<double> part(rows * 5);
  parallel_for(N * C, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t c = row % C;
      b0_reduce_row(x + row * S, dy + row * S, S, left[c], v[c], w[c], sd[row], part.data() + 5 * row);
    }
  });
  // Per channel in n order: dL/dvar_B = dleft / (2 left); dx gets dvar_B * 2 (x - muB) / (N S).
  std::vector<float> kB(nc, 0.f);
  for (int64_t c = 0; c < C; ++c) {
    double sl = 0.0, sv = 0.0, sw = 0.0, sb = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const double* p = part.data() + 5 * (n * C + c);
      sl += p[0];
      sv += p[2];
      sw += p[3];
      sb += p[4];
    }
    if (muB) kB[c] = static_cast<float>(sl / left[c] / static_cast<double>(N * S));
    if (dv) dv[c] = static_cast<float>(sv);
    if (dw) dw[c] = static_cast<float>(sw);
    if (db) db[c] = static_cast<float>(sb);
  }
  if (!dx) return info.Env().Undefined();
  parallel_for(N * C, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t c = row % C;
      const float kI = static_cast<float>(part[5 * row + 1] / sd[row] / static_cast<double>(S));
      b0_dx_row(x + row * S, dy + row * S, dx + row * S, S, left[c], v[c], w[c], sd[row], mean[row], kI,
                muB ? muB[c] : 0.f, kB[c]);
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void register_channel_norm(Napi::Env env, Napi::Object exports) {
  def(env, exports, "channelNormForward", ChannelNormForward);
  def(env, exports, "channelNormBackward", ChannelNormBackward);
  def(env, exports, "frnForward", FrnForward);
  def(env, exports, "frnBackward", FrnBackward);
  def(env, exports, "evoNormS0Forward", EvoNormS0Forward);
  def(env, exports, "evoNormS0Backward", EvoNormS0Backward);
  def(env, exports, "evoNormB0Forward", EvoNormB0Forward);
  def(env, exports, "evoNormB0Backward", EvoNormB0Backward);
}

}  // namespace nl

// Loss-family kernels: softmax / log-softmax over the last dim of an [rows, cols] view (the TS
// layer permutes other dims there), cross-entropy from logits with label smoothing and an
// ignored class, NLL on log-probabilities, MSE, BCE-with-logits, and seeded dropout masks.
//
// Conventions:
// - Every softmax subtracts the row maximum before exponentiating (no overflow for any input);
//   the row kernels (loss_kernels.inc) find maximum and sum in one online pass.
// - Mean losses accumulate one double per row (or per fixed-size block of elements) and add
//   those partials in index order, so the result is bitwise the same for any thread count.
// - Dropout masks come from a counter-based generator (splitmix64 of seed and element index),
//   so element i's keep/drop decision depends only on (seed, i), never on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "loss.h"

#include "common.h"
#include "dispatch.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace nl {
namespace {

constexpr int64_t kRowGrain = 1 << 14;   // elements per task for row-wise kernels
constexpr int64_t kBlock = 1 << 12;      // elements per partial sum of the elementwise losses

// Rows per parallel_for chunk so that a chunk holds about kRowGrain elements.
inline int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, kRowGrain / std::max<int64_t>(cols, 1)); }

// ---- per-ISA kernels -------------------------------------------------------------------------

#define NL_ISA_KERNELS "loss_kernels.inc"
#include "isa_kernels.inc"

}  // namespace

void softmax_forward(const float* x, int64_t rows, int64_t cols, float* y, bool log_out) {
  if (rows <= 0 || cols <= 0) return;
  parallel_for(rows, row_grain(cols), [&](int64_t b, int64_t e) {
    NL_ISA_CALL(softmax_rows, (x + b * cols, y + b * cols, e - b, cols, log_out, 1.f, 0.f));
  });
}

void softmax_backward(const float* y, const float* gy, int64_t rows, int64_t cols, float* gx, bool log_out) {
  if (rows <= 0 || cols <= 0) return;
  parallel_for(rows, row_grain(cols), [&](int64_t b, int64_t e) {
    NL_ISA_CALL_STREAMING(softmax_grad_rows, (y + b * cols, gy + b * cols, gx + b * cols, e - b, cols, log_out));
  });
}

// crossEntropyForward(logits, N, C, target, smoothing, ignoreIndex, out[, rowLoss]) -> number
// of rows whose target is not ignoreIndex. With rowLoss (N floats) each row's loss is also
// written there (0 on ignored rows), for reduction 'none'.
//
// PyTorch 1.13 label smoothing (cross_entropy_loss_label_smoothing):
//   loss = (1 - eps) * nll + eps * smooth,
//   nll    = sum_valid(-logp[i, t_i]) / M,
//   smooth = sum_valid(sum_c -logp[i, c]) / (M * C),     M = number of valid rows.
// With logp = x - lse, sum_c -logp[i, c] = C * lse - sum_c x[i, c].
int64_t cross_entropy_forward(const float* x, int64_t N, int64_t C, const int32_t* t, double eps, int64_t ignore, float* out,
                              float* row_loss) {
  std::vector<double> nll(static_cast<size_t>(std::max<int64_t>(N, 0)), 0.0);
  std::vector<double> smooth(nll.size(), 0.0);
  parallel_for(N, row_grain(C), [&](int64_t b, int64_t e) {
    // lse into nll and sum x into smooth, then both turned into the row's terms.
    NL_ISA_CALL(lse_rows, (x + b * C, e - b, C, nll.data() + b, smooth.data() + b));
    for (int64_t r = b; r < e; ++r) {
      if (t[r] == ignore) {
        nll[r] = smooth[r] = 0.0;
        continue;
      }
      const double lse = nll[r];
      nll[r] = lse - x[r * C + t[r]];
      smooth[r] = static_cast<double>(C) * lse - smooth[r];
    }
  });
  double snll = 0.0, ssmooth = 0.0;
  int64_t valid = 0;
  for (int64_t r = 0; r < N; ++r) {
    if (t[r] == ignore) continue;
    snll += nll[r];
    ssmooth += smooth[r];
    ++valid;
  }
  if (row_loss != nullptr)
    for (int64_t r = 0; r < N; ++r)
      row_loss[r] = static_cast<float>((1.0 - eps) * nll[r] + eps * smooth[r] / static_cast<double>(C));
  // No valid row: 0 / 0 = NaN, as PyTorch's mean over an empty set.
  const double M = static_cast<double>(valid);
  out[0] = static_cast<float>((1.0 - eps) * snll / M + eps * ssmooth / (M * static_cast<double>(C)));
  return valid;
}

// crossEntropyBackward(logits, N, C, target, smoothing, ignoreIndex, scale, gx[, rowScale]):
// the fused gradient gx[i, c] = s_i * (softmax(x_i)_c - q_ic) with
// q_ic = (1 - eps) [c == t_i] + eps / C, and 0 for ignored rows. s_i = scale * rowScale[i]
// (rowScale: the upstream gradient of reduction 'none'); for 'mean' the caller passes
// scale = upstream gradient / M.
void cross_entropy_backward(const float* x, int64_t N, int64_t C, const int32_t* t, float eps, int64_t ignore, float scale,
                            float* gx, const float* row_scale) {
  const float off = eps / static_cast<float>(C);
  const float on = 1.f - eps + off;
  parallel_for(N, row_grain(C), [&](int64_t b, int64_t e) {
    // Short rows: softmax of the whole chunk, then the scaling; long rows: fused per row.
    const bool chunked = C <= 64;
    if (chunked) NL_ISA_CALL(softmax_rows, (x + b * C, gx + b * C, e - b, C, false, 1.f, 0.f));
    for (int64_t r = b; r < e; ++r) {
      float* gr = gx + r * C;
      if (t[r] == ignore) {
        std::fill(gr, gr + C, 0.f);
        continue;
      }
      const float sr = row_scale != nullptr ? scale * row_scale[r] : scale;
      if (chunked) {
        for (int64_t c = 0; c < C; ++c) gr[c] = sr * gr[c] - sr * off;
      } else {
        NL_ISA_CALL(softmax_rows, (x + r * C, gr, 1, C, false, sr, sr * off));
      }
      gr[t[r]] -= sr * (on - off);
    }
  });
}

// nllLossForward(logp, N, C, target, ignoreIndex, out) -> number of valid rows.
// loss = sum_valid(-logp[i, t_i]) / M.
int64_t nll_loss_forward(const float* x, int64_t N, int64_t C, const int32_t* t, int64_t ignore, float* out) {
  double s = 0.0;
  int64_t valid = 0;
  for (int64_t r = 0; r < N; ++r) {
    if (t[r] == ignore) continue;
    s -= x[r * C + t[r]];
    ++valid;
  }
  out[0] = static_cast<float>(s / static_cast<double>(valid));
  return valid;
}

namespace {

// Sums a per-ISA block kernel over [0, n) in fixed blocks of kBlock elements: one double partial
// per block (float32 SIMD lanes inside it), blocks added in order (bitwise independent of the
// thread count).
template <typename F>
double blocked_sum(int64_t n, F block) {
  const int64_t nb = (n + kBlock - 1) / kBlock;
  std::vector<double> part(static_cast<size_t>(std::max<int64_t>(nb, 0)), 0.0);
  parallel_for(nb, 4, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t i0 = k * kBlock;
      block(i0, std::min(n, i0 + kBlock) - i0, part[static_cast<size_t>(k)]);
    }
  });
  double s = 0.0;
  for (double p : part) s += p;
  return s;
}

// out[0] = the mean over [0, n) of what a per-ISA block kernel sums (see blocked_sum).
template <typename F>
void blocked_mean(int64_t n, float* out, F block) {
  out[0] = static_cast<float>(blocked_sum(n, block) / static_cast<double>(n));
}

}  // namespace

// mseLossForward(a, b, n, out): out = mean((a - b)^2).
void mse_loss_forward(const float* x, const float* y, int64_t n, float* out) {
  blocked_mean(n, out, [&](int64_t i0, int64_t len, double& part) {
    NL_ISA_CALL_STREAMING(sq_diff_sum, (x + i0, y + i0, len, part));
  });
}

// mseLossBackward(a, b, n, scale, ga): ga = scale * (a - b), scale = 2 * upstream / n.
void mse_loss_backward(const float* x, const float* y, int64_t n, float scale, float* g) {
  parallel_for(n, kRowGrain, [&](int64_t b, int64_t e) { NL_ISA_CALL_STREAMING(mse_grad, (x + b, y + b, g + b, e - b, scale)); });
}

// bceWithLogitsForward(x, y, n, out): out = mean(max(x, 0) - x * y + log(1 + exp(-|x|))),
// the stable form of -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))].
void bce_with_logits_forward(const float* x, const float* y, int64_t n, float* out) {
  blocked_mean(n, out, [&](int64_t i0, int64_t len, double& part) { NL_ISA_CALL(bce_sum, (x + i0, y + i0, len, part)); });
}

// bceWithLogitsBackward(x, y, n, scale, gx): gx = scale * (sigmoid(x) - y), scale = upstream / n.
void bce_with_logits_backward(const float* x, const float* y, int64_t n, float scale, float* g) {
  parallel_for(n, kRowGrain, [&](int64_t b, int64_t e) { NL_ISA_CALL(bce_grad, (x + b, y + b, g + b, e - b, scale)); });
}

namespace {

// splitmix64 finaliser: a bijective mix of 64 bits (Steele, Lea, Flood 2014).
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

// dropoutMask(seed, p, mask, n): mask[i] = u_i >= p ? 1 / (1 - p) : 0, where
// u_i = top 24 bits of mix64(mix64(seed) + (i + 1) * golden) / 2^24, uniform in [0, 1).
// The caller handles p = 0 (identity) and p = 1 (all zero).
void dropout_mask(int64_t seed, double p, float* mask, int64_t n) {
  const uint64_t key = mix64(static_cast<uint64_t>(seed));
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  // Compare integers: keep iff bits24 >= ceil(p * 2^24), i.e. u >= p exactly.
  const uint32_t threshold = static_cast<uint32_t>(std::ceil(p * 16777216.0));
  parallel_for(n, kRowGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const uint64_t z = mix64(key + static_cast<uint64_t>(i + 1) * 0x9e3779b97f4a7c15ULL);
      mask[i] = static_cast<uint32_t>(z >> 40) >= threshold ? scale : 0.f;
    }
  });
}

}  // namespace nl

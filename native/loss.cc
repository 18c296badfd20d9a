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

#include "common.h"
#include "dispatch.h"
#include "napi_args.h"

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

namespace isa_scalar {
constexpr int W = 4;
#include "simd.inc"
#include "loss_kernels.inc"
}  // namespace isa_scalar
NL_TARGET_REGION_AVX2
namespace isa_avx2 {
constexpr int W = 8;
#include "simd.inc"
#include "loss_kernels.inc"
}  // namespace isa_avx2
NL_TARGET_REGION_END
NL_TARGET_REGION_AVX512
namespace isa_avx512 {
constexpr int W = 16;
#include "simd.inc"
#include "loss_kernels.inc"
}  // namespace isa_avx512
NL_TARGET_REGION_END

// softmaxForward(x, rows, cols, y, log)
Napi::Value SoftmaxForward(const Napi::CallbackInfo& info) {
  Args a(info, "softmaxForward");
  const int64_t rows = a.int64(1), cols = a.int64(2);
  const float* x = a.f32(0, rows * cols);
  float* y = a.f32(3, rows * cols);
  const bool log_out = a.flag(4);
  if (rows <= 0 || cols <= 0) return info.Env().Undefined();
  parallel_for(rows, row_grain(cols), [&](int64_t b, int64_t e) {
    NL_ISA_CALL(softmax_rows, (x + b * cols, y + b * cols, e - b, cols, log_out, 1.f, 0.f));
  });
  return info.Env().Undefined();
}

// softmaxBackward(y, gy, rows, cols, gx, log)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args a(info, "softmaxBackward");
  const int64_t rows = a.int64(2), cols = a.int64(3);
  const float* y = a.f32(0, rows * cols);
  const float* gy = a.f32(1, rows * cols);
  float* gx = a.f32(4, rows * cols);
  const bool log_out = a.flag(5);
  if (rows <= 0 || cols <= 0) return info.Env().Undefined();
  parallel_for(rows, row_grain(cols), [&](int64_t b, int64_t e) {
    NL_ISA_CALL_STREAMING(softmax_grad_rows, (y + b * cols, gy + b * cols, gx + b * cols, e - b, cols, log_out));
  });
  return info.Env().Undefined();
}

// Checks class indices against [0, C) (ignoreIndex allowed) before any kernel reads memory
// with them. The TS layer reports the same condition with a friendlier message first.
void check_targets(const Args& a, size_t arg, const int32_t* t, int64_t n, int64_t C, int64_t ignore) {
  for (int64_t i = 0; i < n; ++i) {
    if (t[i] == ignore) continue;
    if (t[i] < 0 || t[i] >= C)
      a.fail(arg, "holds class " + std::to_string(t[i]) + " at index " + std::to_string(i) + ", outside [0, " +
                      std::to_string(C) + ")");
  }
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
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyForward");
  const int64_t N = a.int64(1), C = a.int64(2);
  const float* x = a.f32(0, N * C);
  Span<int32_t> t = a.i32(3);
  if (static_cast<int64_t>(t.size) < N) a.fail(3, "must hold at least " + std::to_string(N) + " class indices");
  const double eps = a.num(4);
  const int64_t ignore = a.int64(5);
  float* out = a.f32(6, 1);
  float* row_loss = a.count() > 7 && !info[7].IsUndefined() ? a.f32(7, N) : nullptr;
  check_targets(a, 3, t.data, N, C, ignore);
  std::vector<double> nll(static_cast<size_t>(std::max<int64_t>(N, 0)), 0.0);
  std::vector<double> smooth(nll.size(), 0.0);
  parallel_for(N, row_grain(C), [&](int64_t b, int64_t e) {
    // lse into nll and sum x into smooth, then both turned into the row's terms.
    NL_ISA_CALL(lse_rows, (x + b * C, e - b, C, nll.data() + b, smooth.data() + b));
    for (int64_t r = b; r < e; ++r) {
      if (t.data[r] == ignore) {
        nll[r] = smooth[r] = 0.0;
        continue;
      }
      const double lse = nll[r];
      nll[r] = lse - x[r * C + t.data[r]];
      smooth[r] = static_cast<double>(C) * lse - smooth[r];
    }
  });
  double snll = 0.0, ssmooth = 0.0;
  int64_t valid = 0;
  for (int64_t r = 0; r < N; ++r) {
    if (t.data[r] == ignore) continue;
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
  return Napi::Number::New(info.Env(), static_cast<double>(valid));
}

// crossEntropyBackward(logits, N, C, target, smoothing, ignoreIndex, scale, gx[, rowScale]):
// the fused gradient gx[i, c] = s_i * (softmax(x_i)_c - q_ic) with
// q_ic = (1 - eps) [c == t_i] + eps / C, and 0 for ignored rows. s_i = scale * rowScale[i]
// (rowScale: the upstream gradient of reduction 'none'); for 'mean' the caller passes
// scale = upstream gradient / M.
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyBackward");
  const int64_t N = a.int64(1), C = a.int64(2);
  const float* x = a.f32(0, N * C);
  Span<int32_t> t = a.i32(3);
  if (static_cast<int64_t>(t.size) < N) a.fail(3, "must hold at least " + std::to_string(N) + " class indices");
  const float eps = static_cast<float>(a.num(4));
  const int64_t ignore = a.int64(5);
  const float scale = static_cast<float>(a.num(6));
  float* gx = a.f32(7, N * C);
  const float* row_scale = a.count() > 8 && !info[8].IsUndefined() ? a.f32(8, N) : nullptr;
  check_targets(a, 3, t.data, N, C, ignore);
  const float off = eps / static_cast<float>(C);
  const float on = 1.f - eps + off;
  parallel_for(N, row_grain(C), [&](int64_t b, int64_t e) {
    // Short rows: softmax of the whole chunk, then the scaling; long rows: fused per row.
    const bool chunked = C <= 64;
    if (chunked) NL_ISA_CALL(softmax_rows, (x + b * C, gx + b * C, e - b, C, false, 1.f, 0.f));
    for (int64_t r = b; r < e; ++r) {
      float* gr = gx + r * C;
      if (t.data[r] == ignore) {
        std::fill(gr, gr + C, 0.f);
        continue;
      }
      const float sr = row_scale != nullptr ? scale * row_scale[r] : scale;
      if (chunked) {
        for (int64_t c = 0; c < C; ++c) gr[c] = sr * gr[c] - sr * off;
      } else {
        NL_ISA_CALL(softmax_rows, (x + r * C, gr, 1, C, false, sr, sr * off));
      }
      gr[t.data[r]] -= sr * (on - off);
    }
  });
  return info.Env().Undefined();
}

// nllLossForward(logp, N, C, target, ignoreIndex, out) -> number of valid rows.
// loss = sum_valid(-logp[i, t_i]) / M.
Napi::Value NllLossForward(const Napi::CallbackInfo& info) {
  Args a(info, "nllLossForward");
  const int64_t N = a.int64(1), C = a.int64(2);
  const float* x = a.f32(0, N * C);
  Span<int32_t> t = a.i32(3);
  if (static_cast<int64_t>(t.size) < N) a.fail(3, "must hold at least " + std::to_string(N) + " class indices");
  const int64_t ignore = a.int64(4);
  float* out = a.f32(5, 1);
  check_targets(a, 3, t.data, N, C, ignore);
  double s = 0.0;
  int64_t valid = 0;
  for (int64_t r = 0; r < N; ++r) {
    if (t.data[r] == ignore) continue;
    s -= x[r * C + t.data[r]];
    ++valid;
  }
  out[0] = static_cast<float>(s / static_cast<double>(valid));
  return Napi::Number::New(info.Env(), static_cast<double>(valid));
}

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

// mseLossForward(a, b, n, out): out = mean((a - b)^2).
Napi::Value MseLossForward(const Napi::CallbackInfo& info) {
  Args a(info, "mseLossForward");
  const int64_t n = a.int64(2);
  const float* x = a.f32(0, n);
  const float* y = a.f32(1, n);
  float* out = a.f32(3, 1);
  const double s = blocked_sum(n, [&](int64_t i0, int64_t len, double& part) {
    NL_ISA_CALL_STREAMING(sq_diff_sum, (x + i0, y + i0, len, part));
  });
  out[0] = static_cast<float>(s / static_cast<double>(n));
  return info.Env().Undefined();
}

// mseLossBackward(a, b, n, scale, ga): ga = scale * (a - b), scale = 2 * upstream / n.
Napi::Value MseLossBackward(const Napi::CallbackInfo& info) {
  Args a(info, "mseLossBackward");
  const int64_t n = a.int64(2);
  const float* x = a.f32(0, n);
  const float* y = a.f32(1, n);
  const float scale = static_cast<float>(a.num(3));
  float* g = a.f32(4, n);
  parallel_for(n, kRowGrain, [&](int64_t b, int64_t e) { NL_ISA_CALL_STREAMING(mse_grad, (x + b, y + b, g + b, e - b, scale)); });
  return info.Env().Undefined();
}

// bceWithLogitsForward(x, y, n, out): out = mean(max(x, 0) - x * y + log(1 + exp(-|x|))),
// the stable form of -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))].
Napi::Value BceWithLogitsForward(const Napi::CallbackInfo& info) {
  Args a(info, "bceWithLogitsForward");
  const int64_t n = a.int64(2);
  const float* x = a.f32(0, n);
  const float* y = a.f32(1, n);
  float* out = a.f32(3, 1);
  const double s = blocked_sum(n, [&](int64_t i0, int64_t len, double& part) {
    NL_ISA_CALL(bce_sum, (x + i0, y + i0, len, part));
  });
  out[0] = static_cast<float>(s / static_cast<double>(n));
  return info.Env().Undefined();
}

// bceWithLogitsBackward(x, y, n, scale, gx): gx = scale * (sigmoid(x) - y), scale = upstream / n.
Napi::Value BceWithLogitsBackward(const Napi::CallbackInfo& info) {
  Args a(info, "bceWithLogitsBackward");
  const int64_t n = a.int64(2);
  const float* x = a.f32(0, n);
  const float* y = a.f32(1, n);
  const float scale = static_cast<float>(a.num(3));
  float* g = a.f32(4, n);
  parallel_for(n, kRowGrain, [&](int64_t b, int64_t e) { NL_ISA_CALL(bce_grad, (x + b, y + b, g + b, e - b, scale)); });
  return info.Env().Undefined();
}

// splitmix64 finaliser: a bijective mix of 64 bits (Steele, Lea, Flood 2014).
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// dropoutMask(seed, p, mask, n): mask[i] = u_i >= p ? 1 / (1 - p) : 0, where
// u_i = top 24 bits of mix64(mix64(seed) + (i + 1) * golden) / 2^24, uniform in [0, 1).
// The caller handles p = 0 (identity) and p = 1 (all zero).
Napi::Value DropoutMask(const Napi::CallbackInfo& info) {
  Args a(info, "dropoutMask");
  const int64_t seed = a.int64(0);
  const double p = a.num(1);
  if (!(p >= 0.0 && p < 1.0)) a.fail(1, "(p) must be in [0, 1)");
  const int64_t n = a.int64(3);
  float* mask = a.f32(2, n);
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
  return info.Env().Undefined();
}

}  // namespace

void register_loss(Napi::Env env, Napi::Object exports) {
  def(env, exports, "softmaxForward", SoftmaxForward);
  def(env, exports, "softmaxBackward", SoftmaxBackward);
  def(env, exports, "crossEntropyForward", CrossEntropyForward);
  def(env, exports, "crossEntropyBackward", CrossEntropyBackward);
  def(env, exports, "nllLossForward", NllLossForward);
  def(env, exports, "mseLossForward", MseLossForward);
  def(env, exports, "mseLossBackward", MseLossBackward);
  def(env, exports, "bceWithLogitsForward", BceWithLogitsForward);
  def(env, exports, "bceWithLogitsBackward", BceWithLogitsBackward);
  def(env, exports, "dropoutMask", DropoutMask);
}

}  // namespace nl

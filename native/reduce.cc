// Reductions over the middle axis of an [outer, R, inner] view (the TS layer permutes other
// dim sets into this form), plus the permute copy kernel.
// Sums are accumulated in double per output element: results do not depend on thread count.
#include <cmath>
#include <limits>
#include <vector>

#include "common.h"
#include "napi_args.h"

namespace nl {
namespace {

enum ReduceOp { kSum = 0, kMean = 1, kMax = 2, kVar = 3, kMin = 4 };

// out[o*inner + i] = reduce_r x[(o*R + r)*inner + i]; for max/min idx receives r.
void reduce3(int op, const float* x, int64_t outer, int64_t R, int64_t inner, float* out, int32_t* idx,
             bool unbiased) {
  parallel_for(outer * inner, 256, [&](int64_t b, int64_t e) {
    std::vector<double> acc;
    for (int64_t flat = b; flat < e;) {
      int64_t o = flat / inner, i0 = flat % inner;
      int64_t i1 = std::min<int64_t>(inner, i0 + (e - flat));
      int64_t len = i1 - i0;
      const float* base = x + o * R * inner + i0;
      float* dst = out + o * inner + i0;
      if (op == kSum || op == kMean || op == kVar) {
        acc.assign(static_cast<size_t>(len), 0.0);
        for (int64_t r = 0; r < R; ++r) {
          const float* row = base + r * inner;
          for (int64_t i = 0; i < len; ++i) acc[i] += row[i];
        }
        if (op == kSum) {
          for (int64_t i = 0; i < len; ++i) dst[i] = static_cast<float>(acc[i]);
        } else if (op == kMean) {
          for (int64_t i = 0; i < len; ++i) dst[i] = static_cast<float>(acc[i] / static_cast<double>(R));
        } else {
          // Two-pass variance: mean first, then the sum of squared deviations (stable).
          std::vector<double> m2(static_cast<size_t>(len), 0.0);
          for (int64_t i = 0; i < len; ++i) acc[i] /= static_cast<double>(R);
          for (int64_t r = 0; r < R; ++r) {
            const float* row = base + r * inner;
            for (int64_t i = 0; i < len; ++i) {
              double d = row[i] - acc[i];
              m2[i] += d * d;
            }
          }
          double denom = static_cast<double>(unbiased ? R - 1 : R);
          for (int64_t i = 0; i < len; ++i)
            dst[i] = denom > 0 ? static_cast<float>(m2[i] / denom) : std::numeric_limits<float>::quiet_NaN();
        }
      } else {
        const bool is_max = op == kMax;
        for (int64_t i = 0; i < len; ++i) {
          float best = base[i];
          int32_t bi = 0;
          for (int64_t r = 1; r < R; ++r) {
            float v = base[r * inner + i];
            // NaN propagates, as in PyTorch.
            if (std::isnan(v) && !std::isnan(best)) { best = v; bi = static_cast<int32_t>(r); }
            else if (is_max ? v > best : v < best) { best = v; bi = static_cast<int32_t>(r); }
          }
          dst[i] = best;
          if (idx != nullptr) idx[o * inner + i0 + i] = bi;
        }
      }
      flat += len;
    }
  });
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Args a(info, "reduce");
  int op = static_cast<int>(a.int64(0));
  int64_t outer = a.int64(2), R = a.int64(3), inner = a.int64(4);
  const float* x = a.f32(1, outer * R * inner);
  float* out = a.f32(5, outer * inner);
  int32_t* idx = nullptr;
  if (op == kMax || op == kMin) {
    Span<int32_t> s = a.i32(6);
    if (static_cast<int64_t>(s.size) < outer * inner) a.fail(6, "is too short for the argmax indices");
    idx = s.data;
  }
  bool unbiased = op == kVar ? a.flag(6) : false;
  if (R == 0 && (op == kMax || op == kMin)) a.fail(3, "(reduced size) must be >= 1 for max/min");
  reduce3(op, x, outer, R, inner, out, idx, unbiased);
  return info.Env().Undefined();
}

// out = x permuted: out dim k is x dim perm[k].
Napi::Value Permute(const Napi::CallbackInfo& info) {
  Args a(info, "permute");
  auto shape = a.ints(1), perm = a.ints(2);
  const int64_t n = numel(shape);
  const float* x = a.f32(0, n);
  float* out = a.f32(3, n);
  const size_t nd = shape.size();
  if (perm.size() != nd) a.fail(2, "must have one entry per dimension");
  std::vector<int64_t> xs(nd), os(nd), src_stride(nd);
  int64_t acc = 1;
  for (size_t k = nd; k-- > 0;) { xs[k] = acc; acc *= shape[k]; }
  for (size_t k = 0; k < nd; ++k) { os[k] = shape[perm[k]]; src_stride[k] = xs[perm[k]]; }
  if (n == 0) return info.Env().Undefined();
  const int64_t inner = nd == 0 ? 1 : os[nd - 1];
  const int64_t sin = nd == 0 ? 1 : src_stride[nd - 1];
  const int64_t rows = n / inner;
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t rem = r, off = 0;
      for (size_t k = nd - 1; nd > 0 && k-- > 0;) {
        off += (rem % os[k]) * src_stride[k];
        rem /= os[k];
      }
      float* dst = out + r * inner;
      const float* src = x + off;
      if (sin == 1) for (int64_t i = 0; i < inner; ++i) dst[i] = src[i];
      else for (int64_t i = 0; i < inner; ++i) dst[i] = src[i * sin];
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void register_reduce(Napi::Env env, Napi::Object exports) {
  def(env, exports, "reduce", Reduce);
  def(env, exports, "permute", Permute);
}

}  // namespace nl

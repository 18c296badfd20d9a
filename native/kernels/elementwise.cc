// Elementwise kernels: binary ops with NumPy broadcasting, unary ops and their gradients.
// (Sum-to-shape, the reduction that undoes a broadcast in backward, runs on reduce_dims.)
//
// Op codes (elementwise.h) are shared with src/backend/kernels/elementwise.ts.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "elementwise.h"

#include "common.h"
#include "dispatch.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace nl {
namespace {

constexpr int64_t kGrain = 1 << 15;

// Calls fn(b, h) and fn(h, e) where out + h is the first 64-byte aligned element of [b, e): the
// vector loops then store (and, for operands with the output's alignment, load) whole cache
// lines. JS ArrayBuffers of more than a few pages start 16 bytes past a page boundary, and on
// Zen 4 AVX-512 loads and stores across two cache lines halve the streaming rate.
template <typename F>
void split_at_alignment(const float* out, int64_t b, int64_t e, F fn) {
  const int64_t h = std::min(e, b + static_cast<int64_t>(((64 - (reinterpret_cast<uintptr_t>(out + b) & 63)) & 63) / 4));
  if (h > b) fn(b, h);
  if (e > h) fn(h, e);
}

NL_INLINE float apply_binary(int op, float a, float b) {
  switch (op) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMul: return a * b;
    case kDiv: return a / b;
    case kPow: return std::pow(a, b);
    case kMax: return a > b ? a : b;
    default: return a < b ? a : b;
  }
}

// Contiguous inner loops with both operands advancing (sa, sb are 0 or 1). The op switch is
// hoisted out of the loop so each case vectorises.
template <int OP>
NL_INLINE void binary_inner_op(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = apply_binary(OP, a[i], b[i]);
  } else if (sa == 1) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = apply_binary(OP, a[i], bv);
  } else if (sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = apply_binary(OP, av, b[i]);
  } else {
    const float v = apply_binary(OP, a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

NL_INLINE void binary_inner_body(int op, const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n) {
  switch (op) {
    case kAdd: binary_inner_op<kAdd>(a, sa, b, sb, o, n); break;
    case kSub: binary_inner_op<kSub>(a, sa, b, sb, o, n); break;
    case kMul: binary_inner_op<kMul>(a, sa, b, sb, o, n); break;
    case kDiv: binary_inner_op<kDiv>(a, sa, b, sb, o, n); break;
    case kPow: binary_inner_op<kPow>(a, sa, b, sb, o, n); break;
    case kMax: binary_inner_op<kMax>(a, sa, b, sb, o, n); break;
    default: binary_inner_op<kMin>(a, sa, b, sb, o, n); break;
  }
}
NL_ISA_VARIANTS_STREAMING(binary_inner, (int op, const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n),
                (op, a, sa, b, sb, o, n), binary_inner_body)

// Broadcast geometry: the output shape with per-operand strides (0 on broadcast dims), with
// adjacent dims merged when both operands are contiguous across them.
struct Geometry {
  std::vector<int64_t> dims, sa, sb;
};

Geometry broadcast_geometry(const std::vector<int64_t>& as, const std::vector<int64_t>& bs,
                            const std::vector<int64_t>& os) {
  const size_t n = os.size();
  std::vector<int64_t> sa(n, 0), sb(n, 0);
  int64_t acc_a = 1, acc_b = 1;
  for (size_t k = 0; k < n; ++k) {
    size_t i = n - 1 - k;
    int64_t da = k < as.size() ? as[as.size() - 1 - k] : 1;
    int64_t db = k < bs.size() ? bs[bs.size() - 1 - k] : 1;
    sa[i] = (da == 1 && os[i] != 1) ? 0 : acc_a;
    sb[i] = (db == 1 && os[i] != 1) ? 0 : acc_b;
    acc_a *= da;
    acc_b *= db;
  }
  Geometry g;
  for (size_t i = 0; i < n; ++i) {
    if (os[i] == 1) continue;
    if (!g.dims.empty()) {
      size_t j = g.dims.size() - 1;
      // Merge with the previous (outer) dim when the strides compose.
      if (g.sa[j] == sa[i] * os[i] && g.sb[j] == sb[i] * os[i]) {
        g.dims[j] *= os[i];
        g.sa[j] = sa[i];
        g.sb[j] = sb[i];
        continue;
      }
      if (g.sa[j] == 0 && sa[i] == 0 && g.sb[j] == sb[i] * os[i]) {
        g.dims[j] *= os[i];
        g.sb[j] = sb[i];
        continue;
      }
      if (g.sb[j] == 0 && sb[i] == 0 && g.sa[j] == sa[i] * os[i]) {
        g.dims[j] *= os[i];
        g.sa[j] = sa[i];
        continue;
      }
    }
    g.dims.push_back(os[i]);
    g.sa.push_back(sa[i]);
    g.sb.push_back(sb[i]);
  }
  if (g.dims.empty()) {
    g.dims.push_back(1);
    g.sa.push_back(1);
    g.sb.push_back(1);
  }
  return g;
}

}  // namespace

void binary(int op, const float* A, const std::vector<int64_t>& ashape, const float* B, const std::vector<int64_t>& bshape,
            float* O, const std::vector<int64_t>& oshape) {
  const int64_t total = numel(oshape);
  if (total == 0) return;
  Geometry g = broadcast_geometry(ashape, bshape, oshape);
  const size_t nd = g.dims.size();
  const int64_t inner = g.dims[nd - 1];
  const int64_t outer = total / inner;
  // Rows of the innermost merged dim are independent: split rows (or the one row) over threads.
  if (outer == 1) {
    parallel_for(inner, kGrain, [&](int64_t b0, int64_t e0) {
      split_at_alignment(O, b0, e0, [&](int64_t b, int64_t e) {
        binary_inner(op, A + b * g.sa[0], g.sa[0], B + b * g.sb[0], g.sb[0], O + b, e - b);
      });
    });
    return;
  }
  parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> idx(nd, 0);
    for (int64_t r = r0; r < r1; ++r) {
      int64_t rem = r, offa = 0, offb = 0;
      for (size_t k = nd - 1; k-- > 0;) {
        int64_t i = rem % g.dims[k];
        rem /= g.dims[k];
        offa += i * g.sa[k];
        offb += i * g.sb[k];
      }
      const int64_t sa = g.sa[nd - 1], sb = g.sb[nd - 1];
      split_at_alignment(O + r * inner, 0, inner, [&](int64_t b, int64_t e) {
        binary_inner(op, A + offa + b * sa, sa, B + offb + b * sb, sb, O + r * inner + b, e - b);
      });
    }
  });
}

namespace {

// Every unary op code, for the switches that instantiate one loop per op.
#define NL_UNARY_OPS(X)                                                                                         \
  X(kNeg) X(kExp) X(kLog) X(kSqrt) X(kAbs) X(kRelu) X(kSigmoid) X(kTanh) X(kGelu) X(kLeakyRelu) X(kClamp)     \
  X(kPowScalar) X(kAddScalar) X(kMulScalar) X(kRsubScalar) X(kRdivScalar) X(kSquare) X(kSign) X(kRsqrt)

NL_INLINE float gelu_erf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

template <int OP>
NL_INLINE void unary_op(const float* x, float* y, int64_t n, float p0, float p1) {
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    float r;
    switch (OP) {
      case kNeg: r = -v; break;
      case kExp: r = std::exp(v); break;
      case kLog: r = std::log(v); break;
      case kSqrt: r = std::sqrt(v); break;
      case kAbs: r = std::fabs(v); break;
      case kRelu: r = v > 0.f ? v : 0.f; break;
      case kSigmoid: r = 1.f / (1.f + std::exp(-v)); break;
      case kTanh: r = std::tanh(v); break;
      case kGelu: r = gelu_erf(v); break;
      case kLeakyRelu: r = v > 0.f ? v : v * p0; break;
      case kClamp: r = std::min(std::max(v, p0), p1); break;
      case kPowScalar: r = std::pow(v, p0); break;
      case kAddScalar: r = v + p0; break;
      case kMulScalar: r = v * p0; break;
      case kRsubScalar: r = p0 - v; break;
      case kRdivScalar: r = p0 / v; break;
      case kSquare: r = v * v; break;
      case kSign: r = static_cast<float>((v > 0.f) - (v < 0.f)); break;
      default: r = 1.f / std::sqrt(v); break;
    }
    y[i] = r;
  }
}

NL_INLINE void unary_body(int op, const float* x, float* y, int64_t n, float p0, float p1) {
  switch (op) {
#define NL_CASE(OP) case OP: unary_op<OP>(x, y, n, p0, p1); break;
    NL_UNARY_OPS(NL_CASE)
#undef NL_CASE
    default: break;
  }
}
NL_ISA_VARIANTS_STREAMING(unary_run, (int op, const float* x, float* y, int64_t n, float p0, float p1), (op, x, y, n, p0, p1),
                unary_body)

// exp and sigmoid through the vector exp of simd.inc (std::exp does not vectorise):
// sigmoid(x) = 1 / (1 + exp(-x)).
#define NL_ISA_KERNELS "unary_exp_kernels.inc"
#include "isa_kernels.inc"

}  // namespace

void unary(int op, const float* x, float* y, int64_t n, float p0, float p1) {
  if (op == kExp || op == kSigmoid) {
    const bool sig = op == kSigmoid;
    parallel_for(n, kGrain,
                 [&](int64_t b0, int64_t e0) {
                   split_at_alignment(y, b0, e0, [&](int64_t b, int64_t e) { NL_ISA_CALL(exp_like, (x + b, y + b, e - b, sig)); });
                 });
    return;
  }
  parallel_for(n, kGrain,
               [&](int64_t b0, int64_t e0) {
                 split_at_alignment(y, b0, e0, [&](int64_t b, int64_t e) { unary_run(op, x + b, y + b, e - b, p0, p1); });
               });
}

namespace {

// Gradient of a unary op: gx = gy * f'(x), written with the saved input x and output y.
template <int OP>
NL_INLINE void unary_grad_op(const float* x, const float* y, const float* gy, float* gx, int64_t n, float p0, float p1) {
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i], out = y[i], g = gy[i], r;
    switch (OP) {
      case kNeg: r = -g; break;
      case kExp: r = g * out; break;
      case kLog: r = g / v; break;
      case kSqrt: r = g * 0.5f / out; break;
      case kAbs: r = v > 0.f ? g : (v < 0.f ? -g : 0.f); break;
      case kRelu: r = v > 0.f ? g : 0.f; break;
      case kSigmoid: r = g * out * (1.f - out); break;
      case kTanh: r = g * (1.f - out * out); break;
      case kGelu: {
        float cdf = 0.5f * (1.0f + std::erf(v * 0.70710678118654752f));
        float pdf = 0.3989422804014327f * std::exp(-0.5f * v * v);
        r = g * (cdf + v * pdf);
        break;
      }
      case kLeakyRelu: r = v > 0.f ? g : g * p0; break;
      // Clamp passes the gradient where min <= x <= max (PyTorch's convention at the bounds).
      case kClamp: r = (v >= p0 && v <= p1) ? g : 0.f; break;
      case kPowScalar: r = p0 == 0.f ? 0.f : g * p0 * std::pow(v, p0 - 1.f); break;
      case kAddScalar: r = g; break;
      case kMulScalar: r = g * p0; break;
      case kRsubScalar: r = -g; break;
      case kRdivScalar: r = -g * out / v; break;
      case kSquare: r = 2.f * g * v; break;
      case kSign: r = 0.f; break;
      default: r = -0.5f * g * out * out * out; break;
    }
    gx[i] = r;
  }
}

NL_INLINE void unary_grad_body(int op, const float* x, const float* y, const float* gy, float* gx, int64_t n, float p0,
                               float p1) {
  switch (op) {
#define NL_CASE(OP) case OP: unary_grad_op<OP>(x, y, gy, gx, n, p0, p1); break;
    NL_UNARY_OPS(NL_CASE)
#undef NL_CASE
    default: break;
  }
}
NL_ISA_VARIANTS_STREAMING(unary_grad_run,
                (int op, const float* x, const float* y, const float* gy, float* gx, int64_t n, float p0, float p1),
                (op, x, y, gy, gx, n, p0, p1), unary_grad_body)

}  // namespace

void unary_backward(int op, const float* x, const float* y, const float* gy, float* gx, int64_t n, float p0, float p1) {
  parallel_for(n, kGrain, [&](int64_t b0, int64_t e0) {
    split_at_alignment(gx, b0, e0, [&](int64_t b, int64_t e) { unary_grad_run(op, x + b, y + b, gy + b, gx + b, e - b, p0, p1); });
  });
}

}  // namespace nl

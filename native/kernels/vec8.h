// 8-float vectors as GCC/Clang vector extensions, for kernels instantiated per ISA by
// NL_ISA_VARIANTS (dispatch.h): each variant lowers them to its own registers (two SSE halves on
// the scalar path, one AVX register otherwise) with the same per-lane arithmetic.
#pragma once
#include <cstdint>

#include "common.h"

// The helpers pass vectors by value between always-inline functions; the ABI note GCC gives for
// 32-byte vector arguments on the scalar path does not apply (nothing crosses a call boundary).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace nl {

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

NL_INLINE v8f load8(const float* p) {
  v8f v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
NL_INLINE void store8(float* p, v8f v) { __builtin_memcpy(p, &v, sizeof v); }
NL_INLINE v8f splat8(float v) { return v8f{v, v, v, v, v, v, v, v}; }
// Sum of the lanes in lane order, in double.
NL_INLINE double hsum8(v8f v) {
  double s = 0.0;
  for (int k = 0; k < 8; ++k) s += v[k];
  return s;
}

// exp from a degree-6 polynomial on [-ln2/2, ln2/2] scaled by 2^n (relative error about 2e-7),
// inputs clamped to [-87, 88].
NL_INLINE v8f exp8(v8f x) {
  const v8f lo = -87.f - v8f{}, hi = 88.f - v8f{};
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const v8f n = __builtin_convertvector(__builtin_convertvector(x * 1.44269504088896341f + (x >= 0.f ? 0.5f - v8f{} : -0.5f - v8f{}), v8i), v8f);
  const v8f r = x - n * 0.693359375f - n * -2.12194440e-4f;
  v8f p = 1.9875691500e-4f - v8f{};
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const v8i e = (__builtin_convertvector(n, v8i) + 127) << 23;
  v8f scale;
  __builtin_memcpy(&scale, &e, sizeof scale);
  return p * scale;
}

// Natural log of positive normal floats (Cephes logf): x = m 2^e with m in [sqrt(1/2), sqrt(2)),
// log(m) from a degree-9 polynomial in m - 1 (error about 1 ulp). Zero, negative, denormal,
// infinite and NaN inputs are not handled; callers route them elsewhere.
NL_INLINE v8f log8(v8f x) {
  v8i bits;
  __builtin_memcpy(&bits, &x, sizeof bits);
  v8i e = ((bits >> 23) & 0xff) - 126;
  const v8i mb = (bits & 0x007fffff) | 0x3f000000;  // mantissa in [0.5, 1)
  v8f m;
  __builtin_memcpy(&m, &mb, sizeof m);
  const v8i small = m < 0.707106781186547524f;
  e += small;  // the mask is -1 where m < sqrt(1/2): one less in the exponent, m doubled
  m = (small ? m + m : m) - 1.f;
  const v8f ef = __builtin_convertvector(e, v8f);
  const v8f z = m * m;
  v8f y = 7.0376836292e-2f - v8f{};
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  y += ef * -2.12194440e-4f;
  y += z * -0.5f;
  return m + y + ef * 0.693359375f;
}

}  // namespace nl

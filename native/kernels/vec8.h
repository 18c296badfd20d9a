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

}  // namespace nl

// Instantiates a generic always-inline kernel body once per ISA and picks one at call time.
//
//   NL_ISA_VARIANTS(name, (params...), (args...), body_function)
//
// defines name_scalar / name_avx2 / name_avx512 wrappers (the SIMD ones compiled with target
// attributes, so the compiler vectorises the inlined body for that ISA) and `name(params...)`
// which dispatches on nl::active_isa().
#pragma once
#include "common.h"

#define NL_ISA_VARIANTS(name, params, args, body)                                   \
  static void name##_scalar params { body args; }                                   \
  NL_TARGET_AVX2 static void name##_avx2 params { body args; }                      \
  NL_TARGET_AVX512 static void name##_avx512 params { body args; }                  \
  static void name params {                                                         \
    switch (::nl::active_isa()) {                                                   \
      case ::nl::Isa::Avx512: name##_avx512 args; break;                            \
      case ::nl::Isa::Avx2: name##_avx2 args; break;                                \
      default: name##_scalar args; break;                                           \
    }                                                                               \
  }

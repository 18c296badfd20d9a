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

// As NL_ISA_VARIANTS for streaming bodies (a few operations per element loaded or stored): the
// AVX-512 path runs the AVX2 code. On Zen 4 the 512-bit loop streams slower than the 256-bit
// one (relu on 8.4M floats, 1 thread, aligned: 2.3 ms vs 1.45 ms; PyTorch 1.56 ms), while
// compute-bound kernels (exp, softmax, gemm) gain from AVX-512.
#define NL_ISA_VARIANTS_STREAMING(name, params, args, body)                         \
  static void name##_scalar params { body args; }                                   \
  NL_TARGET_AVX2 static void name##_avx2 params { body args; }                      \
  static void name params {                                                         \
    switch (::nl::active_isa()) {                                                   \
      case ::nl::Isa::Avx512:                                                       \
      case ::nl::Isa::Avx2: name##_avx2 args; break;                                \
      default: name##_scalar args; break;                                           \
    }                                                                               \
  }

// Kernels written once on GCC/Clang vector types (simd.inc) are compiled per ISA by including
// them three times, each inside its own namespace that defines `constexpr int W` (float lanes),
// the SIMD ones inside a target region; isa_kernels.inc does that for one kernel file:
//
//   namespace isa_scalar { constexpr int W = 4; #include "simd.inc" #include "x_kernels.inc" }
//   NL_TARGET_REGION_AVX2   namespace isa_avx2 { constexpr int W = 8; ... }    NL_TARGET_REGION_END
//   NL_TARGET_REGION_AVX512 namespace isa_avx512 { constexpr int W = 16; ... } NL_TARGET_REGION_END
//
// A target region (rather than target attributes on an always-inline body) makes every helper
// function of the kernel, templates and lambdas included, see the ISA's vector width; helpers
// compiled for the baseline would split 32- and 64-byte vector operations into SSE or scalar
// pieces. The SIMD regions contract a * b + c into FMAs (the build's -std=c++17 turns that off
// elsewhere). The scalar path uses 4 lanes, the x86-64 baseline (SSE2). NL_ISA_CALL(fn, (args))
// calls the variant of the active ISA.
#if NL_HAS_X86
#define NL_TARGET_REGION_AVX2 \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")") _Pragma("GCC optimize(\"fp-contract=fast\")")
#define NL_TARGET_REGION_AVX512                                                                      \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512dq,avx512bw,avx512vl,avx2,fma\")") \
      _Pragma("GCC optimize(\"fp-contract=fast\")")
#define NL_TARGET_REGION_END _Pragma("GCC pop_options")
#else
#define NL_TARGET_REGION_AVX2
#define NL_TARGET_REGION_AVX512
#define NL_TARGET_REGION_END
#endif

// NL_ISA_CALL_STREAMING: the same for streaming kernels, whose AVX2 variant also serves the
// AVX-512 path (see NL_ISA_VARIANTS_STREAMING).
#define NL_ISA_CALL_STREAMING(fn, args)                                             \
  do {                                                                              \
    if (::nl::active_isa() == ::nl::Isa::Scalar) isa_scalar::fn args;               \
    else isa_avx2::fn args;                                                         \
  } while (0)

#define NL_ISA_CALL(fn, args)                                                       \
  do {                                                                              \
    switch (::nl::active_isa()) {                                                   \
      case ::nl::Isa::Avx512: isa_avx512::fn args; break;                           \
      case ::nl::Isa::Avx2: isa_avx2::fn args; break;                               \
      default: isa_scalar::fn args; break;                                          \
    }                                                                               \
  } while (0)

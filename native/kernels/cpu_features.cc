// Runtime CPU-feature detection and the NORMLAB_ISA override (scalar | avx2 | avx512).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common.h"

namespace nl {
namespace {

Isa detect() {
#if NL_HAS_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Scalar;
}

Isa initial() {
  Isa best = detect();
  const char* env = std::getenv("NORMLAB_ISA");
  if (env == nullptr || *env == '\0') return best;
  Isa want;
  if (std::strcmp(env, "scalar") == 0) want = Isa::Scalar;
  else if (std::strcmp(env, "avx2") == 0) want = Isa::Avx2;
  else if (std::strcmp(env, "avx512") == 0) want = Isa::Avx512;
  else {
    std::fprintf(stderr, "normlab: NORMLAB_ISA must be scalar, avx2 or avx512, got '%s'; using %s\n", env,
                 isa_name(best));
    return best;
  }
  if (static_cast<int>(want) > static_cast<int>(best)) {
    std::fprintf(stderr, "normlab: NORMLAB_ISA=%s is not supported by this CPU; using %s\n", env, isa_name(best));
    return best;
  }
  return want;
}

Isa g_active = initial();

}  // namespace

Isa active_isa() { return g_active; }
Isa best_supported_isa() {
  static const Isa best = detect();
  return best;
}
bool isa_supported(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(best_supported_isa()); }
void set_isa(Isa isa) { g_active = isa; }
const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "scalar";
  }
}

}  // namespace nl

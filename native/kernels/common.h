// Shared declarations of the native core: instruction-set dispatch and the thread pool.
// Kernels are plain functions over float pointers and sizes; nothing here knows about N-API.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace nl {

// Instruction-set paths. Every kernel family has a scalar path; the SIMD paths are compiled
// with per-function target attributes so one binary runs on any x86-64 CPU.
enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

Isa active_isa();                 // the path kernels take now
Isa best_supported_isa();         // the best path this CPU can run
bool isa_supported(Isa isa);
void set_isa(Isa isa);            // caller checks isa_supported first
const char* isa_name(Isa isa);

// Thread pool. The calling thread takes part as thread 0. A call made from inside a parallel
// region, or while another JS thread holds the pool, runs serially on the caller.
int num_threads();
void set_num_threads(int n);
// Calls fn(tid, nthreads) once on each of nthreads threads (nthreads <= num_threads()).
void parallel_run(int nthreads, const std::function<void(int, int)>& fn);
// Splits [0, n) into contiguous chunks of at least `grain` items, one chunk per thread,
// and calls fn(begin, end) for each.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Number of elements of a shape.
inline int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace nl

// Target attributes for the SIMD variants of a kernel. A generic always-inline body
// instantiated inside a function carrying one of these gets vectorised for that ISA.
#if defined(__x86_64__) || defined(__i386__)
#define NL_HAS_X86 1
#define NL_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define NL_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#else
#define NL_HAS_X86 0
#define NL_TARGET_AVX2
#define NL_TARGET_AVX512
#endif
#define NL_INLINE inline __attribute__((always_inline))

// SGEMM after Goto / BLIS: op(B) is packed into KC x NC panels of NR-column slivers, op(A)
// into MC x KC blocks of MR-row slivers, and a register-blocked micro-kernel computes one
// MR x NR tile of C from one A sliver and one B sliver.
//
//   for jc in N step NC            B panel (KC x NC) lives in L3, shared by the threads
//     for pc in K step KC          beta is applied at pc == 0, later blocks accumulate
//       pack B[pc, jc]             (on one thread: sliver by sliver at first use)
//       for ic in M step MC        A block (MC x KC) lives in L2, one per thread
//         pack A[ic, pc]
//         for jr in NC step NR     B sliver (KC x NR) stays in L1 across the ir loop
//           for ir in MC step MR   micro-kernel, MR x NR accumulators in registers
//
// KC and MC are upper bounds: K and M are cut into equal blocks (even_step). Blocking values
// and their cache reasoning are in kernel_for.
//
// Determinism: every element of C is computed by the same sequence of operations whatever
// the thread count (threads split the M and N directions only, never K; the K blocking does
// not depend on the thread count; edge tiles run the same micro-kernel on a local tile), so
// results are bitwise identical for 1, 2 or any number of threads.
#include "gemm.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <numeric>
#include <thread>
#include <utility>

#include "common.h"
#if NL_HAS_X86
#include <immintrin.h>
#endif

namespace nl {
namespace {

using UKernel = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, float alpha,
                         float beta);

// ---------------------------------------------------------------------------------------------
// Micro-kernels: the one body in gemm_ukernel.inc, instantiated per instruction set.

namespace scalar {
// 4 x 4 scalar tile: 16 accumulators fit the 16 SSE registers of baseline x86-64.
using vec = float;
constexpr int W = 1;
constexpr int MR = 4, NV = 4;
NL_INLINE vec vload(const float* p) { return *p; }
NL_INLINE void vstore(float* p, vec v) { *p = v; }
NL_INLINE vec vbcast(const float* p) { return *p; }
NL_INLINE vec vfma(vec a, vec b, vec c) { return a * b + c; }
NL_INLINE vec vmul(vec a, vec b) { return a * b; }
NL_INLINE vec vset1(float x) { return x; }
NL_INLINE vec vzero() { return 0.f; }
#define NL_UK_TARGET
#include "gemm_ukernel.inc"
#undef NL_UK_TARGET
}  // namespace scalar

#if NL_HAS_X86
namespace avx2 {
// 6 x 16 tile: 12 ymm accumulators + 2 for the B row + 1 broadcast of A = 15 of 16 registers.
// Per k step: 12 FMAs against 2 loads + 6 broadcasts, enough to keep both FMA pipes busy.
using vec = __m256;
constexpr int W = 8;
constexpr int MR = 6, NV = 2;
NL_TARGET_AVX2 NL_INLINE vec vload(const float* p) { return _mm256_loadu_ps(p); }
NL_TARGET_AVX2 NL_INLINE void vstore(float* p, vec v) { _mm256_storeu_ps(p, v); }
NL_TARGET_AVX2 NL_INLINE vec vbcast(const float* p) { return _mm256_broadcast_ss(p); }
NL_TARGET_AVX2 NL_INLINE vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
NL_TARGET_AVX2 NL_INLINE vec vmul(vec a, vec b) { return _mm256_mul_ps(a, b); }
NL_TARGET_AVX2 NL_INLINE vec vset1(float x) { return _mm256_set1_ps(x); }
NL_TARGET_AVX2 NL_INLINE vec vzero() { return _mm256_setzero_ps(); }
#define NL_UK_TARGET NL_TARGET_AVX2
#include "gemm_ukernel.inc"
#undef NL_UK_TARGET
}  // namespace avx2

namespace avx512 {
// 12 x 32 tile: 24 zmm accumulators + 2 for the B row + 1 broadcast = 27 of 32 registers.
using vec = __m512;
constexpr int W = 16;
constexpr int MR = 12, NV = 2;
NL_TARGET_AVX512 NL_INLINE vec vload(const float* p) { return _mm512_loadu_ps(p); }
NL_TARGET_AVX512 NL_INLINE void vstore(float* p, vec v) { _mm512_storeu_ps(p, v); }
NL_TARGET_AVX512 NL_INLINE vec vbcast(const float* p) { return _mm512_set1_ps(*p); }
NL_TARGET_AVX512 NL_INLINE vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
NL_TARGET_AVX512 NL_INLINE vec vmul(vec a, vec b) { return _mm512_mul_ps(a, b); }
NL_TARGET_AVX512 NL_INLINE vec vset1(float x) { return _mm512_set1_ps(x); }
NL_TARGET_AVX512 NL_INLINE vec vzero() { return _mm512_setzero_ps(); }
#define NL_UK_TARGET NL_TARGET_AVX512
#include "gemm_ukernel.inc"
#undef NL_UK_TARGET
}  // namespace avx512
#endif

// ---------------------------------------------------------------------------------------------
// Packing. Slivers are zero-padded to full MR rows / NR columns so the micro-kernel never
// needs a partial variant.

// Floats allocated past the end of a packed A block: the vectorised packing may write up to
// 2 floats beyond it (see pack_a_avx2).
constexpr int64_t kPackSlack = 16;

// Packed B slivers lie sliver_stride(NR, kc) floats apart: kc rows of NR floats plus 64 bytes.
// Without the pad the stride (12 or 16 KiB for kc = 192 or 256) is a multiple of 4 KiB, so
// the slivers that row-wise packing writes one after another all map to the same L1 set.
constexpr int64_t kSliverPad = 16;
inline int64_t sliver_stride(int64_t nr, int64_t kc) { return nr * kc + kSliverPad; }

// Slivers packed together, row by row: each row of B then gives 8 x 16 floats (512 bytes)
// of contiguous reads instead of one 64-byte segment per 4 KiB page, which the hardware
// prefetchers follow (packed sliver by sliver, B packing takes 22% of a 64x1024x576 GEMM).
constexpr int64_t kPackGroup = 8;

struct Operands {
  bool ta, tb;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;
};

// Rows [i0, i0 + mc) x columns [p0, p0 + kc) of op(A) into ceil(mc / MR) slivers at dst;
// sliver s holds kc groups of MR floats.
template <int MR>
NL_INLINE void pack_a_body(const Operands& o, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  for (int64_t ir = 0; ir < mc; ir += MR, dst += MR * kc) {
    const int64_t mr = std::min<int64_t>(MR, mc - ir);
    if (!o.ta) {
      const float* src = o.A + (i0 + ir) * o.lda + p0;
      if (mr == MR) {
        for (int64_t p = 0; p < kc; ++p)
          for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[i * o.lda + p];
      } else {
        for (int64_t p = 0; p < kc; ++p)
          for (int i = 0; i < MR; ++i) dst[p * MR + i] = i < mr ? src[i * o.lda + p] : 0.f;
      }
    } else {
      const float* src = o.A + p0 * o.lda + i0 + ir;
      if (mr == MR) {
        for (int64_t p = 0; p < kc; ++p)
          for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[p * o.lda + i];
      } else {
        for (int64_t p = 0; p < kc; ++p)
          for (int i = 0; i < MR; ++i) dst[p * MR + i] = i < mr ? src[p * o.lda + i] : 0.f;
      }
    }
  }
}

// Rows [p0, p0 + kc) x columns [j0, j0 + nc) of op(B) into ceil(nc / NR) slivers at dst,
// ss floats apart; sliver s holds kc groups of NR floats.
template <int NR>
NL_INLINE void pack_b_body(const Operands& o, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst,
                           int64_t ss) {
  for (int64_t jr = 0; jr < nc; jr += NR, dst += ss) {
    const int64_t nr = std::min<int64_t>(NR, nc - jr);
    if (!o.tb) {
      const float* src = o.B + p0 * o.ldb + j0 + jr;
      if (nr == NR) {
        for (int64_t p = 0; p < kc; ++p)
          for (int j = 0; j < NR; ++j) dst[p * NR + j] = src[p * o.ldb + j];
      } else {
        for (int64_t p = 0; p < kc; ++p)
          for (int j = 0; j < NR; ++j) dst[p * NR + j] = j < nr ? src[p * o.ldb + j] : 0.f;
      }
    } else {
      const float* src = o.B + (j0 + jr) * o.ldb + p0;
      if (nr == NR) {
        for (int j = 0; j < NR; ++j)
          for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = src[j * o.ldb + p];
      } else {
        for (int j = 0; j < NR; ++j)
          for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = j < nr ? src[j * o.ldb + p] : 0.f;
      }
    }
  }
}

using PackA = void (*)(const Operands&, int64_t, int64_t, int64_t, int64_t, float*);
using PackB = void (*)(const Operands&, int64_t, int64_t, int64_t, int64_t, float*, int64_t);

void pack_a_scalar(const Operands& o, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* d) {
  pack_a_body<scalar::MR>(o, i0, mc, p0, kc, d);
}
void pack_b_scalar(const Operands& o, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* d, int64_t ss) {
  pack_b_body<scalar::NV * scalar::W>(o, p0, kc, j0, nc, d, ss);
}
#if NL_HAS_X86
// 8 x 8 transpose in registers: c[q] holds lane q of r[0..7] (column q of the 8 rows).
NL_TARGET_AVX2 NL_INLINE void transpose8_regs(const __m256 r[8], __m256 c[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int q = 0; q < 4; ++q) {
    c[q] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x20);
    c[q + 4] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x31);
  }
}

// Full 6-row slivers of a non-transposed A, 8 columns at a time: the 6 row segments are
// transposed in registers (two zero rows make it 8 x 8) and each column is written as one
// 8-float store of which lanes 6 and 7 spill into the next column's slot. Stores go in
// ascending column order, so every spill is overwritten by the following store; the last one
// lands in the next sliver (written afterwards) or in the kPackSlack floats past the block.
// A scalar gather instead takes ~3% of a 1024^3 GEMM.
NL_TARGET_AVX2 void pack_a_avx2(const Operands& o, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  constexpr int MR = avx2::MR;
  const int64_t full = o.ta ? 0 : mc / MR * MR;
  const int64_t kc8 = kc / 8 * 8;
  for (int64_t ir = 0; ir < full; ir += MR, dst += MR * kc) {
    const float* src = o.A + (i0 + ir) * o.lda + p0;
    for (int64_t p = 0; p < kc8; p += 8) {
      if (p % 16 == 0 && ir + 2 * MR <= full)
        for (int i = 0; i < MR; ++i)
          _mm_prefetch(reinterpret_cast<const char*>(src + (MR + i) * o.lda + p), _MM_HINT_T0);
      const __m256 z = _mm256_setzero_ps();
      __m256 r[8] = {_mm256_loadu_ps(src + p),
                     _mm256_loadu_ps(src + o.lda + p),
                     _mm256_loadu_ps(src + 2 * o.lda + p),
                     _mm256_loadu_ps(src + 3 * o.lda + p),
                     _mm256_loadu_ps(src + 4 * o.lda + p),
                     _mm256_loadu_ps(src + 5 * o.lda + p),
                     z,
                     z};
      __m256 c[8];
      transpose8_regs(r, c);
      float* d = dst + p * MR;
      for (int q = 0; q < 8; ++q) _mm256_storeu_ps(d + q * MR, c[q]);
    }
    for (int64_t p = kc8; p < kc; ++p)
      for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[i * o.lda + p];
  }
  if (full < mc) pack_a_body<MR>(o, i0 + full, mc - full, p0, kc, dst);
}
// 8 x 8 transpose: dst[q * ldd + i] = src[i * lds + q].
NL_TARGET_AVX2 NL_INLINE void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m256 r[8], c[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  transpose8_regs(r, c);
  for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + q * ldd, c[q]);
}

// pack_b_body vectorised: a non-transposed B is copied row by row across all slivers (see
// kPackGroup); the transposed case (a gather of NR strided rows per k) is done as 8 x 8
// register transposes (with a scalar gather, NT/TT with small M run ~30% slower than NN).
template <int NR>
NL_TARGET_AVX2 NL_INLINE void pack_b_x86(const Operands& o, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                                         float* dst, int64_t ss) {
  const int64_t full = nc / NR;
  if (!o.tb) {
    const float* src = o.B + p0 * o.ldb + j0;
    const int64_t ldb = o.ldb;
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t s = 0; s < full; ++s)
        for (int j = 0; j < NR; j += 8)
          _mm256_storeu_ps(dst + s * ss + p * NR + j, _mm256_loadu_ps(src + p * ldb + s * NR + j));
  } else {
    const int64_t kc8 = kc / 8 * 8;
    for (int64_t s = 0; s < full; ++s) {
      const float* src = o.B + (j0 + s * NR) * o.ldb + p0;
      float* d = dst + s * ss;
      for (int64_t p = 0; p < kc8; p += 8)
        for (int j = 0; j < NR; j += 8) transpose8x8(src + j * o.ldb + p, o.ldb, d + p * NR + j, NR);
      for (int j = 0; j < NR; ++j)
        for (int64_t p = kc8; p < kc; ++p) d[p * NR + j] = src[j * o.ldb + p];
    }
  }
  if (full * NR < nc) pack_b_body<NR>(o, p0, kc, j0 + full * NR, nc - full * NR, dst + full * ss, ss);
}

NL_TARGET_AVX2 void pack_b_avx2(const Operands& o, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* d,
                                int64_t ss) {
  pack_b_x86<avx2::NV * avx2::W>(o, p0, kc, j0, nc, d, ss);
}
NL_TARGET_AVX512 void pack_a_avx512(const Operands& o, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* d) {
  pack_a_body<avx512::MR>(o, i0, mc, p0, kc, d);
}
NL_TARGET_AVX512 void pack_b_avx512(const Operands& o, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* d,
                                    int64_t ss) {
  pack_b_x86<avx512::NV * avx512::W>(o, p0, kc, j0, nc, d, ss);
}
#endif

// ---------------------------------------------------------------------------------------------
// Blocking per instruction set. MC is a multiple of MR and NC of NR.

struct Kernel {
  int mr, nr;
  int64_t mc, kc, nc;
  UKernel uk;
  const UKernel* uk_rows;  // uk_rows[r - 1]: the first r < mr rows of a tile
  PackA pack_a;
  PackB pack_b;
};

const Kernel& kernel_for(Isa isa) {
  // Scalar: small blocks, the path exists for correctness, not speed.
  static const Kernel k_scalar{scalar::MR, scalar::NV * scalar::W, 64, 256, 1024,
                               scalar::ukernel, scalar::uk_rows.data(), pack_a_scalar, pack_b_scalar};
#if NL_HAS_X86
  // AVX2 (tuned on Zen 3: 32 KiB L1d, 512 KiB L2 per core, 32 MiB shared L3):
  //   KC = 256: B sliver 256 x 16 x 4 B = 16 KiB and A sliver 6 KiB together fit L1d.
  //   MC = 144: A block 144 x 256 x 4 B = 144 KiB, well inside L2 next to streaming B slivers.
  //   NC = 4080: B panel 256 x 4080 x 4 B = 4 MiB, shared by the threads in L3.
  static const Kernel k_avx2{avx2::MR, avx2::NV * avx2::W, 144, 256, 4080, avx2::ukernel, avx2::uk_rows.data(),
                             pack_a_avx2, pack_b_avx2};
  // AVX-512: same scheme, 12 x 32 tiles, with BLIS-like sizes (not tuned on an AVX-512 CPU):
  // A block 144 x 256 (144 KiB), B panel 256 x 3072 (3 MiB).
  static const Kernel k_avx512{avx512::MR, avx512::NV * avx512::W, 144, 256, 3072,
                               avx512::ukernel, avx512::uk_rows.data(), pack_a_avx512, pack_b_avx512};
  if (isa == Isa::Avx512) return k_avx512;
  if (isa == Isa::Avx2) return k_avx2;
#endif
  (void)isa;
  return k_scalar;
}

// ---------------------------------------------------------------------------------------------
// Per-thread packing buffers, 64-byte aligned, grown on demand and reused across calls so
// small GEMMs (convolution layers) do not allocate.

class AlignedBuffer {
 public:
  ~AlignedBuffer() { std::free(data_); }
  float* get(size_t n) {
    if (n > cap_) {
      std::free(data_);
      size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (data_ == nullptr) throw std::bad_alloc();
      cap_ = n;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t cap_ = 0;
};

thread_local AlignedBuffer t_pack_a;
thread_local AlignedBuffer t_pack_b;

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Step of a blocked loop over n items with blocks of at most `block`: the fewest blocks, of
// equal size rounded up to `align`, so that K = 576 runs as 3 x 192 rather than 256 + 256 + 64
// (a thin last block pays the C update and packing set-up for little work). The K step
// depends on K only, never on the thread count.
inline int64_t even_step(int64_t n, int64_t block, int64_t align) {
  const int64_t blocks = (n + block - 1) / block;
  return std::min(block, round_up((n + blocks - 1) / blocks, align));
}

// How the B slivers a macro-kernel reads come to be packed.
enum class BPack {
  Ready,  // the panel at bp is already packed
  Panel,  // pack each group of kPackGroup slivers into its place in the panel before first use
  Group,  // the panel is used once: pack each group into one reused (L2-resident) buffer at bp
  Direct,  // the panel is used once: read full slivers in place from B (see direct_b); only
           // the last, partial sliver is packed (zero-padded) into bp
};

// Whether a one-pass panel (M <= MC) may skip packing and have the micro-kernel read op(B)
// in place. It saves the copy, 15% of a 16x784x25 GEMM (each B element meets only 16 rows
// of A), but the kc row segments of a sliver must stay in L1 while the ceil(M / MR) tiles
// of the sliver run, and rows ldb * 4 bytes apart only reach 64 / gcd(64, ldb * 4 / 64) of
// the 64 sets of a 32 KiB 8-way L1 (one set for ldb = 1024, where 8 rows already evict each
// other). Half the ways of the reachable sets are left to B.
inline bool direct_b(const Kernel& k, const Operands& o, int64_t kc) {
  if (o.tb) return false;
  const int64_t row_bytes = o.ldb * static_cast<int64_t>(sizeof(float));
  const int64_t sets = row_bytes % 64 == 0 ? 64 / std::gcd<int64_t>(64, row_bytes / 64) : 64;
  const int64_t lines_per_row = k.nr * static_cast<int64_t>(sizeof(float)) / 64 + 1;
  return sets * 8 / 2 >= kc * lines_per_row;
}

// C[ic:ic+mc, jc:jc+nc] (+)= alpha * Apacked * Bpacked over the NR-column slivers [s0, s1)
// of the B panel (slivers sliver_stride apart). Packing a group of slivers right before the
// ir loops consume it (BPack::Panel / Group) saves a separate pass over the panel; that is
// what matters when M is small and each B element meets only a few rows of A.
void macro_kernel(const Kernel& k, const Operands& o, const float* ap, int64_t ic, int64_t mc, float* bp,
                  BPack bpack, int64_t pc, int64_t kc, int64_t jc, int64_t nc, int64_t s0, int64_t s1, float beta) {
  alignas(64) float tile[12 * 32];  // room for the largest MR x NR tile (AVX-512)
  const int64_t ss = sliver_stride(k.nr, kc);
  for (int64_t s = s0; s < s1; ++s) {
    const int64_t jr = s * k.nr;
    const int64_t nr = std::min<int64_t>(k.nr, nc - jr);
    const float* b;
    int64_t ldb = k.nr;
    if (bpack == BPack::Direct) {
      if (nr == k.nr) {
        b = o.B + pc * o.ldb + jc + jr;
        ldb = o.ldb;
      } else {
        k.pack_b(o, pc, kc, jc + jr, nr, bp, ss);
        b = bp;
      }
    } else {
      float* dst = bpack == BPack::Group ? bp + (s - s0) % kPackGroup * ss : bp + s * ss;
      if (bpack != BPack::Ready && (s - s0) % kPackGroup == 0)
        k.pack_b(o, pc, kc, jc + jr, std::min(nc, (s + kPackGroup) * k.nr) - jr, dst, ss);
      b = dst;
    }
    for (int64_t ir = 0; ir < mc; ir += k.mr) {
      const int64_t mr = std::min<int64_t>(k.mr, mc - ir);
      const float* a = ap + ir * kc;
      float* c = o.C + (ic + ir) * o.ldc + jc + jr;
      if (nr == k.nr) {
        (mr == k.mr ? k.uk : k.uk_rows[mr - 1])(kc, a, b, ldb, c, o.ldc, o.alpha, beta);
      } else {
        // Edge tile: the same kernel on a local full tile, then copy the valid part out.
        if (beta != 0.f)
          for (int64_t i = 0; i < mr; ++i) std::memcpy(tile + i * k.nr, c + i * o.ldc, nr * sizeof(float));
        k.uk(kc, a, b, ldb, tile, k.nr, o.alpha, beta);
        for (int64_t i = 0; i < mr; ++i) std::memcpy(c + i * o.ldc, tile + i * k.nr, nr * sizeof(float));
      }
    }
  }
}

// Rows [m0, m1) of C (m0 a multiple of MR) against B panel slivers [s0, s1): the ic loop.
// With bpack != Ready the first ic block packs the slivers as it goes (see macro_kernel).
void ic_loop(const Kernel& k, const Operands& o, int64_t m0, int64_t m1, int64_t pc, int64_t kc, float* bp,
             BPack bpack, int64_t jc, int64_t nc, int64_t s0, int64_t s1, float beta) {
  if (m0 >= m1 || s0 >= s1) return;
  const int64_t mstep = even_step(m1 - m0, k.mc, k.mr);
  float* ap = t_pack_a.get(static_cast<size_t>(round_up(mstep, k.mr) * kc + kPackSlack));
  for (int64_t ic = m0; ic < m1; ic += mstep) {
    const int64_t mc = std::min(mstep, m1 - ic);
    k.pack_a(o, ic, mc, pc, kc, ap);
    macro_kernel(k, o, ap, ic, mc, bp, bpack, pc, kc, jc, nc, s0, s1, beta);
    if (bpack != BPack::Direct) bpack = BPack::Ready;
  }
}

// The whole GEMM restricted to rows [m0, m1) x columns [n0, n1) of C, on the calling thread
// with its own buffers.
void gemm_block(const Kernel& k, const Operands& o, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  if (m0 >= m1 || n0 >= n1) return;
  const bool one_ic_block = m1 - m0 <= k.mc;
  const int64_t kstep = even_step(o.K, k.kc, 8);
  for (int64_t jc = n0; jc < n1; jc += k.nc) {
    const int64_t nc = std::min(k.nc, n1 - jc);
    const int64_t slivers = (nc + k.nr - 1) / k.nr;
    for (int64_t pc = 0; pc < o.K; pc += kstep) {
      const int64_t kc = std::min(kstep, o.K - pc);
      const BPack mode = !one_ic_block ? BPack::Panel : direct_b(k, o, kc) ? BPack::Direct : BPack::Group;
      const int64_t buffered =
          mode == BPack::Panel ? slivers : mode == BPack::Group ? std::min(kPackGroup, slivers) : 1;
      float* bp = t_pack_b.get(static_cast<size_t>(buffered * sliver_stride(k.nr, kc)));
      ic_loop(k, o, m0, m1, pc, kc, bp, mode, jc, nc, 0, slivers,
              pc == 0 ? o.beta : 1.f);
    }
  }
}

// C = beta * C, for alpha == 0 or K == 0.
void scale_c(const Operands& o) {
  for (int64_t i = 0; i < o.M; ++i) {
    float* c = o.C + i * o.ldc;
    if (o.beta == 0.f) {
      std::fill(c, c + o.N, 0.f);
    } else if (o.beta != 1.f) {
      for (int64_t j = 0; j < o.N; ++j) c[j] *= o.beta;
    }
  }
}

// Below this many multiply-adds (~100^3, e.g. the 16x784x25 convolution GEMM: ~15 us on one
// core) one thread is faster than handing half to the pool, whose wake-up and join cost
// tens of microseconds and far more when the host is loaded.
constexpr double kSerialMacs = 1 << 20;
// Up to this many rows the threads split the columns (each re-packs all of A); above it
// they share one packed B panel and split the rows.
constexpr int64_t kColumnSplitMaxM = 96;

// Floats of packed B the threads share in the row split: 16 MiB, half the L3, so the panel
// of one K block (1 MiB for K block 256 x 1024 columns) is still cached when each row unit
// reads it, next to A, C and other processes' data.
constexpr int64_t kSharedPanelFloats = int64_t{4} << 20;
// Pause iterations (~65-85 ns each on Zen 3) a thread spins for the shared B panel before
// yielding: a worker preempted in the middle of packing would otherwise be kept off the CPU.
constexpr int kPackWaitSpins = 2000;

inline void cpu_relax() {
#if NL_HAS_X86
  _mm_pause();
#endif
}

}  // namespace

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  const Operands o{transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  if (K <= 0 || alpha == 0.f) {
    scale_c(o);
    return;
  }
  const Kernel& k = kernel_for(active_isa());

  const double macs = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int nt = macs < kSerialMacs ? 1 : num_threads();
  if (nt <= 1) {
    gemm_block(k, o, 0, M, 0, N);
    return;
  }

  // Threads take work units from atomic counters rather than a fixed share: on a loaded
  // machine a thread that is scheduled late leaves its units to the others instead of
  // stalling the call. Which thread computes a tile does not change its value.
  if (M <= kColumnSplitMaxM) {
    // Column split: 2 units per thread, each an independent GEMM on a range of columns
    // (re-packing the small A per unit is cheap); one pool dispatch for the whole call.
    const int64_t units = 2 * static_cast<int64_t>(nt);
    const int64_t width = round_up((N + units - 1) / units, k.nr);
    std::atomic<int64_t> next{0};
    parallel_run(nt, [&](int, int) {
      for (int64_t u; (u = next.fetch_add(1)) * width < N;)
        gemm_block(k, o, 0, M, u * width, std::min(N, (u + 1) * width));
    });
    return;
  }

  // Row split: one dispatch per column chunk. The threads first pack the chunk's B for all
  // of K (work items of kPackGroup slivers of one K block), wait until it is complete,
  // then take units of rows and run every K block on each (packing their own A blocks). A
  // dispatch per K block would pay a join per block (18 for K = 4608); on a loaded
  // host each join can wait a whole scheduler slice for a preempted worker.
  // Row units: at least 4 per thread (late threads leave work to the others) and at most MC
  // rows each, cut on MR-row sliver boundaries into counts that differ by at most one sliver.
  // Blocks of MC rows with a short last one (1024 = 7 x 132 + 100) left the two threads 528
  // and 496 rows, 3% idle at each join.
  const int64_t m_slivers = (M + k.mr - 1) / k.mr;
  const int64_t row_units = std::max<int64_t>(4 * nt, (m_slivers + k.mc / k.mr - 1) / (k.mc / k.mr));
  const auto unit_row = [&](int64_t u) { return std::min(M, m_slivers * u / row_units * k.mr); };
  const int64_t kstep = even_step(K, k.kc, 8);
  const int64_t kblocks = (K + kstep - 1) / kstep;
  // Column chunks of at most NC, and narrow enough that the chunk's packed B (K x width)
  // stays within kSharedPanelFloats; equal widths, so no thin last chunk re-packs all of A.
  const int64_t max_width =
      std::max<int64_t>(k.nr, std::min(k.nc, kSharedPanelFloats / K / k.nr * k.nr));
  const int64_t chunks = (N + max_width - 1) / max_width;
  const int64_t width = round_up((N + chunks - 1) / chunks, k.nr);
  for (int64_t jc = 0; jc < N; jc += width) {
    const int64_t nc = std::min(width, N - jc);
    const int64_t slivers = (nc + k.nr - 1) / k.nr;
    const int64_t groups = (slivers + kPackGroup - 1) / kPackGroup;
    const int64_t items = kblocks * groups;
    // K block b (rows b * kstep ...) starts at bp + b * block_floats.
    const int64_t block_floats = slivers * sliver_stride(k.nr, kstep);
    float* bp = t_pack_b.get(static_cast<size_t>(kblocks * block_floats));
    std::atomic<int64_t> next_item{0}, packed{0}, next_rows{0};
    parallel_run(nt, [&](int, int) {
      for (int64_t i; (i = next_item.fetch_add(1)) < items;) {
        const int64_t pc = i / groups * kstep, kc = std::min(kstep, K - pc);
        const int64_t s0 = i % groups * kPackGroup, j0 = s0 * k.nr;
        k.pack_b(o, pc, kc, jc + j0, std::min(nc - j0, kPackGroup * k.nr),
                 bp + i / groups * block_floats + s0 * sliver_stride(k.nr, kc), sliver_stride(k.nr, kc));
        packed.fetch_add(1, std::memory_order_release);
      }
      for (int spins = 0; packed.load(std::memory_order_acquire) < items; ++spins) {
        if (spins < kPackWaitSpins) cpu_relax();
        else std::this_thread::yield();
      }
      for (int64_t u; (u = next_rows.fetch_add(1)) < row_units;) {
        for (int64_t pc = 0; pc < K; pc += kstep) {
          ic_loop(k, o, unit_row(u), unit_row(u + 1), pc, std::min(kstep, K - pc), bp + pc / kstep * block_floats,
                  BPack::Ready, jc, nc, 0, slivers, pc == 0 ? o.beta : 1.f);
        }
      }
    });
  }
}

}  // namespace nl

// Reductions over any set of dims of a contiguous float32 tensor (sum, mean, var, std, max and
// min with arg indices), and the permute copy kernel.
//
// Geometry: size-1 dims are dropped and neighbouring dims with the same kept/reduced status are
// merged. The output is the kept dims in row-major order; r, the row-major position inside the
// reduced dims, is what max/min report. Two layouts cover every dim set without a permute copy:
//   row    - the last dim is reduced: output o reads R / L contiguous runs of L floats.
//   column - the last dim (I floats) is kept: the I outputs of one outer index accumulate R rows
//            of I contiguous floats, vectorised along the row.
//
// Fixed blocking: the reduction of each output is cut into segments fixed by the shape alone
// (row: kSeg elements; column: at least kColRows rows). A segment is summed in float32 with
// several SIMD accumulators and leaves one double partial; an output adds its partials in
// segment order in double. Threads take whole segments, so every result is bitwise the same for
// any thread count, and large outputs and large reductions both spread over the threads.
//
// Variance: two passes, the mean first, then S2 = sum (x - c)^2 and S1 = sum (x - c) with
// c = float(mean); M2 = S2 - S1^2 / R holds for any shift c, the second term removes the
// rounding of c.
#include "reduce.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>
#include <limits>
#include <utility>
#include <vector>

#include "common.h"
#include "dispatch.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace nl {
namespace {

constexpr int64_t kSeg = 4096;            // elements per segment, row layout
constexpr int64_t kColTile = 1024;        // kept floats per tile, column layout (4 KiB rows)
constexpr int64_t kColRows = 64;          // minimum rows per segment, column layout
constexpr int64_t kTaskElems = 1 << 15;   // elements per parallel task

enum Mode { kModeSum = 0, kModeSq = 1, kModeMax = 2, kModeMin = 3 };

struct Geometry {
  bool row = false;
  int64_t O = 1, R = 1;
  int64_t L = 1;                   // row: run length (last reduced dim); column: I (last kept dim)
  int64_t runs = 1;                // row: runs per output, R / L
  std::vector<int64_t> out_off;    // row: offset of each output; column: of each outer index
  std::vector<int64_t> red_off;    // row: offset of each run; column: of each reduced row
  int64_t nseg = 1;                // segments per output
  int64_t pieces = 1, group = 1;   // row: pieces per run (L >= kSeg) or runs per segment
  int64_t tiles = 1, seg_rows = 1; // column
  int64_t items = 0;               // parallel work items (one segment of one output or tile)
  int64_t item_elems = 1;          // elements per item (at most)
};

// Offsets of every index of the dims (size, stride), row-major.
std::vector<int64_t> offsets(const std::vector<std::pair<int64_t, int64_t>>& dims) {
  std::vector<int64_t> off{0};
  for (const auto& d : dims) {
    std::vector<int64_t> next;
    next.reserve(off.size() * static_cast<size_t>(d.first));
    for (int64_t a : off)
      for (int64_t j = 0; j < d.first; ++j) next.push_back(a + j * d.second);
    off.swap(next);
  }
  return off;
}

// Shapes with no zero-size dim only.
Geometry make_geometry(const std::vector<int64_t>& shape, const std::vector<bool>& reduced) {
  std::vector<int64_t> sz;
  std::vector<bool> rd;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1) continue;
    if (!sz.empty() && rd.back() == reduced[k]) sz.back() *= shape[k];
    else {
      sz.push_back(shape[k]);
      rd.push_back(reduced[k]);
    }
  }
  Geometry g;
  const size_t m = sz.size();
  std::vector<int64_t> stride(m);
  int64_t acc = 1;
  for (size_t k = m; k-- > 0;) {
    stride[k] = acc;
    acc *= sz[k];
  }
  std::vector<std::pair<int64_t, int64_t>> kept, red;
  for (size_t k = 0; k < m; ++k) (rd[k] ? red : kept).push_back({sz[k], stride[k]});
  for (const auto& d : kept) g.O *= d.first;
  for (const auto& d : red) g.R *= d.first;
  g.row = m > 0 && rd[m - 1];
  if (g.row) {
    g.L = sz[m - 1];
    red.pop_back();
    g.runs = g.R / g.L;
    g.out_off = offsets(kept);
    g.red_off = offsets(red);
    if (g.L >= kSeg) {
      g.pieces = (g.L + kSeg - 1) / kSeg;
      g.nseg = g.runs * g.pieces;
      g.item_elems = kSeg;
    } else {
      g.group = std::max<int64_t>(1, kSeg / g.L);
      g.nseg = (g.runs + g.group - 1) / g.group;
      g.item_elems = std::min(g.group, g.runs) * g.L;
    }
    g.items = g.O * g.nseg;
  } else {
    g.L = m > 0 ? sz[m - 1] : 1;
    if (m > 0) kept.pop_back();
    g.out_off = offsets(kept);
    g.red_off = offsets(red);
    const int64_t w = std::min(g.L, kColTile);
    g.tiles = (g.L + kColTile - 1) / kColTile;
    g.seg_rows = std::max(kColRows, kSeg / w);
    g.nseg = (g.R + g.seg_rows - 1) / g.seg_rows;
    g.items = static_cast<int64_t>(g.out_off.size()) * g.tiles * g.nseg;
    g.item_elems = w * std::min(g.R, g.seg_rows);
  }
  return g;
}

// One pass over the data. With one segment per output (direct) results go straight to out;
// otherwise to partials at p = o * nseg + s (sq mode: two doubles per p).
struct Job {
  const Geometry* g;
  const float* x;
  int mode;
  const float* shift;   // sq mode: c per output
  bool direct;
  double scale;         // sum mode: out = sum * scale
  double inv_denom;     // sq mode: out = M2 * inv_denom (NaN when the divisor is <= 0)
  bool sqrt_out;        // sq mode: out = sqrt(...)
  float* out;
  int32_t* idx;
  double* pd;
  float* pf;
  int32_t* pi;
};

NL_INLINE float finish_sum(const Job& j, double s) { return static_cast<float>(s * j.scale); }
NL_INLINE float finish_sq(const Job& j, double q, double s) {
  double m2 = q - s * s / static_cast<double>(j.g->R);
  if (m2 < 0.0) m2 = 0.0;
  const double v = m2 * j.inv_denom;
  return static_cast<float>(j.sqrt_out ? std::sqrt(v) : v);
}

NL_INLINE void emit_sum(const Job& j, int64_t o, int64_t s, double v) {
  if (j.direct) j.out[o] = finish_sum(j, v);
  else j.pd[o * j.g->nseg + s] = v;
}
NL_INLINE void emit_sq(const Job& j, int64_t o, int64_t s, double q, double sv) {
  if (j.direct) {
    j.out[o] = finish_sq(j, q, sv);
  } else {
    const int64_t p = o * j.g->nseg + s;
    j.pd[2 * p] = q;
    j.pd[2 * p + 1] = sv;
  }
}
NL_INLINE void emit_arg(const Job& j, int64_t o, int64_t s, float v, int32_t r) {
  if (j.direct) {
    j.out[o] = v;
    if (j.idx != nullptr) j.idx[o] = r;
  } else {
    const int64_t p = o * j.g->nseg + s;
    j.pf[p] = v;
    j.pi[p] = r;
  }
}

// Whether candidate (v, r) replaces the current extreme (b, br): NaN wins (as in PyTorch), then
// the strictly better value, then on equal values the smaller position.
template <bool IsMax>
NL_INLINE bool takes(float v, int32_t r, float b, int32_t br) {
  const bool vn = std::isnan(v), bn = std::isnan(b);
  if (vn || bn) return vn && (!bn || r < br);
  if (v == b) return r < br;
  return IsMax ? v > b : v < b;
}

// The segment: runs [run0, run1) between positions [lo, hi) of each run.
struct Seg {
  int64_t run0, run1, lo, hi;
};
NL_INLINE Seg row_segment(const Geometry& g, int64_t s) {
  if (g.L >= kSeg) {
    const int64_t run = s / g.pieces, lo = (s % g.pieces) * kSeg;
    return {run, run + 1, lo, std::min(g.L, lo + kSeg)};
  }
  const int64_t run0 = s * g.group;
  return {run0, std::min(g.runs, run0 + g.group), 0, g.L};
}

// ---- per-ISA kernels -------------------------------------------------------------------------

#define NL_ISA_KERNELS "reduce_kernels.inc"
#include "isa_kernels.inc"

// Adds each output's partials in segment order (nseg > 1).
void combine(const Job& j) {
  const Geometry& g = *j.g;
  const int64_t ns = g.nseg;
  parallel_for(g.O, std::max<int64_t>(1, kTaskElems / ns), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const int64_t p0 = o * ns;
      if (j.mode == kModeSum) {
        double s = 0.0;
        for (int64_t k = 0; k < ns; ++k) s += j.pd[p0 + k];
        j.out[o] = finish_sum(j, s);
      } else if (j.mode == kModeSq) {
        double q = 0.0, sv = 0.0;
        for (int64_t k = 0; k < ns; ++k) {
          q += j.pd[2 * (p0 + k)];
          sv += j.pd[2 * (p0 + k) + 1];
        }
        j.out[o] = finish_sq(j, q, sv);
      } else {
        float v = j.pf[p0];
        int32_t r = j.pi[p0];
        for (int64_t k = 1; k < ns; ++k) {
          const bool take = j.mode == kModeMax ? takes<true>(j.pf[p0 + k], j.pi[p0 + k], v, r)
                                               : takes<false>(j.pf[p0 + k], j.pi[p0 + k], v, r);
          if (take) {
            v = j.pf[p0 + k];
            r = j.pi[p0 + k];
          }
        }
        j.out[o] = v;
        if (j.idx != nullptr) j.idx[o] = r;
      }
    }
  });
}

void run_job(Job& j) {
  const Geometry& g = *j.g;
  j.direct = g.nseg == 1;
  std::vector<double> pd;
  std::vector<float> pf;
  std::vector<int32_t> pi;
  if (!j.direct) {
    const size_t np = static_cast<size_t>(g.O * g.nseg);
    if (j.mode == kModeSum) pd.resize(np);
    else if (j.mode == kModeSq) pd.resize(2 * np);
    else {
      pf.resize(np);
      pi.resize(np);
    }
    j.pd = pd.data();
    j.pf = pf.data();
    j.pi = pi.data();
  }
  const int64_t grain = std::max<int64_t>(1, kTaskElems / std::max<int64_t>(g.item_elems, 1));
  parallel_for(g.items, grain, [&](int64_t b, int64_t e) {
    if (g.row) NL_ISA_CALL_STREAMING(row_items, (j, b, e));
    else NL_ISA_CALL(col_items, (j, b, e));
  });
  if (!j.direct) combine(j);
}

}  // namespace

void reduce_dims(int op, const float* x, const std::vector<int64_t>& shape, const std::vector<bool>& reduced,
                 float* out, int32_t* idx, bool unbiased) {
  int64_t O = 1, R = 1;
  for (size_t k = 0; k < shape.size(); ++k) (reduced[k] ? R : O) *= shape[k];
  if (O == 0) return;
  if (R == 0) {
    // Sum over nothing is 0; mean, var and std over nothing are NaN, as in PyTorch.
    std::fill(out, out + O, op == kReduceSum ? 0.f : std::numeric_limits<float>::quiet_NaN());
    return;
  }
  const Geometry g = make_geometry(shape, reduced);
  Job j{};
  j.g = &g;
  j.x = x;
  j.out = out;
  j.idx = idx;
  switch (op) {
    case kReduceSum:
    case kReduceMean:
      j.mode = kModeSum;
      j.scale = op == kReduceMean ? 1.0 / static_cast<double>(R) : 1.0;
      run_job(j);
      break;
    case kReduceVar:
    case kReduceStd: {
      std::vector<float> mean(static_cast<size_t>(O));
      j.mode = kModeSum;
      j.scale = 1.0 / static_cast<double>(R);
      j.out = mean.data();
      run_job(j);
      const double denom = static_cast<double>(unbiased ? R - 1 : R);
      j.mode = kModeSq;
      j.shift = mean.data();
      j.out = out;
      j.inv_denom = denom > 0 ? 1.0 / denom : std::numeric_limits<double>::quiet_NaN();
      j.sqrt_out = op == kReduceStd;
      run_job(j);
      break;
    }
    default:
      j.mode = op == kReduceMax ? kModeMax : kModeMin;
      run_job(j);
      break;
  }
}

void permute(const float* x, const std::vector<int64_t>& shape, const std::vector<int64_t>& perm, float* out) {
  const int64_t n = numel(shape);
  const size_t nd = shape.size();
  std::vector<int64_t> xs(nd), os(nd), src_stride(nd);
  int64_t acc = 1;
  for (size_t k = nd; k-- > 0;) { xs[k] = acc; acc *= shape[k]; }
  for (size_t k = 0; k < nd; ++k) { os[k] = shape[perm[k]]; src_stride[k] = xs[perm[k]]; }
  if (n == 0) return;
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
}

}  // namespace nl

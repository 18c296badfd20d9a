// 2-D convolution (cross-correlation, as PyTorch) over NCHW float32: forward, input gradient,
// weight and bias gradients, with stride, zero padding, dilation and groups.
//
// Shapes: x [N, C, H, W], w [O, C/groups, KH, KW], bias [O], y [N, O, OH, OW] with
//   OH = (H + 2*PH - DH*(KH - 1) - 1) / SH + 1   (floor), likewise OW.
// Per image n and group g (Cg = C/groups input channels, Og = O/groups output channels,
// K = Cg*KH*KW patch length, P = OH*OW output positions):
//   col[K, P]   = im2col(x[n, g])            col[(c*KH + i)*KW + j, oh*OW + ow] =
//                                            x[n, g*Cg + c, oh*SH - PH + i*DH, ow*SW - PW + j*DW] (0 outside)
//   y[n, g]     = w_g[Og, K] * col[K, P] + bias
//   dcol[K, P]  = w_g^T[K, Og] * dy[n, g][Og, P];  dx[n, g] = col2im(dcol)
//   dw_g[Og, K] = sum_n dy[n, g][Og, P] * col[K, P]^T;  dbias[o] = sum_{n, p} dy[n, o, p]
// A 1x1 convolution with stride 1 and no padding has col == x, so it is a plain GEMM.
//
// Threads: with at least as many images as threads, images run in parallel and each calls
// sgemm serially; otherwise images run one after another and sgemm threads itself.
// Determinism: every output element of y and dx is computed by one GEMM dot product, and the
// weight gradient sums a fixed partition of the batch into chunks (chosen from the shapes, never
// from the thread count) in chunk order, so results are bitwise equal for any thread count as
// long as sgemm does not split its K dimension across threads (the Goto/BLIS scheme threads the
// M and N loops only).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "dispatch.h"
#include "gemm.h"
#include "napi_args.h"

namespace nl {
namespace {

struct ConvGeom {
  int64_t N, C, H, W;      // input
  int64_t O, KH, KW;       // weight [O, C/groups, KH, KW]
  int64_t SH, SW, PH, PW, DH, DW, G;
  int64_t OH, OW;          // output spatial size
  int64_t Cg, Og, K, P;    // per-group channels, patch length, output positions

  bool pointwise() const { return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0; }
  int64_t x_size() const { return N * C * H * W; }
  int64_t w_size() const { return O * Cg * KH * KW; }
  int64_t y_size() const { return N * O * OH * OW; }
};

// Reads and validates the geometry from the kernel arguments. Every check that keeps memory
// accesses in bounds happens here; the TS op gives the friendlier messages first.
ConvGeom parse_geom(const Args& a, size_t ix, size_t iw, size_t istride) {
  auto xs = a.ints(ix), ws = a.ints(iw), st = a.ints(istride), pd = a.ints(istride + 1),
       dl = a.ints(istride + 2);
  int64_t groups = a.int64(istride + 3);
  if (xs.size() != 4) a.fail(ix, "must be an input shape [N, C, H, W]");
  if (ws.size() != 4) a.fail(iw, "must be a weight shape [O, C/groups, KH, KW]");
  if (st.size() != 2 || st[0] < 1 || st[1] < 1) a.fail(istride, "must be a stride [sh, sw] >= 1");
  if (pd.size() != 2 || pd[0] < 0 || pd[1] < 0) a.fail(istride + 1, "must be a padding [ph, pw] >= 0");
  if (dl.size() != 2 || dl[0] < 1 || dl[1] < 1) a.fail(istride + 2, "must be a dilation [dh, dw] >= 1");
  for (int64_t d : xs) if (d < 0) a.fail(ix, "must hold sizes >= 0");
  for (int64_t d : ws) if (d < 1) a.fail(iw, "must hold sizes >= 1");
  ConvGeom g{};
  g.N = xs[0]; g.C = xs[1]; g.H = xs[2]; g.W = xs[3];
  g.O = ws[0]; g.KH = ws[2]; g.KW = ws[3];
  g.SH = st[0]; g.SW = st[1]; g.PH = pd[0]; g.PW = pd[1]; g.DH = dl[0]; g.DW = dl[1]; g.G = groups;
  if (groups < 1 || g.C % groups != 0 || g.O % groups != 0)
    a.fail(istride + 3, "must be >= 1 and divide the input and output channels");
  g.Cg = g.C / groups;
  g.Og = g.O / groups;
  if (ws[1] != g.Cg) a.fail(iw, "must have C/groups = " + std::to_string(g.Cg) + " input channels");
  const int64_t eh = g.DH * (g.KH - 1) + 1, ew = g.DW * (g.KW - 1) + 1;
  if (g.H + 2 * g.PH < eh || g.W + 2 * g.PW < ew) a.fail(iw, "has a kernel larger than the padded input");
  g.OH = (g.H + 2 * g.PH - eh) / g.SH + 1;
  g.OW = (g.W + 2 * g.PW - ew) / g.SW + 1;
  g.K = g.Cg * g.KH * g.KW;
  g.P = g.OH * g.OW;
  return g;
}

// Valid output range [lo, hi) along one axis for kernel tap offset `off` (= tap*D - pad):
// the positions o with 0 <= o*S + off < L.
NL_INLINE void valid_range(int64_t off, int64_t S, int64_t L, int64_t OL, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + S - 1) / S;
  hi = L - off <= 0 ? 0 : (L - off + S - 1) / S;
  lo = std::min(lo, OL);
  hi = std::max(lo, std::min(hi, OL));
}

// im2col of channels [c0, c1) of one image-group block x (Cg planes of H*W) into col rows.
NL_INLINE void im2col_body(const ConvGeom* gp, const float* x, float* col, int64_t c0, int64_t c1) {
  const ConvGeom& g = *gp;
  for (int64_t c = c0; c < c1; ++c) {
    const float* plane = x + c * g.H * g.W;
    for (int64_t i = 0; i < g.KH; ++i) {
      for (int64_t j = 0; j < g.KW; ++j) {
        float* row = col + ((c * g.KH + i) * g.KW + j) * g.P;
        const int64_t offh = i * g.DH - g.PH, offw = j * g.DW - g.PW;
        int64_t oh0, oh1, ow0, ow1;
        valid_range(offh, g.SH, g.H, g.OH, oh0, oh1);
        valid_range(offw, g.SW, g.W, g.OW, ow0, ow1);
        std::fill(row, row + oh0 * g.OW, 0.f);
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          float* r = row + oh * g.OW;
          const float* src = plane + (oh * g.SH + offh) * g.W + offw;
          for (int64_t ow = 0; ow < ow0; ++ow) r[ow] = 0.f;
          if (g.SW == 1) {
            std::memcpy(r + ow0, src + ow0, static_cast<size_t>(ow1 - ow0) * sizeof(float));
          } else {
            for (int64_t ow = ow0; ow < ow1; ++ow) r[ow] = src[ow * g.SW];
          }
          for (int64_t ow = ow1; ow < g.OW; ++ow) r[ow] = 0.f;
        }
        std::fill(row + oh1 * g.OW, row + g.P, 0.f);
      }
    }
  }
}
NL_ISA_VARIANTS(im2col_run, (const ConvGeom* g, const float* x, float* col, int64_t c0, int64_t c1),
                (g, x, col, c0, c1), im2col_body)

// col2im of channels [c0, c1): dx (Cg planes of H*W, zeroed here) = sum of dcol rows at their
// input positions. Each channel's planes are written by its own rows only.
NL_INLINE void col2im_body(const ConvGeom* gp, const float* col, float* dx, int64_t c0, int64_t c1) {
  const ConvGeom& g = *gp;
  for (int64_t c = c0; c < c1; ++c) {
    float* plane = dx + c * g.H * g.W;
    std::fill(plane, plane + g.H * g.W, 0.f);
    for (int64_t i = 0; i < g.KH; ++i) {
      for (int64_t j = 0; j < g.KW; ++j) {
        const float* row = col + ((c * g.KH + i) * g.KW + j) * g.P;
        const int64_t offh = i * g.DH - g.PH, offw = j * g.DW - g.PW;
        int64_t oh0, oh1, ow0, ow1;
        valid_range(offh, g.SH, g.H, g.OH, oh0, oh1);
        valid_range(offw, g.SW, g.W, g.OW, ow0, ow1);
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          const float* r = row + oh * g.OW;
          float* dst = plane + (oh * g.SH + offh) * g.W + offw;
          if (g.SW == 1) {
            for (int64_t ow = ow0; ow < ow1; ++ow) dst[ow] += r[ow];
          } else {
            for (int64_t ow = ow0; ow < ow1; ++ow) dst[ow * g.SW] += r[ow];
          }
        }
      }
    }
  }
}
NL_ISA_VARIANTS(col2im_run, (const ConvGeom* g, const float* col, float* dx, int64_t c0, int64_t c1),
                (g, col, dx, c0, c1), col2im_body)

// y[o, p] += bias[o] over an [rows, P] block.
NL_INLINE void add_bias_body(float* y, const float* bias, int64_t rows, int64_t P) {
  for (int64_t o = 0; o < rows; ++o) {
    const float b = bias[o];
    float* r = y + o * P;
    for (int64_t p = 0; p < P; ++p) r[p] += b;
  }
}
NL_ISA_VARIANTS(add_bias, (float* y, const float* bias, int64_t rows, int64_t P), (y, bias, rows, P), add_bias_body)

// dst[i] += src[i].
NL_INLINE void accumulate_body(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}
NL_ISA_VARIANTS(accumulate, (float* dst, const float* src, int64_t n), (dst, src, n), accumulate_body)

// Per-thread scratch for im2col / col2im columns, grown on demand and kept across calls.
float* scratch_col(int64_t n) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

// im2col of a whole image-group block, split over channels when not already inside a parallel
// region (parallel_for runs serially there).
void im2col(const ConvGeom& g, const float* x, float* col) {
  parallel_for(g.Cg, 1, [&](int64_t c0, int64_t c1) { im2col_run(&g, x, col, c0, c1); });
}
void col2im(const ConvGeom& g, const float* col, float* dx) {
  parallel_for(g.Cg, 1, [&](int64_t c0, int64_t c1) { col2im_run(&g, col, dx, c0, c1); });
}

// Runs fn(begin, end) over [0, n) work items (images or chunks): in parallel with serial GEMMs
// inside when there are at least as many items as threads, else serially with threaded GEMMs.
void over_items(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n >= num_threads() && num_threads() > 1) {
    parallel_for(n, 1, fn);
  } else {
    fn(0, n);
  }
}

void conv_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
  over_items(g.N, [&](int64_t n0, int64_t n1) {
    float* col = g.pointwise() ? nullptr : scratch_col(g.K * g.P);
    for (int64_t n = n0; n < n1; ++n) {
      for (int64_t gr = 0; gr < g.G; ++gr) {
        const float* xg = x + (n * g.C + gr * g.Cg) * g.H * g.W;
        float* yg = y + (n * g.O + gr * g.Og) * g.P;
        const float* B = xg;
        if (!g.pointwise()) {
          im2col(g, xg, col);
          B = col;
        }
        sgemm(false, false, g.Og, g.P, g.K, 1.f, w + gr * g.Og * g.K, g.K, B, g.P, 0.f, yg, g.P);
        if (bias != nullptr) add_bias(yg, bias + gr * g.Og, g.Og, g.P);
      }
    }
  });
}

void conv_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  over_items(g.N, [&](int64_t n0, int64_t n1) {
    float* dcol = g.pointwise() ? nullptr : scratch_col(g.K * g.P);
    for (int64_t n = n0; n < n1; ++n) {
      for (int64_t gr = 0; gr < g.G; ++gr) {
        const float* dyg = dy + (n * g.O + gr * g.Og) * g.P;
        float* dxg = dx + (n * g.C + gr * g.Cg) * g.H * g.W;
        float* C = g.pointwise() ? dxg : dcol;
        sgemm(true, false, g.K, g.P, g.Og, 1.f, w + gr * g.Og * g.K, g.K, dyg, g.P, 0.f, C, g.P);
        if (!g.pointwise()) col2im(g, dcol, dxg);
      }
    }
  });
}

// Number of batch chunks for the weight gradient: a function of the shapes only. At most 8
// (enough to balance 2-8 threads) and at most 8M floats of per-chunk partial gradients.
int64_t wgrad_chunks(const ConvGeom& g) {
  const int64_t by_memory = std::max<int64_t>(1, (int64_t{8} << 20) / std::max<int64_t>(g.w_size(), 1));
  return std::max<int64_t>(1, std::min({g.N, int64_t{8}, by_memory}));
}

// dw = sum over chunks (in chunk order) of the chunk's sum over its images (in image order).
void conv_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t wsize = g.w_size();
  if (g.N == 0) {
    std::fill(dw, dw + wsize, 0.f);
    return;
  }
  const int64_t chunks = wgrad_chunks(g);
  // Chunk 0 accumulates straight into dw, chunk c > 0 into partial[(c - 1) * wsize].
  thread_local std::vector<float> partial;
  if (static_cast<int64_t>(partial.size()) < (chunks - 1) * wsize) partial.resize(static_cast<size_t>((chunks - 1) * wsize));
  float* partials = partial.data();
  over_items(chunks, [&](int64_t c0, int64_t c1) {
    float* col = g.pointwise() ? nullptr : scratch_col(g.K * g.P);
    for (int64_t c = c0; c < c1; ++c) {
      float* acc = c == 0 ? dw : partials + (c - 1) * wsize;
      const int64_t n0 = g.N * c / chunks, n1 = g.N * (c + 1) / chunks;
      for (int64_t n = n0; n < n1; ++n) {
        for (int64_t gr = 0; gr < g.G; ++gr) {
          const float* xg = x + (n * g.C + gr * g.Cg) * g.H * g.W;
          const float* dyg = dy + (n * g.O + gr * g.Og) * g.P;
          const float* B = xg;
          if (!g.pointwise()) {
            im2col(g, xg, col);
            B = col;
          }
          sgemm(false, true, g.Og, g.K, g.P, 1.f, dyg, g.P, B, g.P, n == n0 ? 0.f : 1.f, acc + gr * g.Og * g.K, g.K);
        }
      }
    }
  });
  if (chunks > 1) {
    parallel_for(wsize, 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t c = 1; c < chunks; ++c) accumulate(dw + b, partials + (c - 1) * wsize + b, e - b);
    });
  }
}

// dbias[o] = sum over n, p of dy[n, o, p], accumulated in double in (n, p) order per channel.
void conv_backward_bias(const ConvGeom& g, const float* dy, float* db) {
  parallel_for(g.O, 1, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      double s = 0.0;
      for (int64_t n = 0; n < g.N; ++n) {
        const float* r = dy + (n * g.O + o) * g.P;
        for (int64_t p = 0; p < g.P; ++p) s += r[p];
      }
      db[o] = static_cast<float>(s);
    }
  });
}

// An optional Float32Array argument: null, undefined or an empty array mean "absent".
float* optional_f32(const Args& a, const Napi::CallbackInfo& info, size_t i, size_t need) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  Span<float> s = a.f32(i);
  if (s.size == 0) return nullptr;
  return a.f32(i, need);
}

// conv2dForward(x, xShape, w, wShape, bias | null, y, stride, padding, dilation, groups)
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dForward");
  ConvGeom g = parse_geom(a, 1, 3, 6);
  const float* x = a.f32(0, g.x_size());
  const float* w = a.f32(2, g.w_size());
  const float* bias = optional_f32(a, info, 4, g.O);
  float* y = a.f32(5, g.y_size());
  conv_forward(g, x, w, bias, y);
  return info.Env().Undefined();
}

// conv2dBackwardInput(dy, w, wShape, dx, xShape, stride, padding, dilation, groups)
Napi::Value Conv2dBackwardInput(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dBackwardInput");
  ConvGeom g = parse_geom(a, 4, 2, 5);
  const float* dy = a.f32(0, g.y_size());
  const float* w = a.f32(1, g.w_size());
  float* dx = a.f32(3, g.x_size());
  conv_backward_input(g, dy, w, dx);
  return info.Env().Undefined();
}

// conv2dBackwardWeight(x, xShape, dy, dw | null, wShape, dbias | null, stride, padding, dilation, groups)
Napi::Value Conv2dBackwardWeight(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dBackwardWeight");
  ConvGeom g = parse_geom(a, 1, 4, 6);
  const float* x = a.f32(0, g.x_size());
  const float* dy = a.f32(2, g.y_size());
  float* dw = optional_f32(a, info, 3, g.w_size());
  float* db = optional_f32(a, info, 5, g.O);
  if (dw != nullptr) conv_backward_weight(g, x, dy, dw);
  if (db != nullptr) conv_backward_bias(g, dy, db);
  return info.Env().Undefined();
}

}  // namespace

void register_conv(Napi::Env env, Napi::Object exports) {
  def(env, exports, "conv2dForward", Conv2dForward);
  def(env, exports, "conv2dBackwardInput", Conv2dBackwardInput);
  def(env, exports, "conv2dBackwardWeight", Conv2dBackwardWeight);
}

}  // namespace nl

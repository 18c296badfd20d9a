// N-API bindings of the pooling kernels (native/kernels/pool.h): geometry parsing and checks.
#include <limits>

#include "../kernels/pool.h"
#include "args.h"

namespace nl {
namespace {

// Parses (xShape, kernel, stride, padding) starting at argument index i, then the optional tail
// at `itail`: max pool (dilation [dh, dw], ceilMode), avg pool (ceilMode, countIncludePad).
enum class PoolKind { Max, Avg };
PoolGeom parse_pool(const Args& a, size_t ishape, size_t ikernel, size_t itail, PoolKind kind) {
  auto xs = a.ints(ishape), k = a.ints(ikernel), s = a.ints(ikernel + 1), p = a.ints(ikernel + 2);
  if (xs.size() != 4) a.fail(ishape, "must be an input shape [N, C, H, W]");
  for (int64_t d : xs) if (d < 0) a.fail(ishape, "must hold sizes >= 0");
  if (k.size() != 2 || k[0] < 1 || k[1] < 1) a.fail(ikernel, "must be a kernel size [kh, kw] >= 1");
  if (s.size() != 2 || s[0] < 1 || s[1] < 1) a.fail(ikernel + 1, "must be a stride [sh, sw] >= 1");
  if (p.size() != 2 || p[0] < 0 || p[1] < 0 || 2 * p[0] > k[0] || 2 * p[1] > k[1])
    a.fail(ikernel + 2, "must be a padding [ph, pw] >= 0 and at most half the kernel size");
  PoolGeom g{xs[0] * xs[1], xs[2], xs[3], k[0], k[1], s[0], s[1], p[0], p[1], 0, 0};
  bool ceil_mode = false;
  if (kind == PoolKind::Max) {
    if (a.present(itail)) {
      auto d = a.ints(itail);
      if (d.size() != 2 || d[0] < 1 || d[1] < 1) a.fail(itail, "must be a dilation [dh, dw] >= 1");
      g.DH = d[0];
      g.DW = d[1];
    }
    if (a.present(itail + 1)) ceil_mode = a.flag(itail + 1);
  } else {
    if (a.present(itail)) ceil_mode = a.flag(itail);
    if (a.present(itail + 1)) g.include_pad = a.flag(itail + 1);
  }
  if (g.H + 2 * g.PH < g.DH * (g.KH - 1) + 1 || g.W + 2 * g.PW < g.DW * (g.KW - 1) + 1)
    a.fail(ikernel, "is larger than the padded input");
  g.OH = pool_out_len(g.H, g.KH, g.SH, g.PH, g.DH, ceil_mode);
  g.OW = pool_out_len(g.W, g.KW, g.SW, g.PW, g.DW, ceil_mode);
  return g;
}

// maxPool2dForward(x, xShape, y, indices: Int32Array, kernel, stride, padding, dilation?, ceilMode?)
void MaxPool2dForward(const Args& a) {
  PoolGeom g = parse_pool(a, 1, 4, 7, PoolKind::Max);
  if (g.H * g.W > std::numeric_limits<int32_t>::max()) a.fail(1, "has planes too large for int32 indices");
  const float* x = a.f32(0, g.planes * g.H * g.W);
  float* y = a.f32(2, g.planes * g.OH * g.OW);
  Span<int32_t> idx = a.i32(3);
  if (static_cast<int64_t>(idx.size) < g.planes * g.OH * g.OW) a.fail(3, "is shorter than the output");
  max_pool2d_forward(g, x, y, idx.data);
}

// maxPool2dBackward(dy, indices, outShape, dx, xShape)
void MaxPool2dBackward(const Args& a) {
  auto os = a.ints(2), xs = a.ints(4);
  if (os.size() != 4 || xs.size() != 4 || os[0] != xs[0] || os[1] != xs[1])
    a.fail(2, "must be an output shape [N, C, OH, OW] matching the input's N and C");
  const int64_t planes = xs[0] * xs[1], plane_in = xs[2] * xs[3], plane_out = os[2] * os[3];
  const float* dy = a.f32(0, planes * plane_out);
  Span<int32_t> idx = a.i32(1);
  if (static_cast<int64_t>(idx.size) < planes * plane_out) a.fail(1, "is shorter than the output");
  float* dx = a.f32(3, planes * plane_in);
  if (!max_pool2d_backward(dy, idx.data, planes, plane_in, plane_out, dx))
    a.fail(1, "holds an index outside the input plane");
}

// avgPool2dForward(x, xShape, y, kernel, stride, padding, ceilMode?, countIncludePad?)
void AvgPool2dForward(const Args& a) {
  PoolGeom g = parse_pool(a, 1, 3, 6, PoolKind::Avg);
  const float* x = a.f32(0, g.planes * g.H * g.W);
  float* y = a.f32(2, g.planes * g.OH * g.OW);
  avg_pool2d_forward(g, x, y);
}

// avgPool2dBackward(dy, dx, xShape, kernel, stride, padding, ceilMode?, countIncludePad?)
void AvgPool2dBackward(const Args& a) {
  PoolGeom g = parse_pool(a, 2, 3, 6, PoolKind::Avg);
  const float* dy = a.f32(0, g.planes * g.OH * g.OW);
  float* dx = a.f32(1, g.planes * g.H * g.W);
  avg_pool2d_backward(g, dy, dx);
}

// Geometry of an adaptive pool: xShape at argument ishape, [OH, OW] at isize.
PoolGeom parse_adaptive(const Args& a, size_t ishape, size_t isize) {
  auto xs = a.ints(ishape), os = a.ints(isize);
  if (xs.size() != 4) a.fail(ishape, "must be an input shape [N, C, H, W]");
  for (int64_t d : xs) if (d < 0) a.fail(ishape, "must hold sizes >= 0");
  if (os.size() != 2 || os[0] < 1 || os[1] < 1) a.fail(isize, "must be an output size [oh, ow] >= 1");
  if (xs[2] < 1 || xs[3] < 1) a.fail(ishape, "must have H, W >= 1");
  return PoolGeom{xs[0] * xs[1], xs[2], xs[3], 0, 0, 0, 0, 0, 0, os[0], os[1]};
}

// adaptiveAvgPool2dForward(x, xShape, y, outSize)
void AdaptiveAvgPool2dForward(const Args& a) {
  PoolGeom g = parse_adaptive(a, 1, 3);
  const float* x = a.f32(0, g.planes * g.H * g.W);
  float* y = a.f32(2, g.planes * g.OH * g.OW);
  adaptive_avg_pool2d_forward(g, x, y);
}

// adaptiveAvgPool2dBackward(dy, dx, xShape, outSize)
void AdaptiveAvgPool2dBackward(const Args& a) {
  PoolGeom g = parse_adaptive(a, 2, 3);
  const float* dy = a.f32(0, g.planes * g.OH * g.OW);
  float* dx = a.f32(1, g.planes * g.H * g.W);
  adaptive_avg_pool2d_backward(g, dy, dx);
}

}  // namespace

void register_pool(Napi::Env env, Napi::Object exports) {
  def<MaxPool2dForward>(env, exports, "maxPool2dForward");
  def<MaxPool2dBackward>(env, exports, "maxPool2dBackward");
  def<AvgPool2dForward>(env, exports, "avgPool2dForward");
  def<AvgPool2dBackward>(env, exports, "avgPool2dBackward");
  def<AdaptiveAvgPool2dForward>(env, exports, "adaptiveAvgPool2dForward");
  def<AdaptiveAvgPool2dBackward>(env, exports, "adaptiveAvgPool2dBackward");
}

}  // namespace nl

// N-API bindings of the convolution kernels (native/kernels/conv.h): the geometry is read and
// validated here; optional arrays (bias, dw, dbias) are null, undefined or empty.
#include <string>

#include "../kernels/conv.h"
#include "args.h"

namespace nl {
namespace {

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

// conv2dForward(x, xShape, w, wShape, bias | null, y, stride, padding, dilation, groups)
void Conv2dForward(const Args& a) {
  ConvGeom g = parse_geom(a, 1, 3, 6);
  const float* x = a.f32(0, g.x_size());
  const float* w = a.f32(2, g.w_size());
  const float* bias = a.opt_f32(4, g.O, true);
  float* y = a.f32(5, g.y_size());
  conv2d_forward(g, x, w, bias, y);
}

// conv2dBackwardInput(dy, w, wShape, dx, xShape, stride, padding, dilation, groups)
void Conv2dBackwardInput(const Args& a) {
  ConvGeom g = parse_geom(a, 4, 2, 5);
  const float* dy = a.f32(0, g.y_size());
  const float* w = a.f32(1, g.w_size());
  float* dx = a.f32(3, g.x_size());
  conv2d_backward_input(g, dy, w, dx);
}

// conv2dBackwardWeight(x, xShape, dy, dw | null, wShape, dbias | null, stride, padding, dilation, groups)
void Conv2dBackwardWeight(const Args& a) {
  ConvGeom g = parse_geom(a, 1, 4, 6);
  const float* x = a.f32(0, g.x_size());
  const float* dy = a.f32(2, g.y_size());
  float* dw = a.opt_f32(3, g.w_size(), true);
  float* db = a.opt_f32(5, g.O, true);
  conv2d_backward_weight(g, x, dy, dw, db);
}

}  // namespace

void register_conv(Napi::Env env, Napi::Object exports) {
  def<Conv2dForward>(env, exports, "conv2dForward");
  def<Conv2dBackwardInput>(env, exports, "conv2dBackwardInput");
  def<Conv2dBackwardWeight>(env, exports, "conv2dBackwardWeight");
}

}  // namespace nl

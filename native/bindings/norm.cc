// N-API bindings of the normalization kernels (native/kernels/norm.h): argument unpacking and
// length checks, in the JS argument order. Optional arrays are null or undefined.
#include "../kernels/norm.h"
#include "args.h"
#include "norm_args.h"

namespace nl {
namespace {

// The fused activation code at argument i (kernels/norm.h: 0 none .. 4 tanh).
int act_code(const Args& a, size_t i) {
  const int64_t act = a.int64(i);
  if (act < 0 || act > 4) a.fail(i, "must be an activation code in 0..4 (none, relu, leaky relu, sigmoid, tanh)");
  return static_cast<int>(act);
}

// batchNormForward(x, N, C, S, gamma|null, beta|null, eps, y|null, mean, invstd, var,
//                  threshold, mu0|null, rstd0|null, kept|null, act, actParam)
void BatchNormForward(const Args& a) {
  const NormHead h(a, false, false);
  const float* gamma = a.opt_f32(4, h.nc);
  const float* beta = a.opt_f32(5, h.nc);
  const double eps = a.num(6);
  float* y = a.opt_f32(7, h.total);
  float* mean = a.f32(8, h.nc);
  float* invstd = a.f32(9, h.nc);
  float* var = a.f32(10, h.nc);
  const float T = static_cast<float>(a.num(11));
  const bool filtered = T > 0.f;
  float* mu0 = filtered ? a.f32(12, h.nc) : nullptr;
  float* rstd0 = filtered ? a.f32(13, h.nc) : nullptr;
  float* kept = filtered ? a.f32(14, h.nc) : nullptr;
  const int act = act_code(a, 15);
  const float act_param = static_cast<float>(a.num(16));
  if (h.N * h.S < 2) a.fail(1, "(N * S) must be >= 2: batch statistics need more than 1 value per channel");
  if (filtered && act != 0) a.fail(15, "must be 0 (no activation) for Filtered BN (threshold > 0)");
  batch_norm_forward(h.x, h.N, h.C, h.S, gamma, beta, eps, y, mean, invstd, var, T, mu0, rstd0, kept, act, act_param);
}

// batchNormBackward(x, dy, N, C, S, mean, invstd, gamma|null, batchStats, dx|null, dgamma|null,
//                   dbeta|null, count|null, threshold, mu0|null, rstd0|null, beta|null, act, actParam)
void BatchNormBackward(const Args& a) {
  const NormHead h(a, true, false);
  const float* mean = a.f32(5, h.nc);
  const float* invstd = a.f32(6, h.nc);
  const float* gamma = a.opt_f32(7, h.nc);
  const bool batch_stats = a.flag(8);
  float* dx = a.opt_f32(9, h.total);
  float* dgamma = a.opt_f32(10, h.nc);
  float* dbeta = a.opt_f32(11, h.nc);
  const float* count = a.opt_f32(12, h.nc);
  const float T = static_cast<float>(a.num(13));
  const bool filtered = T > 0.f;
  const float* mu0 = filtered ? a.f32(14, h.nc) : nullptr;
  const float* rstd0 = filtered ? a.f32(15, h.nc) : nullptr;
  const float* beta = a.opt_f32(16, h.nc);
  const int act = act_code(a, 17);
  const float act_param = static_cast<float>(a.num(18));
  if (filtered && act != 0) a.fail(17, "must be 0 (no activation) for Filtered BN (threshold > 0)");
  batch_norm_backward(h.x, h.dy, h.N, h.C, h.S, mean, invstd, gamma, batch_stats, dx, dgamma, dbeta, count, T, mu0,
                      rstd0, beta, act, act_param);
}

// normChannelAffine(x, N, C, S, scale, shift, y)
void NormChannelAffine(const Args& a) {
  const NormHead h(a, false, false);
  const float* scale = a.f32(4, h.nc);
  const float* shift = a.f32(5, h.nc);
  float* y = a.f32(6, h.total);
  norm_channel_affine(h.x, h.N, h.C, h.S, scale, shift, y);
}

// groupNormForward(x, N, G, Cg, S, gamma|null, beta|null, eps, y, mean, invstd, var|null, act, actParam)
void GroupNormForward(const Args& a) {
  const NormHead h(a, false, true);
  const float* gamma = a.opt_f32(5, h.nc);
  const float* beta = a.opt_f32(6, h.nc);
  const double eps = a.num(7);
  float* y = a.f32(8, h.total);
  float* mean = a.f32(9, h.ng);
  float* invstd = a.f32(10, h.ng);
  float* var = a.opt_f32(11, h.ng);
  const int act = act_code(a, 12);
  const float act_param = static_cast<float>(a.num(13));
  group_norm_forward(h.x, h.N, h.G, h.Cg, h.S, gamma, beta, eps, y, mean, invstd, var, act, act_param);
}

// groupNormBackward(x, dy, N, G, Cg, S, mean, invstd, gamma|null, dx|null, dgamma|null, dbeta|null,
//                   beta|null, act, actParam)
void GroupNormBackward(const Args& a) {
  const NormHead h(a, true, true);
  const float* mean = a.f32(6, h.ng);
  const float* invstd = a.f32(7, h.ng);
  const float* gamma = a.opt_f32(8, h.nc);
  float* dx = a.opt_f32(9, h.total);
  float* dgamma = a.opt_f32(10, h.nc);
  float* dbeta = a.opt_f32(11, h.nc);
  const float* beta = a.opt_f32(12, h.nc);
  const int act = act_code(a, 13);
  const float act_param = static_cast<float>(a.num(14));
  group_norm_backward(h.x, h.dy, h.N, h.G, h.Cg, h.S, mean, invstd, gamma, dx, dgamma, dbeta, beta, act, act_param);
}

// copyFloats(src, dst)
void CopyFloats(const Args& a) {
  Span<float> src = a.f32(0);
  float* dst = a.f32(1, src.size);
  copy_floats(src.data, dst, src.size);
}

}  // namespace

void register_norm(Napi::Env env, Napi::Object exports) {
  def<BatchNormForward>(env, exports, "batchNormForward");
  def<BatchNormBackward>(env, exports, "batchNormBackward");
  def<NormChannelAffine>(env, exports, "normChannelAffine");
  def<GroupNormForward>(env, exports, "groupNormForward");
  def<GroupNormBackward>(env, exports, "groupNormBackward");
  def<CopyFloats>(env, exports, "copyFloats");
}

}  // namespace nl

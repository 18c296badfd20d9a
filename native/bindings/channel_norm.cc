// N-API bindings of the channel-norm kernels (native/kernels/channel_norm.h): argument
// unpacking and length checks, in the JS argument order. Optional arrays are null or undefined.
#include "../kernels/channel_norm.h"
#include "args.h"
#include "norm_args.h"

namespace nl {
namespace {

// channelNormForward(x, N, C, S, gamma|null, beta|null, eps, center, y, mean|null, invstd)
void ChannelNormForward(const Args& a) {
  const NormHead h(a, false, false);
  const size_t np = static_cast<size_t>(h.N * h.S);
  const float* gamma = a.opt_f32(4, h.nc);
  const float* beta = a.opt_f32(5, h.nc);
  const float eps = static_cast<float>(a.num(6));
  const bool center = a.flag(7);
  float* y = a.f32(8, h.total);
  float* mean = a.opt_f32(9, np);
  float* invstd = a.f32(10, np);
  channel_norm_forward(h.x, h.N, h.C, h.S, gamma, beta, eps, center, y, mean, invstd);
}

// channelNormBackward(x, dy, N, C, S, mean|null, invstd, gamma|null, center, dx|null, dgamma|null, dbeta|null)
void ChannelNormBackward(const Args& a) {
  const NormHead h(a, true, false);
  const size_t np = static_cast<size_t>(h.N * h.S);
  const float* mean = a.opt_f32(5, np);
  const float* invstd = a.f32(6, np);
  const float* gamma = a.opt_f32(7, h.nc);
  const bool center = a.flag(8);
  if (center && !mean) a.fail(5, "must be a Float32Array when center is true");
  float* dx = a.opt_f32(9, h.total);
  float* dgamma = a.opt_f32(10, h.nc);
  float* dbeta = a.opt_f32(11, h.nc);
  channel_norm_backward(h.x, h.dy, h.N, h.C, h.S, mean, invstd, gamma, center, dx, dgamma, dbeta);
}

// frnForward(x, N, C, S, gamma, beta, tau|null, eps, y, rstd)
void FrnForward(const Args& a) {
  const NormHead h(a, false, false);
  const float* gamma = a.f32(4, h.nc);
  const float* beta = a.f32(5, h.nc);
  const float* tau = a.opt_f32(6, h.nc);
  const float eps = static_cast<float>(a.num(7));
  float* y = a.f32(8, h.total);
  float* rstd = a.f32(9, h.rows);
  frn_forward(h.x, h.N, h.C, h.S, gamma, beta, tau, eps, y, rstd);
}

// frnBackward(x, dy, N, C, S, rstd, gamma, beta, tau|null, dx|null, dgamma|null, dbeta|null, dtau|null)
void FrnBackward(const Args& a) {
  const NormHead h(a, true, false);
  const float* rstd = a.f32(5, h.rows);
  const float* gamma = a.f32(6, h.nc);
  const float* beta = a.f32(7, h.nc);
  const float* tau = a.opt_f32(8, h.nc);
  float* dx = a.opt_f32(9, h.total);
  float* dgamma = a.opt_f32(10, h.nc);
  float* dbeta = a.opt_f32(11, h.nc);
  float* dtau = a.opt_f32(12, h.nc);
  frn_backward(h.x, h.dy, h.N, h.C, h.S, rstd, gamma, beta, tau, dx, dgamma, dbeta, dtau);
}

// evoNormS0Forward(x, N, G, Cg, S, v, w, b, eps, y, mean, rstd)
void EvoNormS0Forward(const Args& a) {
  const NormHead h(a, false, true);
  const float* v = a.f32(5, h.nc);
  const float* w = a.f32(6, h.nc);
  const float* b = a.f32(7, h.nc);
  const float eps = static_cast<float>(a.num(8));
  float* y = a.f32(9, h.total);
  float* mean = a.f32(10, h.ng);
  float* rstd = a.f32(11, h.ng);
  evo_norm_s0_forward(h.x, h.N, h.G, h.Cg, h.S, v, w, b, eps, y, mean, rstd);
}

// evoNormS0Backward(x, dy, N, G, Cg, S, v, w, mean, rstd, dx|null, dv|null, dw|null, db|null)
void EvoNormS0Backward(const Args& a) {
  const NormHead h(a, true, true);
  const float* v = a.f32(6, h.nc);
  const float* w = a.f32(7, h.nc);
  const float* mean = a.f32(8, h.ng);
  const float* rstd = a.f32(9, h.ng);
  float* dx = a.opt_f32(10, h.total);
  float* dv = a.opt_f32(11, h.nc);
  float* dw = a.opt_f32(12, h.nc);
  float* db = a.opt_f32(13, h.nc);
  evo_norm_s0_backward(h.x, h.dy, h.N, h.G, h.Cg, h.S, v, w, mean, rstd, dx, dv, dw, db);
}

// evoNormB0Forward(x, N, C, S, left, v, w, b, eps, y, mean, sd)
void EvoNormB0Forward(const Args& a) {
  const NormHead h(a, false, false);
  const float* left = a.f32(4, h.nc);
  const float* v = a.f32(5, h.nc);
  const float* w = a.f32(6, h.nc);
  const float* b = a.f32(7, h.nc);
  const float eps = static_cast<float>(a.num(8));
  float* y = a.f32(9, h.total);
  float* mean = a.f32(10, h.rows);
  float* sd = a.f32(11, h.rows);
  evo_norm_b0_forward(h.x, h.N, h.C, h.S, left, v, w, b, eps, y, mean, sd);
}

// evoNormB0Backward(x, dy, N, C, S, left, v, w, mean, sd, batchMean|null, dx|null, dv|null, dw|null, db|null)
void EvoNormB0Backward(const Args& a) {
  const NormHead h(a, true, false);
  const float* left = a.f32(5, h.nc);
  const float* v = a.f32(6, h.nc);
  const float* w = a.f32(7, h.nc);
  const float* mean = a.f32(8, h.rows);
  const float* sd = a.f32(9, h.rows);
  const float* muB = a.opt_f32(10, h.nc);
  float* dx = a.opt_f32(11, h.total);
  float* dv = a.opt_f32(12, h.nc);
  float* dw = a.opt_f32(13, h.nc);
  float* db = a.opt_f32(14, h.nc);
  evo_norm_b0_backward(h.x, h.dy, h.N, h.C, h.S, left, v, w, mean, sd, muB, dx, dv, dw, db);
}

}  // namespace

void register_channel_norm(Napi::Env env, Napi::Object exports) {
  def<ChannelNormForward>(env, exports, "channelNormForward");
  def<ChannelNormBackward>(env, exports, "channelNormBackward");
  def<FrnForward>(env, exports, "frnForward");
  def<FrnBackward>(env, exports, "frnBackward");
  def<EvoNormS0Forward>(env, exports, "evoNormS0Forward");
  def<EvoNormS0Backward>(env, exports, "evoNormS0Backward");
  def<EvoNormB0Forward>(env, exports, "evoNormB0Forward");
  def<EvoNormB0Backward>(env, exports, "evoNormB0Backward");
}

}  // namespace nl

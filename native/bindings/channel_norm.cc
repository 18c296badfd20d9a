// N-API bindings of the channel-norm kernels (native/kernels/channel_norm.h): argument
// unpacking and length checks, in the JS argument order. Optional arrays are null or undefined.
#include "../kernels/channel_norm.h"
#include "args.h"

namespace nl {
namespace {

// The leading arguments of a kernel over x viewed as [N, C, S]: x, then dy for a backward
// kernel, then N, C, S (read first, as they size x and dy); sizes of all values, per channel
// and per row (n, c).
struct Head {
  int64_t N, C, S;
  size_t total, nc, rows;
  const float* x;
  const float* dy;
  Head(const Args& a, bool backward) {
    const size_t k = backward ? 2 : 1;
    N = a.int64(k);
    C = a.int64(k + 1);
    S = a.int64(k + 2);
    total = static_cast<size_t>(N * C * S);
    nc = static_cast<size_t>(C);
    rows = static_cast<size_t>(N * C);
    x = a.f32(0, total);
    dy = backward ? a.f32(1, total) : nullptr;
  }
};

// channelNormForward(x, N, C, S, gamma|null, beta|null, eps, center, y, mean|null, invstd)
void ChannelNormForward(const Args& a) {
  const Head z = Head(a, false);
  const size_t np = static_cast<size_t>(z.N * z.S);
  const float* gamma = a.opt_f32(4, z.nc);
  const float* beta = a.opt_f32(5, z.nc);
  const float eps = static_cast<float>(a.num(6));
  const bool center = a.flag(7);
  float* y = a.f32(8, z.total);
  float* mean = a.opt_f32(9, np);
  float* invstd = a.f32(10, np);
  channel_norm_forward(z.x, z.N, z.C, z.S, gamma, beta, eps, center, y, mean, invstd);
}

// channelNormBackward(x, dy, N, C, S, mean|null, invstd, gamma|null, center, dx|null, dgamma|null, dbeta|null)
void ChannelNormBackward(const Args& a) {
  const Head z = Head(a, true);
  const size_t np = static_cast<size_t>(z.N * z.S);
  const float* mean = a.opt_f32(5, np);
  const float* invstd = a.f32(6, np);
  const float* gamma = a.opt_f32(7, z.nc);
  const bool center = a.flag(8);
  if (center && !mean) a.fail(5, "must be a Float32Array when center is true");
  float* dx = a.opt_f32(9, z.total);
  float* dgamma = a.opt_f32(10, z.nc);
  float* dbeta = a.opt_f32(11, z.nc);
  channel_norm_backward(z.x, z.dy, z.N, z.C, z.S, mean, invstd, gamma, center, dx, dgamma, dbeta);
}

// frnForward(x, N, C, S, gamma, beta, tau|null, eps, y, rstd)
void FrnForward(const Args& a) {
  const Head z = Head(a, false);
  const float* gamma = a.f32(4, z.nc);
  const float* beta = a.f32(5, z.nc);
  const float* tau = a.opt_f32(6, z.nc);
  const float eps = static_cast<float>(a.num(7));
  float* y = a.f32(8, z.total);
  float* rstd = a.f32(9, z.rows);
  frn_forward(z.x, z.N, z.C, z.S, gamma, beta, tau, eps, y, rstd);
}

// frnBackward(x, dy, N, C, S, rstd, gamma, beta, tau|null, dx|null, dgamma|null, dbeta|null, dtau|null)
void FrnBackward(const Args& a) {
  const Head z = Head(a, true);
  const float* rstd = a.f32(5, z.rows);
  const float* gamma = a.f32(6, z.nc);
  const float* beta = a.f32(7, z.nc);
  const float* tau = a.opt_f32(8, z.nc);
  float* dx = a.opt_f32(9, z.total);
  float* dgamma = a.opt_f32(10, z.nc);
  float* dbeta = a.opt_f32(11, z.nc);
  float* dtau = a.opt_f32(12, z.nc);
  frn_backward(z.x, z.dy, z.N, z.C, z.S, rstd, gamma, beta, tau, dx, dgamma, dbeta, dtau);
}

// evoNormS0Forward(x, N, G, Cg, S, v, w, b, eps, y, mean, rstd)
void EvoNormS0Forward(const Args& a) {
  const int64_t N = a.int64(1), G = a.int64(2), Cg = a.int64(3), S = a.int64(4);
  const size_t total = static_cast<size_t>(N * G * Cg * S), nc = static_cast<size_t>(G * Cg),
               ng = static_cast<size_t>(N * G);
  const float* x = a.f32(0, total);
  const float* v = a.f32(5, nc);
  const float* w = a.f32(6, nc);
  const float* b = a.f32(7, nc);
  const float eps = static_cast<float>(a.num(8));
  float* y = a.f32(9, total);
  float* mean = a.f32(10, ng);
  float* rstd = a.f32(11, ng);
  evo_norm_s0_forward(x, N, G, Cg, S, v, w, b, eps, y, mean, rstd);
}

// evoNormS0Backward(x, dy, N, G, Cg, S, v, w, mean, rstd, dx|null, dv|null, dw|null, db|null)
void EvoNormS0Backward(const Args& a) {
  const int64_t N = a.int64(2), G = a.int64(3), Cg = a.int64(4), S = a.int64(5);
  const size_t total = static_cast<size_t>(N * G * Cg * S), nc = static_cast<size_t>(G * Cg),
               ng = static_cast<size_t>(N * G);
  const float* x = a.f32(0, total);
  const float* dy = a.f32(1, total);
  const float* v = a.f32(6, nc);
  const float* w = a.f32(7, nc);
  const float* mean = a.f32(8, ng);
  const float* rstd = a.f32(9, ng);
  float* dx = a.opt_f32(10, total);
  float* dv = a.opt_f32(11, nc);
  float* dw = a.opt_f32(12, nc);
  float* db = a.opt_f32(13, nc);
  evo_norm_s0_backward(x, dy, N, G, Cg, S, v, w, mean, rstd, dx, dv, dw, db);
}

// evoNormB0Forward(x, N, C, S, left, v, w, b, eps, y, mean, sd)
void EvoNormB0Forward(const Args& a) {
  const Head z = Head(a, false);
  const float* left = a.f32(4, z.nc);
  const float* v = a.f32(5, z.nc);
  const float* w = a.f32(6, z.nc);
  const float* b = a.f32(7, z.nc);
  const float eps = static_cast<float>(a.num(8));
  float* y = a.f32(9, z.total);
  float* mean = a.f32(10, z.rows);
  float* sd = a.f32(11, z.rows);
  evo_norm_b0_forward(z.x, z.N, z.C, z.S, left, v, w, b, eps, y, mean, sd);
}

// evoNormB0Backward(x, dy, N, C, S, left, v, w, mean, sd, batchMean|null, dx|null, dv|null, dw|null, db|null)
void EvoNormB0Backward(const Args& a) {
  const Head z = Head(a, true);
  const float* left = a.f32(5, z.nc);
  const float* v = a.f32(6, z.nc);
  const float* w = a.f32(7, z.nc);
  const float* mean = a.f32(8, z.rows);
  const float* sd = a.f32(9, z.rows);
  const float* muB = a.opt_f32(10, z.nc);
  float* dx = a.opt_f32(11, z.total);
  float* dv = a.opt_f32(12, z.nc);
  float* dw = a.opt_f32(13, z.nc);
  float* db = a.opt_f32(14, z.nc);
  evo_norm_b0_backward(z.x, z.dy, z.N, z.C, z.S, left, v, w, mean, sd, muB, dx, dv, dw, db);
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

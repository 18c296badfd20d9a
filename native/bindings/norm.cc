// N-API bindings of the normalization kernels (native/kernels/norm.h): argument unpacking and
// length checks, in the JS argument order. Optional arrays are null or undefined.
#include "../kernels/norm.h"
#include "args.h"

namespace nl {
namespace {

// batchNormForward(x, N, C, S, gamma|null, beta|null, eps, y|null, mean, invstd, var,
//                  threshold, mu0|null, rstd0|null, kept|null)
void BatchNormForward(const Args& a) {
  const int64_t N = a.int64(1), C = a.int64(2), S = a.int64(3);
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C);
  const float* x = a.f32(0, total);
  const float* gamma = a.opt_f32(4, nc);
  const float* beta = a.opt_f32(5, nc);
  const double eps = a.num(6);
  float* y = a.opt_f32(7, total);
  float* mean = a.f32(8, nc);
  float* invstd = a.f32(9, nc);
  float* var = a.f32(10, nc);
  const float T = static_cast<float>(a.num(11));
  const bool filtered = T > 0.f;
  float* mu0 = filtered ? a.f32(12, nc) : nullptr;
  float* rstd0 = filtered ? a.f32(13, nc) : nullptr;
  float* kept = filtered ? a.f32(14, nc) : nullptr;
  if (N * S < 2) a.fail(1, "(N * S) must be >= 2: batch statistics need more than 1 value per channel");
  batch_norm_forward(x, N, C, S, gamma, beta, eps, y, mean, invstd, var, T, mu0, rstd0, kept);
}

// batchNormBackward(x, dy, N, C, S, mean, invstd, gamma|null, batchStats, dx|null, dgamma|null,
//                   dbeta|null, count|null, threshold, mu0|null, rstd0|null)
void BatchNormBackward(const Args& a) {
  const int64_t N = a.int64(2), C = a.int64(3), S = a.int64(4);
  const size_t total = static_cast<size_t>(N * C * S), nc = static_cast<size_t>(C);
  const float* x = a.f32(0, total);
  const float* dy = a.f32(1, total);
  const float* mean = a.f32(5, nc);
  const float* invstd = a.f32(6, nc);
  const float* gamma = a.opt_f32(7, nc);
  const bool batch_stats = a.flag(8);
  float* dx = a.opt_f32(9, total);
  float* dgamma = a.opt_f32(10, nc);
  float* dbeta = a.opt_f32(11, nc);
  const float* count = a.opt_f32(12, nc);
  const float T = static_cast<float>(a.num(13));
  const bool filtered = T > 0.f;
  const float* mu0 = filtered ? a.f32(14, nc) : nullptr;
  const float* rstd0 = filtered ? a.f32(15, nc) : nullptr;
  batch_norm_backward(x, dy, N, C, S, mean, invstd, gamma, batch_stats, dx, dgamma, dbeta, count, T, mu0, rstd0);
}

// normChannelAffine(x, N, C, S, scale, shift, y)
void NormChannelAffine(const Args& a) {
  const int64_t N = a.int64(1), C = a.int64(2), S = a.int64(3);
  const size_t total = static_cast<size_t>(N * C * S);
  const float* x = a.f32(0, total);
  const float* scale = a.f32(4, static_cast<size_t>(C));
  const float* shift = a.f32(5, static_cast<size_t>(C));
  float* y = a.f32(6, total);
  norm_channel_affine(x, N, C, S, scale, shift, y);
}

// groupNormForward(x, N, G, Cg, S, gamma|null, beta|null, eps, y, mean, invstd, var|null)
void GroupNormForward(const Args& a) {
  const int64_t N = a.int64(1), G = a.int64(2), Cg = a.int64(3), S = a.int64(4);
  const size_t total = static_cast<size_t>(N * G * Cg * S), nc = static_cast<size_t>(G * Cg),
               ng = static_cast<size_t>(N * G);
  const float* x = a.f32(0, total);
  const float* gamma = a.opt_f32(5, nc);
  const float* beta = a.opt_f32(6, nc);
  const double eps = a.num(7);
  float* y = a.f32(8, total);
  float* mean = a.f32(9, ng);
  float* invstd = a.f32(10, ng);
  float* var = a.opt_f32(11, ng);
  group_norm_forward(x, N, G, Cg, S, gamma, beta, eps, y, mean, invstd, var);
}

// groupNormBackward(x, dy, N, G, Cg, S, mean, invstd, gamma|null, dx|null, dgamma|null, dbeta|null)
void GroupNormBackward(const Args& a) {
  const int64_t N = a.int64(2), G = a.int64(3), Cg = a.int64(4), S = a.int64(5);
  const size_t total = static_cast<size_t>(N * G * Cg * S), nc = static_cast<size_t>(G * Cg),
               ng = static_cast<size_t>(N * G);
  const float* x = a.f32(0, total);
  const float* dy = a.f32(1, total);
  const float* mean = a.f32(6, ng);
  const float* invstd = a.f32(7, ng);
  const float* gamma = a.opt_f32(8, nc);
  float* dx = a.opt_f32(9, total);
  float* dgamma = a.opt_f32(10, nc);
  float* dbeta = a.opt_f32(11, nc);
  group_norm_backward(x, dy, N, G, Cg, S, mean, invstd, gamma, dx, dgamma, dbeta);
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

// N-API bindings of the local response normalization kernels (native/kernels/local_response_norm.h):
// argument unpacking and checks, in the JS argument order.
#include "../kernels/local_response_norm.h"
#include "args.h"
#include "norm_args.h"

namespace nl {
namespace {

int64_t window_size(const Args& a, size_t i) {
  const int64_t size = a.int64(i);
  if (size < 1) a.fail(i, "must be a positive window size");
  return size;
}

// localResponseNormForward(x, N, C, S, size, alpha, beta, k, y)
void LocalResponseNormForward(const Args& a) {
  const NormHead h(a, false, false);
  const int64_t size = window_size(a, 4);
  const float alpha = static_cast<float>(a.num(5));
  const float beta = static_cast<float>(a.num(6));
  const float k = static_cast<float>(a.num(7));
  float* y = a.f32(8, h.total);
  local_response_norm_forward(h.x, h.N, h.C, h.S, size, alpha, beta, k, y);
}

// localResponseNormBackward(x, dy, N, C, S, size, alpha, beta, k, dx)
void LocalResponseNormBackward(const Args& a) {
  const NormHead h(a, true, false);
  const int64_t size = window_size(a, 5);
  const float alpha = static_cast<float>(a.num(6));
  const float beta = static_cast<float>(a.num(7));
  const float k = static_cast<float>(a.num(8));
  float* dx = a.f32(9, h.total);
  local_response_norm_backward(h.x, h.dy, h.N, h.C, h.S, size, alpha, beta, k, dx);
}

}  // namespace

void register_local_response_norm(Napi::Env env, Napi::Object exports) {
  def<LocalResponseNormForward>(env, exports, "localResponseNormForward");
  def<LocalResponseNormBackward>(env, exports, "localResponseNormBackward");
}

}  // namespace nl

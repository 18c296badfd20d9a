// N-API bindings of the optimizer updates (native/kernels/optim.h): every state array must
// hold as many floats as the parameter.
#include "../kernels/optim.h"
#include "args.h"

namespace nl {
namespace {

// sgdStep(p, g, buf, lr, momentum, dampening, weightDecay, nesterov, first)
void SgdStep(const Args& a) {
  Span<float> p = a.f32(0);
  const float* g = a.f32(1, p.size);
  float m = static_cast<float>(a.num(4));
  float* buf = m != 0.f ? a.f32(2, p.size) : nullptr;
  float lr = static_cast<float>(a.num(3)), damp = static_cast<float>(a.num(5)), wd = static_cast<float>(a.num(6));
  bool nesterov = a.flag(7), first = a.flag(8);
  sgd_step(p.data, g, buf, static_cast<int64_t>(p.size), lr, m, damp, wd, nesterov, first);
}

// adamStep(p, g, m, v, lr, beta1, beta2, eps, weightDecay, step, decoupled)
void AdamStep(const Args& a) {
  Span<float> p = a.f32(0);
  const float* g = a.f32(1, p.size);
  float* m = a.f32(2, p.size);
  float* v = a.f32(3, p.size);
  float lr = static_cast<float>(a.num(4)), b1 = static_cast<float>(a.num(5)), b2 = static_cast<float>(a.num(6));
  float eps = static_cast<float>(a.num(7)), wd = static_cast<float>(a.num(8));
  double step = a.num(9);
  bool decoupled = a.flag(10);
  adam_step(p.data, g, m, v, static_cast<int64_t>(p.size), lr, b1, b2, eps, wd, step, decoupled);
}

// rmspropStep(p, g, squareAvg, buf, gradAvg, lr, alpha, eps, weightDecay, momentum, centered)
void RmspropStep(const Args& a) {
  Span<float> p = a.f32(0);
  const float* g = a.f32(1, p.size);
  float* sq = a.f32(2, p.size);
  float mu = static_cast<float>(a.num(9));
  bool centered = a.flag(10);
  float* buf = mu > 0.f ? a.f32(3, p.size) : nullptr;
  float* ga = centered ? a.f32(4, p.size) : nullptr;
  float lr = static_cast<float>(a.num(5)), alpha = static_cast<float>(a.num(6));
  float eps = static_cast<float>(a.num(7)), wd = static_cast<float>(a.num(8));
  rmsprop_step(p.data, g, sq, buf, ga, static_cast<int64_t>(p.size), lr, alpha, eps, wd, mu);
}

}  // namespace

void register_optim(Napi::Env env, Napi::Object exports) {
  def<SgdStep>(env, exports, "sgdStep");
  def<AdamStep>(env, exports, "adamStep");
  def<RmspropStep>(env, exports, "rmspropStep");
}

}  // namespace nl

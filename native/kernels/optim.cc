// Optimizer update kernels: one fused pass over a parameter, its gradient and its state.
// The formulas follow torch.optim (1.13) exactly; see src/optim/*.ts for the conventions.
#include <cmath>

#include "optim.h"

#include "common.h"
#include "dispatch.h"

namespace nl {
namespace {

constexpr int64_t kGrain = 1 << 15;

// SGD: d = g + wd·p; buf = first ? d : m·buf + (1 − dampening)·d; d = nesterov ? d + m·buf : buf;
// p −= lr·d. With m = 0 there is no buffer.
NL_INLINE void sgd_body(float* p, const float* g, float* buf, int64_t n, float lr, float m, float damp, float wd,
                        bool nesterov, bool first) {
  if (m == 0.f) {
    for (int64_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i] + wd * p[i];
    float b = first ? d : m * buf[i] + (1.f - damp) * d;
    buf[i] = b;
    p[i] -= lr * (nesterov ? d + m * b : b);
  }
}
NL_ISA_VARIANTS(sgd_run,
                (float* p, const float* g, float* buf, int64_t n, float lr, float m, float damp, float wd, bool nesterov,
                 bool first),
                (p, g, buf, n, lr, m, damp, wd, nesterov, first), sgd_body)

}  // namespace

void sgd_step(float* p, const float* g, float* buf, int64_t n, float lr, float m, float damp, float wd, bool nesterov,
              bool first) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    sgd_run(p + b, g + b, buf == nullptr ? nullptr : buf + b, e - b, lr, m, damp, wd, nesterov, first);
  });
}

namespace {

// Adam / AdamW (torch 1.13, amsgrad off):
//   AdamW: p ·= (1 − lr·wd); Adam: g += wd·p.
//   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
//   p −= (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
NL_INLINE void adam_body(float* p, const float* g, float* m, float* v, int64_t n, float lr, float b1, float b2,
                         float eps, float wd, bool decoupled, float step_size, float inv_sqrt_bc2) {
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i];
    float pi = p[i];
    if (decoupled) pi *= 1.f - lr * wd;
    else gi += wd * pi;
    float mi = b1 * m[i] + (1.f - b1) * gi;
    float vi = b2 * v[i] + (1.f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
  }
}
NL_ISA_VARIANTS(adam_run,
                (float* p, const float* g, float* m, float* v, int64_t n, float lr, float b1, float b2, float eps,
                 float wd, bool decoupled, float step_size, float inv_sqrt_bc2),
                (p, g, m, v, n, lr, b1, b2, eps, wd, decoupled, step_size, inv_sqrt_bc2), adam_body)

}  // namespace

void adam_step(float* p, const float* g, float* m, float* v, int64_t n, float lr, float b1, float b2, float eps, float wd,
               double step, bool decoupled) {
  double bc1 = 1.0 - std::pow(static_cast<double>(b1), step);
  double bc2 = 1.0 - std::pow(static_cast<double>(b2), step);
  float step_size = static_cast<float>(lr / bc1);
  float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    adam_run(p + b, g + b, m + b, v + b, e - b, lr, b1, b2, eps, wd, decoupled, step_size, inv_sqrt_bc2);
  });
}

namespace {

// RMSprop (torch 1.13): g += wd·p; sq = α·sq + (1 − α)·g²;
//   centered: ga = α·ga + (1 − α)·g, avg = sqrt(sq − ga²) + eps; else avg = sqrt(sq) + eps;
//   momentum > 0: buf = μ·buf + g/avg, p −= lr·buf; else p −= lr·g/avg.
NL_INLINE void rmsprop_body(float* p, const float* g, float* sq, float* buf, float* ga, int64_t n, float lr,
                            float alpha, float eps, float wd, float mu) {
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] + wd * p[i];
    float s = alpha * sq[i] + (1.f - alpha) * gi * gi;
    sq[i] = s;
    float avg;
    if (ga != nullptr) {
      float c = alpha * ga[i] + (1.f - alpha) * gi;
      ga[i] = c;
      avg = std::sqrt(s - c * c) + eps;
    } else {
      avg = std::sqrt(s) + eps;
    }
    if (buf != nullptr) {
      float b = mu * buf[i] + gi / avg;
      buf[i] = b;
      p[i] -= lr * b;
    } else {
      p[i] -= lr * gi / avg;
    }
  }
}
NL_ISA_VARIANTS(rmsprop_run,
                (float* p, const float* g, float* sq, float* buf, float* ga, int64_t n, float lr, float alpha,
                 float eps, float wd, float mu),
                (p, g, sq, buf, ga, n, lr, alpha, eps, wd, mu), rmsprop_body)

}  // namespace

void rmsprop_step(float* p, const float* g, float* sq, float* buf, float* ga, int64_t n, float lr, float alpha, float eps,
                  float wd, float mu) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    rmsprop_run(p + b, g + b, sq + b, buf == nullptr ? nullptr : buf + b, ga == nullptr ? nullptr : ga + b, e - b, lr,
                alpha, eps, wd, mu);
  });
}

}  // namespace nl

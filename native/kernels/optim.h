// Fused optimizer updates over n parameters (formulas in optim.cc, after torch.optim 1.13).
// Plain functions over float pointers and sizes; the N-API bindings (native/bindings/optim.cc)
// check lengths before calling.
#pragma once
#include <cstdint>

namespace nl {

// buf is read only with m != 0 (may be null otherwise).
void sgd_step(float* p, const float* g, float* buf, int64_t n, float lr, float m, float damp, float wd, bool nesterov,
              bool first);
// step: the 1-based step count t of the bias corrections; decoupled: AdamW.
void adam_step(float* p, const float* g, float* m, float* v, int64_t n, float lr, float b1, float b2, float eps, float wd,
               double step, bool decoupled);
// buf (momentum > 0) and ga (centered) may be null.
void rmsprop_step(float* p, const float* g, float* sq, float* buf, float* ga, int64_t n, float lr, float alpha, float eps,
                  float wd, float mu);

}  // namespace nl

// Channels-first normalization per position (LayerNorm2d, RmsNorm2d), Filter Response
// Normalization + TLU per row, EvoNorm-S0 per group and EvoNorm-B0 per row; formulas in
// channel_norm.cc. Plain functions over float pointers and sizes; optional arrays are nullptr.
// The N-API bindings (native/bindings/channel_norm.cc) check lengths before calling.
#pragma once
#include <cstdint>

namespace nl {

// x is [N, C, S]. mean (written only with center) and invstd hold one value per position (N * S).
void channel_norm_forward(const float* x, int64_t N, int64_t C, int64_t S, const float* gamma, const float* beta,
                          float eps, bool center, float* y, float* mean, float* invstd);
// mean must be given when center is true.
void channel_norm_backward(const float* x, const float* dy, int64_t N, int64_t C, int64_t S, const float* mean,
                           const float* invstd, const float* gamma, bool center, float* dx, float* dgamma, float* dbeta);

// FRN + TLU over rows (n, c) of x viewed as [N * C, S]; tau null: no TLU. rstd: N * C values.
void frn_forward(const float* x, int64_t N, int64_t C, int64_t S, const float* gamma, const float* beta, const float* tau,
                 float eps, float* y, float* rstd);
void frn_backward(const float* x, const float* dy, int64_t N, int64_t C, int64_t S, const float* rstd, const float* gamma,
                  const float* beta, const float* tau, float* dx, float* dgamma, float* dbeta, float* dtau);

// EvoNorm-S0 over groups (n, g) of x viewed as [N * G, Cg * S]; mean, rstd: N * G values.
void evo_norm_s0_forward(const float* x, int64_t N, int64_t G, int64_t Cg, int64_t S, const float* v, const float* w,
                         const float* b, float eps, float* y, float* mean, float* rstd);
void evo_norm_s0_backward(const float* x, const float* dy, int64_t N, int64_t G, int64_t Cg, int64_t S, const float* v,
                          const float* w, const float* mean, const float* rstd, float* dx, float* dv, float* dw, float* db);

// EvoNorm-B0 over rows (n, c) of x viewed as [N * C, S], given left[c] = sqrt(var_B[c] + eps);
// mean, sd: N * C values.
void evo_norm_b0_forward(const float* x, int64_t N, int64_t C, int64_t S, const float* left, const float* v,
                         const float* w, const float* b, float eps, float* y, float* mean, float* sd);
// muB given (training): left[c] depends on x through the biased batch variance with mean
// muB[c]; null (eval): left is a constant.
void evo_norm_b0_backward(const float* x, const float* dy, int64_t N, int64_t C, int64_t S, const float* left,
                          const float* v, const float* w, const float* mean, const float* sd, const float* muB, float* dx,
                          float* dv, float* dw, float* db);

}  // namespace nl

// Normalization kernels over x viewed as [N, C, S] (see norm.cc for layout, conventions and
// numerics). Plain functions over float pointers and sizes; optional arrays are nullptr. The
// N-API bindings (native/bindings/norm.cc) check lengths before calling.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nl {

// Batch statistics: BatchNorm / Filtered BN forward (training).
// y null computes the statistics only (Batch Renorm applies its own scale and shift).
// T (threshold) <= 0: plain BN. T > 0: Filtered BN (seed 000): mu0 and the unbiased var0
// over all values; keep -T < (x - mu0) / sqrt(var0 + 1e-10) < T; mean/var (biased) over the
// kept values; all values normalized with them. mu0, rstd0 (= 1/sqrt(var0 + 1e-10)) and kept
// (count per channel) are written for the backward pass and for analysis; they are read only
// when T > 0. Needs N * S >= 2.
// act (plain BN only, T <= 0): 0 none; 1 relu, 2 leaky relu with slope act_param, 3 sigmoid,
// 4 tanh: y = act(v) with v = x * a + b, a = gamma * invstd, b = beta - mean * a computed from
// the float mean and invstd as stored (the backward recomputes v the same way).
void batch_norm_forward(const float* x, int64_t N, int64_t C, int64_t S, const float* gamma, const float* beta,
                        double eps, float* y, float* mean, float* invstd, float* var, float T, float* mu0, float* rstd0,
                        float* kept, int act, float act_param);

// With batch statistics (training):
//   xhat = (x - mean) * invstd, dgamma = sum(dy * xhat), dbeta = sum(dy),
//   dx = gamma * invstd * (dy - [kept] (dbeta + xhat * dgamma) / m)
// where m = count[c] (kept values, FBN) or N * S, and [kept] is 1 for BN. batch_stats false (eval
// with running statistics, mean/invstd being the running ones): dx = gamma * invstd * dy.
// act != 0 (the forward's activation; beta is the forward's, null: 0): dy is replaced by
// g = dy * act'(v) everywhere above, v = x * a + b recomputed from x (see batch_norm_forward).
void batch_norm_backward(const float* x, const float* dy, int64_t N, int64_t C, int64_t S, const float* mean,
                         const float* invstd, const float* gamma, bool batch_stats, float* dx, float* dgamma, float* dbeta,
                         const float* count, float T, const float* mu0, const float* rstd0, const float* beta, int act,
                         float act_param);

// y = x * scale[c] + shift[c] (eval-mode BN: one read, one write).
void norm_channel_affine(const float* x, int64_t N, int64_t C, int64_t S, const float* scale, const float* shift,
                         float* y);

// Statistics per contiguous group: x is [N, G, Cg, S]; each (n, g) block of Cg * S values is
// normalized with its own mean and biased variance; gamma/beta are per channel (G * Cg of them).
// GroupNorm: (N, G, C/G, H*W); InstanceNorm: (N, C, 1, H*W); LayerNorm over the last D values:
// (rows, 1, D, 1) with gamma/beta of length D. mean, invstd and var (optional: the biased
// variance, for InstanceNorm's running statistics) hold N * G values. act, act_param: the fused
// activation as in batch_norm_forward (0: none), with a and b per (n, g) and channel.
void group_norm_forward(const float* x, int64_t N, int64_t G, int64_t Cg, int64_t S, const float* gamma,
                        const float* beta, double eps, float* y, float* mean, float* invstd, float* var, int act,
                        float act_param);

// Per group (m = Cg * S values, xhat = (x - mean) * invstd, gdy = gamma[c] * dy):
//   dx = invstd * (gdy - sum(gdy)/m - xhat * sum(gdy * xhat)/m)
// dgamma[c] = sum over n, s of dy * xhat; dbeta[c] = sum of dy. Rows (n) are cut into fixed
// blocks with their own per-channel accumulators, merged in block order.
// act != 0: dy is replaced by g = dy * act'(v) with v recomputed from x, mean, invstd, gamma and
// beta (the forward's; null: 0), as in batch_norm_backward.
void group_norm_backward(const float* x, const float* dy, int64_t N, int64_t G, int64_t Cg, int64_t S, const float* mean,
                         const float* invstd, const float* gamma, float* dx, float* dgamma, float* dbeta,
                         const float* beta, int act, float act_param);

// dst = src (n floats), a plain memcpy-speed copy; benchmarks use it to measure the memory
// bandwidth the norm kernels are compared with.
void copy_floats(const float* src, float* dst, size_t n);

}  // namespace nl

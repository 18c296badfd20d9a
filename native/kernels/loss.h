// Loss-family kernels (formulas and conventions in loss.cc): softmax / log-softmax over the
// last dim of an [rows, cols] view, cross-entropy from logits, NLL, MSE, BCE-with-logits and
// seeded dropout masks. Plain functions over pointers and sizes; the N-API bindings
// (native/bindings/loss.cc) check lengths and class indices (in [0, C) or ignore) before calling.
#pragma once
#include <cstdint>

namespace nl {

void softmax_forward(const float* x, int64_t rows, int64_t cols, float* y, bool log_out);
void softmax_backward(const float* y, const float* gy, int64_t rows, int64_t cols, float* gx, bool log_out);

// out[0] = the mean loss over the rows whose target t[i] is not `ignore`; returns their count.
// row_loss (N floats, may be null) receives each row's loss.
int64_t cross_entropy_forward(const float* x, int64_t N, int64_t C, const int32_t* t, double eps, int64_t ignore, float* out,
                              float* row_loss);
// gx = per-row scale (scale * row_scale[i], row_scale may be null) * (softmax(x) - smoothed one-hot).
void cross_entropy_backward(const float* x, int64_t N, int64_t C, const int32_t* t, float eps, int64_t ignore, float scale,
                            float* gx, const float* row_scale);
// out[0] = mean over valid rows of -x[i, t[i]]; returns the number of valid rows.
int64_t nll_loss_forward(const float* x, int64_t N, int64_t C, const int32_t* t, int64_t ignore, float* out);

void mse_loss_forward(const float* x, const float* y, int64_t n, float* out);
void mse_loss_backward(const float* x, const float* y, int64_t n, float scale, float* g);
void bce_with_logits_forward(const float* x, const float* y, int64_t n, float* out);
void bce_with_logits_backward(const float* x, const float* y, int64_t n, float scale, float* g);

// p in [0, 1).
void dropout_mask(int64_t seed, double p, float* mask, int64_t n);

}  // namespace nl

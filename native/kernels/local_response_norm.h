// Local response normalization across channels (torch.nn.LocalResponseNorm); formulas in
// local_response_norm.cc. Plain functions over float pointers and sizes; the N-API bindings
// (native/bindings/local_response_norm.cc) check lengths before calling.
#pragma once
#include <cstdint>

namespace nl {

// x, y are [N, C, S]; size >= 1 channels per window, alpha is divided by size.
void local_response_norm_forward(const float* x, int64_t N, int64_t C, int64_t S, int64_t size, float alpha, float beta,
                                 float k, float* y);
// dx (N * C * S values) receives the gradient of local_response_norm_forward for output gradient dy.
void local_response_norm_backward(const float* x, const float* dy, int64_t N, int64_t C, int64_t S, int64_t size,
                                  float alpha, float beta, float k, float* dx);

}  // namespace nl

// 2-D pooling kernels over NCHW float32 planes, with PyTorch's semantics (see pool.cc). Plain
// functions over pointers and a checked geometry; the N-API bindings (native/bindings/pool.cc)
// build the geometry from the arguments and check every size that keeps memory accesses in
// bounds (padding at most half the kernel, so every max-pool window holds an input element).
#pragma once
#include <cstdint>

namespace nl {

struct PoolGeom {
  int64_t planes, H, W;     // N*C planes of H x W
  int64_t KH, KW, SH, SW, PH, PW;
  int64_t OH, OW;
  int64_t DH = 1, DW = 1;   // dilation (max pool only)
  bool include_pad = true;  // avg pool: zero padding counts in the divisor
};

// Output length along one axis (PyTorch's pooling_output_shape).
int64_t pool_out_len(int64_t L, int64_t K, int64_t S, int64_t P, int64_t D, bool ceil_mode);

// idx receives, per output, the flat position ih*W + iw of its maximum in the input plane.
void max_pool2d_forward(const PoolGeom& g, const float* x, float* y, int32_t* idx);
// dx[plane][idx[o]] += dy[o] (dx zeroed first); false when an index lies outside the plane
// (such entries are skipped).
bool max_pool2d_backward(const float* dy, const int32_t* idx, int64_t planes, int64_t plane_in, int64_t plane_out,
                         float* dx);
void avg_pool2d_forward(const PoolGeom& g, const float* x, float* y);
void avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx);
// g holds planes, H, W, OH, OW (the output bins); the other fields are unused.
void adaptive_avg_pool2d_forward(const PoolGeom& g, const float* x, float* y);
void adaptive_avg_pool2d_backward(const PoolGeom& g, const float* dy, float* dx);

}  // namespace nl

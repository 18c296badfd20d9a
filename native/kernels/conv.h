// 2-D convolution kernels over NCHW float32 (formulas, paths and determinism in conv.cc).
// Plain functions over float pointers and a checked geometry; the N-API bindings
// (native/bindings/conv.cc) build the geometry from the arguments and check every size that
// keeps memory accesses in bounds.
#pragma once
#include <cstdint>

namespace nl {

struct ConvGeom {
  int64_t N, C, H, W;      // input
  int64_t O, KH, KW;       // weight [O, C/groups, KH, KW]
  int64_t SH, SW, PH, PW, DH, DW, G;
  int64_t OH, OW;          // output spatial size
  int64_t Cg, Og, K, P;    // per-group channels, patch length, output positions

  bool pointwise() const { return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0; }
  int64_t x_size() const { return N * C * H * W; }
  int64_t w_size() const { return O * Cg * KH * KW; }
  int64_t y_size() const { return N * O * OH * OW; }
};

// y = conv(x, w) + bias (bias may be null).
void conv2d_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y);
// dx = the input gradient of dy.
void conv2d_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx);
// dw (weight gradient) and db (bias gradient), each computed when not null.
void conv2d_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dw, float* db);

}  // namespace nl

// The leading arguments shared by the normalization bindings (norm.cc, channel_norm.cc).
#pragma once
#include "args.h"

namespace nl {

// x, then dy for a backward kernel, then the sizes of x viewed as [N, C, S], or with groups as
// [N, G, Cg, S] (C = G * Cg). The sizes are read first, as they size x and dy. Without groups
// every channel is its own group (G = C, Cg = 1).
struct NormHead {
  int64_t N, G, Cg, C, S;
  size_t total;  // N * C * S
  size_t nc;     // C
  size_t rows;   // N * C
  size_t ng;     // N * G
  const float* x;
  const float* dy;  // null for a forward kernel

  NormHead(const Args& a, bool backward, bool grouped) {
    size_t k = backward ? 2 : 1;
    N = a.int64(k++);
    if (grouped) {
      G = a.int64(k++);
      Cg = a.int64(k++);
      C = G * Cg;
    } else {
      C = G = a.int64(k++);
      Cg = 1;
    }
    S = a.int64(k);
    total = static_cast<size_t>(N * C * S);
    nc = static_cast<size_t>(C);
    rows = static_cast<size_t>(N * C);
    ng = static_cast<size_t>(N * G);
    x = a.f32(0, total);
    dy = backward ? a.f32(1, total) : nullptr;
  }
};

}  // namespace nl

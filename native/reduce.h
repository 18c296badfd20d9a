// The reduction engine of native/reduce.cc, shared with sum-to-shape (native/elementwise.cc).
#pragma once
#include <cstdint>
#include <vector>

namespace nl {

// Op codes, shared with src/backend/kernels/reduce.ts.
enum ReduceOp { kReduceSum = 0, kReduceMean = 1, kReduceMax = 2, kReduceVar = 3, kReduceMin = 4, kReduceStd = 5 };

// Reduces the contiguous tensor x of `shape` over the dims k with reduced[k]. out receives the
// kept dims in row-major order; for max/min, idx (may be null) receives the row-major position
// of the first extreme inside the reduced dims. var/std divide by R - 1 when unbiased, else R.
// The caller rejects max/min over an empty reduced set.
void reduce_dims(int op, const float* x, const std::vector<int64_t>& shape, const std::vector<bool>& reduced,
                 float* out, int32_t* idx, bool unbiased);

}  // namespace nl

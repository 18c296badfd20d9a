// The reduction engine (reduce.cc), used by reduce, sum-to-shape and global average pooling,
// and permute. Plain functions over float pointers and shapes; the N-API bindings
// (native/bindings/reduce.cc) check op codes, dims and lengths before calling.
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

// out = x permuted: out dim k is x dim perm[k] (perm holds each of 0 .. shape.size() - 1 once).
void permute(const float* x, const std::vector<int64_t>& shape, const std::vector<int64_t>& perm, float* out);

}  // namespace nl

// Single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, row-major.
// op(A) is M x K (A is M x K when !transA, K x M when transA); op(B) is K x N.
// lda/ldb/ldc are row strides in elements. beta == 0 overwrites C (NaNs in C are not read).
// Threads: uses the pool unless called from inside a parallel region (then serial).
#pragma once
#include <cstdint>

namespace nl {

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace nl

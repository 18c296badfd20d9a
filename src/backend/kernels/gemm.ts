// SGEMM, row-major: C = alpha * op(A) * op(B) + beta * C; op(A) is M x K, op(B) is K x N.
// beta = 0 overwrites C without reading it. Strides lda/ldb/ldc are in elements.
export interface GemmKernels {
  sgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number,
    beta: number, C: Float32Array, ldc: number,
  ): void;
}

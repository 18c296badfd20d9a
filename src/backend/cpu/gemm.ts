// The CPU SGEMM: the native addon's positional entry point behind kernels/gemm.ts's SgemmArgs.
import type { GemmKernels } from '../kernels/gemm.js';
import { hostArray } from './storage.js';

/** The addon's sgemm export (native/gemm.cc); strides in elements, row-major. */
export interface NativeGemmKernels {
  sgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number,
    beta: number, C: Float32Array, ldc: number,
  ): void;
}

export function cpuGemmKernels(addon: NativeGemmKernels): GemmKernels {
  return {
    sgemm: (a) =>
      addon.sgemm(
        a.transA, a.transB, a.M, a.N, a.K, a.alpha, hostArray(a.a, 'sgemm'), a.lda, hostArray(a.b, 'sgemm'), a.ldb,
        a.beta, hostArray(a.c, 'sgemm'), a.ldc,
      ),
  };
}

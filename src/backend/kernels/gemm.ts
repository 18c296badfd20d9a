// SGEMM, row-major: c = alpha * op(a) * op(b) + beta * c; op(a) is M x K, op(b) is K x N.
import type { Storage } from '../storage.js';

export interface SgemmArgs {
  /** op(a) = a^T when set (a is then stored K x M). */
  transA: boolean;
  /** op(b) = b^T when set (b is then stored N x K). */
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  a: Storage;
  /** Row stride of a, in elements. */
  lda: number;
  b: Storage;
  ldb: number;
  /** beta = 0 overwrites c without reading it. */
  beta: number;
  c: Storage;
  ldc: number;
}

export interface GemmKernels {
  sgemm(args: SgemmArgs): void;
}

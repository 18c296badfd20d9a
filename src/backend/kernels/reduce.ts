// Reductions over the middle axis of an [outer, R, inner] view, and permute.
export const ReduceOp = { sum: 0, mean: 1, max: 2, var: 3, min: 4 } as const;

export interface ReduceKernels {
  /** max/min: arg 6 is an Int32Array receiving the arg index; var: arg 6 is `unbiased`. */
  reduce(op: number, x: Float32Array, outer: number, R: number, inner: number, out: Float32Array, extra?: Int32Array | boolean): void;
  /** out = x permuted; output dim k is input dim perm[k]. */
  permute(x: Float32Array, shape: number[], perm: number[], out: Float32Array): void;
}

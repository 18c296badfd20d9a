// Reductions over any set of dims of a contiguous tensor (native/reduce.cc), and permute.
export const ReduceOp = { sum: 0, mean: 1, max: 2, var: 3, min: 4, std: 5 } as const;

export interface ReduceKernels {
  /**
   * out = x (of `shape`) reduced over `dims` (each in [0, rank)); out holds the kept dims in
   * row-major order. max/min: `extra` is an optional Int32Array receiving the row-major position
   * of the first extreme inside the reduced dims. var/std: `extra` is `unbiased` (divide by R - 1).
   * Results are bitwise the same for any thread count.
   */
  reduce(op: number, x: Float32Array, shape: number[], dims: number[], out: Float32Array, extra?: Int32Array | boolean): void;
  /** out = x permuted; output dim k is input dim perm[k]. */
  permute(x: Float32Array, shape: number[], perm: number[], out: Float32Array): void;
}

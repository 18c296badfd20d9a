// Reductions over any set of dims of a contiguous tensor (native/reduce.cc), and the layout
// kernels: permute and copyRegion (strided box copies for concat, slice and pad).
import type { Storage } from '../storage.js';

export const ReduceOp = { sum: 0, mean: 1, max: 2, var: 3, min: 4, std: 5 } as const;

/**
 * out = x (of `shape`) reduced over `dims` (each in [0, rank)); out holds the kept dims in
 * row-major order. Results are bitwise the same for any thread count.
 */
export interface ReduceArgs {
  /** A ReduceOp code. */
  op: number;
  x: Storage;
  shape: number[];
  dims: number[];
  out: Storage;
  /**
   * max/min only, optional: int32 storage (from emptyIndex, out.length values) receiving, per
   * output, the row-major position of the first extreme inside the reduced dims.
   */
  index?: Storage | null;
  /** var/std only: divide by R - 1 (Bessel's correction) instead of R; default false. */
  unbiased?: boolean;
}

/**
 * Gradient of max/min over `dims` of x (of `shape`): gx (x.length values, every one written)
 * gets g's value of each group either at the group's arg-extreme `index` (torch.max(x, dim)),
 * or, when `index` is null, split evenly among every element equal to the group's extreme in
 * `values` (torch.amax; NaN counts as equal to NaN). g and values hold one value per group, in
 * the reduce kernel's output order.
 */
export interface ExtremeBackwardArgs {
  x: Storage;
  shape: number[];
  dims: number[];
  values: Storage;
  index: Storage | null;
  g: Storage;
  gx: Storage;
}

/** out = x permuted; output dim k is input dim perm[k]. */
export interface PermuteArgs {
  x: Storage;
  shape: number[];
  perm: number[];
  out: Storage;
}

/**
 * Copies the box of `size` starting at `srcStart` of src (contiguous, `srcShape`) to the box
 * starting at `dstStart` of dst (contiguous, `dstShape`); values of dst outside the box are
 * left as they are. All four arrays have one entry per dim (rank 0 copies the one value).
 */
export interface CopyRegionArgs {
  src: Storage;
  srcShape: number[];
  srcStart: number[];
  dst: Storage;
  dstShape: number[];
  dstStart: number[];
  size: number[];
}

export interface ReduceKernels {
  reduce(args: ReduceArgs): void;
  extremeBackward(args: ExtremeBackwardArgs): void;
  permute(args: PermuteArgs): void;
  copyRegion(args: CopyRegionArgs): void;
}

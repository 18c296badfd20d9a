// 2-D convolution kernels over NCHW float32. Shapes: x [N, C, H, W], weight [O, C/groups, KH, KW],
// y [N, O, OH, OW] with OH = floor((H + 2*PH - DH*(KH - 1) - 1) / SH) + 1 (likewise OW).
// stride, padding and dilation are [h, w] pairs. Every array is a float32 storage handle on the
// backend's device; output handles are fully overwritten.
import type { Storage } from '../storage.js';

/** Geometry shared by the three convolution kernels. */
export interface Conv2dGeometry {
  /** [SH, SW], each >= 1. */
  stride: number[];
  /** [PH, PW] zeros on each side, each >= 0. */
  padding: number[];
  /** [DH, DW] spacing between kernel taps, each >= 1. */
  dilation: number[];
  /** Channel groups: C and O are both multiples of it; group g maps input channels [g*C/groups, (g+1)*C/groups) to output channels [g*O/groups, (g+1)*O/groups). */
  groups: number;
}

export interface Conv2dForwardArgs extends Conv2dGeometry {
  /** Input, xShape [N, C, H, W]. */
  x: Storage;
  xShape: number[];
  /** Weight, wShape [O, C/groups, KH, KW]. */
  weight: Storage;
  wShape: number[];
  /** [O] added to every output position of its channel; null: no bias. */
  bias: Storage | null;
  /** Output [N, O, OH, OW]. */
  y: Storage;
}

export interface Conv2dBackwardInputArgs extends Conv2dGeometry {
  /** Gradient of the output, [N, O, OH, OW]. */
  dy: Storage;
  /** Weight, wShape [O, C/groups, KH, KW]. */
  weight: Storage;
  wShape: number[];
  /** Gradient of the input (written), xShape [N, C, H, W]. */
  dx: Storage;
  xShape: number[];
}

export interface Conv2dBackwardWeightArgs extends Conv2dGeometry {
  /** The forward's input, xShape [N, C, H, W]. */
  x: Storage;
  xShape: number[];
  /** Gradient of the output, [N, O, OH, OW]. */
  dy: Storage;
  /** Gradient of the weight (written), wShape; null skips it. */
  dw: Storage | null;
  wShape: number[];
  /** Gradient of the bias (written), [O] = dy summed over N, OH, OW; null skips it. */
  dbias: Storage | null;
}

export interface ConvKernels {
  /** y = conv2d(x, weight) + bias. */
  conv2dForward(args: Conv2dForwardArgs): void;
  /** dx = gradient of conv2d with respect to its input, given dy. */
  conv2dBackwardInput(args: Conv2dBackwardInputArgs): void;
  /** dw and dbias (either may be null) from the saved input x and dy. */
  conv2dBackwardWeight(args: Conv2dBackwardWeightArgs): void;
}

// 2-D pooling kernels over NCHW float32, PyTorch semantics:
// OH = floor((H + 2*PH - DH*(KH-1) - 1) / SH) + 1 (ceil instead of floor in ceil mode, where the
// last window must still start inside the input or its left padding); padding at most half the
// kernel. kernel, stride, padding and dilation are [h, w] pairs. Every array is a storage handle
// on the backend's device; output handles are fully overwritten.
import type { Storage } from '../storage.js';

/** The window of max and average pooling. */
export interface Pool2dWindow {
  /** [KH, KW], each >= 1. */
  kernel: number[];
  /** [SH, SW], each >= 1. */
  stride: number[];
  /** [PH, PW], each at most half the kernel. */
  padding: number[];
  /** Round the output size up (PyTorch's ceil_mode); default false. */
  ceilMode?: boolean;
}

export interface MaxPool2dForwardArgs extends Pool2dWindow {
  /** Input, xShape [N, C, H, W]. */
  x: Storage;
  xShape: number[];
  /** Output [N, C, OH, OW]. */
  y: Storage;
  /** int32 storage of y's length: ih*W + iw of each window's maximum within its (n, c) plane. */
  indices: Storage;
  /** [DH, DW] spacing between window taps; default [1, 1]. */
  dilation?: number[];
}

export interface MaxPool2dBackwardArgs {
  /** Gradient of the output, outShape [N, C, OH, OW]. */
  dy: Storage;
  /** The forward's int32 indices (same length as dy). */
  indices: Storage;
  outShape: number[];
  /** Gradient of the input (written: zeros, then dx[n, c, indices[o]] += dy[o]), xShape [N, C, H, W]. */
  dx: Storage;
  xShape: number[];
}

export interface AvgPool2dForwardArgs extends Pool2dWindow {
  /** Input, xShape [N, C, H, W]. */
  x: Storage;
  xShape: number[];
  /** Output [N, C, OH, OW]. */
  y: Storage;
  /**
   * Default true: the divisor is the window clipped to the padded input (padding counts as
   * zeros); false: only the values inside the input count.
   */
  countIncludePad?: boolean;
}

export interface AvgPool2dBackwardArgs extends Pool2dWindow {
  /** Gradient of the output [N, C, OH, OW]. */
  dy: Storage;
  /** Gradient of the input (written), xShape [N, C, H, W]. */
  dx: Storage;
  xShape: number[];
  /** As in the forward. */
  countIncludePad?: boolean;
}

export interface AdaptiveAvgPool2dForwardArgs {
  /** Input, xShape [N, C, H, W]. */
  x: Storage;
  xShape: number[];
  /** Output [N, C, OH, OW]. */
  y: Storage;
  /** [OH, OW]; bin i of OL over length L covers [floor(i*L/OL), ceil((i+1)*L/OL)). */
  outSize: number[];
}

export interface AdaptiveAvgPool2dBackwardArgs {
  /** Gradient of the output [N, C, OH, OW]. */
  dy: Storage;
  /** Gradient of the input (written), xShape [N, C, H, W]. */
  dx: Storage;
  xShape: number[];
  /** [OH, OW], as in the forward. */
  outSize: number[];
}

export interface PoolKernels {
  /** y = max over each window (padding is -inf), with the position of each maximum in indices. */
  maxPool2dForward(args: MaxPool2dForwardArgs): void;
  /** dx = dy routed to the saved maxima. */
  maxPool2dBackward(args: MaxPool2dBackwardArgs): void;
  /** y = window mean. */
  avgPool2dForward(args: AvgPool2dForwardArgs): void;
  avgPool2dBackward(args: AvgPool2dBackwardArgs): void;
  adaptiveAvgPool2dForward(args: AdaptiveAvgPool2dForwardArgs): void;
  adaptiveAvgPool2dBackward(args: AdaptiveAvgPool2dBackwardArgs): void;
}

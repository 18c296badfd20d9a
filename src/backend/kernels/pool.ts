// 2-D pooling kernels over NCHW float32 (native/pool.cc), PyTorch semantics:
// OH = floor((H + 2*PH - DH*(KH-1) - 1) / SH) + 1 (ceil instead of floor in ceil mode, where the
// last window must still start inside the input or its left padding); padding at most half the
// kernel. kernel, stride, padding and dilation are [h, w] pairs. Output buffers are fully
// overwritten.
export interface PoolKernels {
  /** y = max over each window (padding is -inf); indices receive ih*W + iw of each maximum. */
  maxPool2dForward(
    x: Float32Array, xShape: number[], y: Float32Array, indices: Int32Array, kernel: number[], stride: number[], padding: number[],
    dilation?: number[], ceilMode?: boolean,
  ): void;
  /** dx[n, c, indices[o]] += dy[o]. */
  maxPool2dBackward(dy: Float32Array, indices: Int32Array, outShape: number[], dx: Float32Array, xShape: number[]): void;
  /**
   * y = window mean. countIncludePad (default true): the divisor is the window clipped to the
   * padded input (padding counts as zeros); false: only the values inside the input count.
   */
  avgPool2dForward(
    x: Float32Array, xShape: number[], y: Float32Array, kernel: number[], stride: number[], padding: number[],
    ceilMode?: boolean, countIncludePad?: boolean,
  ): void;
  avgPool2dBackward(
    dy: Float32Array, dx: Float32Array, xShape: number[], kernel: number[], stride: number[], padding: number[],
    ceilMode?: boolean, countIncludePad?: boolean,
  ): void;
  /** Bin i of OL over length L covers [floor(i*L/OL), ceil((i+1)*L/OL)). outSize is [OH, OW]. */
  adaptiveAvgPool2dForward(x: Float32Array, xShape: number[], y: Float32Array, outSize: number[]): void;
  adaptiveAvgPool2dBackward(dy: Float32Array, dx: Float32Array, xShape: number[], outSize: number[]): void;
}

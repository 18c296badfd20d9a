// 2-D pooling kernels over NCHW float32 (native/pool.cc), PyTorch semantics with ceil_mode off:
// OH = floor((H + 2*PH - KH) / SH) + 1, padding at most half the kernel. kernel, stride and
// padding are [h, w] pairs. Output buffers are fully overwritten.
export interface PoolKernels {
  /** y = max over each window (padding is -inf); indices receive ih*W + iw of each maximum. */
  maxPool2dForward(x: Float32Array, xShape: number[], y: Float32Array, indices: Int32Array, kernel: number[], stride: number[], padding: number[]): void;
  /** dx[n, c, indices[o]] += dy[o]. */
  maxPool2dBackward(dy: Float32Array, indices: Int32Array, outShape: number[], dx: Float32Array, xShape: number[]): void;
  /** y = window mean, padding counted as zeros in the divisor (count_include_pad). */
  avgPool2dForward(x: Float32Array, xShape: number[], y: Float32Array, kernel: number[], stride: number[], padding: number[]): void;
  avgPool2dBackward(dy: Float32Array, dx: Float32Array, xShape: number[], kernel: number[], stride: number[], padding: number[]): void;
  /** Bin i of OL over length L covers [floor(i*L/OL), ceil((i+1)*L/OL)). outSize is [OH, OW]. */
  adaptiveAvgPool2dForward(x: Float32Array, xShape: number[], y: Float32Array, outSize: number[]): void;
  adaptiveAvgPool2dBackward(dy: Float32Array, dx: Float32Array, xShape: number[], outSize: number[]): void;
}

// 2-D convolution kernels over NCHW float32 (native/conv.cc). Shapes: x [N, C, H, W],
// w [O, C/groups, KH, KW], y [N, O, OH, OW] with OH = floor((H + 2*PH - DH*(KH - 1) - 1) / SH) + 1.
// stride, padding and dilation are [h, w] pairs. Output buffers are fully overwritten.
export interface ConvKernels {
  /** y = conv2d(x, w) + bias (bias null or empty: none). */
  conv2dForward(
    x: Float32Array, xShape: number[], w: Float32Array, wShape: number[], bias: Float32Array | null, y: Float32Array,
    stride: number[], padding: number[], dilation: number[], groups: number,
  ): void;
  /** dx = gradient of conv2d with respect to its input, given dy. */
  conv2dBackwardInput(
    dy: Float32Array, w: Float32Array, wShape: number[], dx: Float32Array, xShape: number[],
    stride: number[], padding: number[], dilation: number[], groups: number,
  ): void;
  /** dw and dbias (each optional: null skips it) from the saved input x and dy. */
  conv2dBackwardWeight(
    x: Float32Array, xShape: number[], dy: Float32Array, dw: Float32Array | null, wShape: number[], dbias: Float32Array | null,
    stride: number[], padding: number[], dilation: number[], groups: number,
  ): void;
}

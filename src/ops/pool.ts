// 2-D pooling over NCHW tensors with PyTorch's semantics:
//   maxPool2d / avgPool2d: out = floor((in + 2*padding - dilation*(kernel-1) - 1) / stride) + 1,
//   or ceil with ceilMode, where a last window that would start past the input and its left
//   padding is dropped (PyTorch's pooling_output_shape). stride defaults to the kernel size,
//   padding is at most half the kernel, dilation (max pooling only) defaults to 1. Max pooling
//   pads with -inf; average pooling pads with zeros and by default counts them in the divisor
//   (countIncludePad true; a ceil-mode window hanging past the padding counts only its part
//   inside the padded input).
//   adaptiveAvgPool2d: output bin i of `out` over an axis of length L averages
//   [floor(i*L/out), ceil((i+1)*L/out)).
import { backendFor } from '../backend/index.js';
import { needsGrad, record } from '../autograd/graph.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank, formatShape } from '../tensor/shape.js';
import { toPair, windowOutSize } from './conv.js';

export interface Pool2dOptions {
  /** Defaults to the kernel size. */
  stride?: number | [number, number];
  padding?: number | [number, number];
  /** Round the output size up instead of down (PyTorch's ceil_mode), default false. */
  ceilMode?: boolean;
}

export interface MaxPool2dOptions extends Pool2dOptions {
  /** Spacing between window taps, default 1. */
  dilation?: number | [number, number];
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count zero padding in the divisor (PyTorch's count_include_pad), default true. */
  countIncludePad?: boolean;
}

interface PoolPlan {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
  outShape: number[];
}

function poolPlan(fn: string, input: Tensor, kernelSize: number | [number, number], options: MaxPool2dOptions): PoolPlan {
  checkRank(fn, 'input', input.shape, [4]);
  const kernel = toPair(fn, 'kernelSize', kernelSize, 1);
  const stride = toPair(fn, 'stride', options.stride ?? kernel, 1);
  const padding = toPair(fn, 'padding', options.padding ?? 0, 0);
  const dilation = toPair(fn, 'dilation', options.dilation ?? 1, 1);
  const ceilMode = options.ceilMode ?? false;
  if (typeof ceilMode !== 'boolean') throw new TypeError(`${fn}: ceilMode must be a boolean, got ${String(ceilMode)}`);
  if (2 * padding[0] > kernel[0] || 2 * padding[1] > kernel[1]) {
    throw new RangeError(`${fn}: padding must be at most half of kernelSize, got padding [${padding.join(', ')}] for kernelSize [${kernel.join(', ')}]`);
  }
  const [OH, OW] = windowOutSize(fn, input.shape, kernel, stride, padding, dilation, ceilMode);
  return { kernel, stride, padding, dilation, ceilMode, outShape: [input.shape[0], input.shape[1], OH, OW] };
}

/** Max pooling; the gradient goes to the (first) maximum of each window. */
export function maxPool2d(input: Tensor, kernelSize: number | [number, number], options: MaxPool2dOptions = {}): Tensor {
  const fn = 'maxPool2d';
  const p = poolPlan(fn, input, kernelSize, options);
  const be = backendFor(fn, input);
  const n = p.outShape.reduce((a, d) => a * d, 1);
  const y = be.empty(n);
  const indices = be.emptyIndex(n);
  const xShape = input.shape;
  be.maxPool2dForward({ x: input.storage, xShape, y, indices, kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation, ceilMode: p.ceilMode });
  const out = new Tensor(y, p.outShape);
  traceOp(fn, [input], out, { kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation, ceilMode: p.ceilMode });
  if (!needsGrad(input)) {
    be.release(indices);
    return out;
  }
  return record(out, fn, [input], (dy) => {
    const dx = be.empty(input.size);
    be.maxPool2dBackward({ dy, indices, outShape: p.outShape, dx, xShape });
    return [dx];
  });
}

/** Average pooling; zero padding counts in the divisor unless countIncludePad is false. */
export function avgPool2d(input: Tensor, kernelSize: number | [number, number], options: AvgPool2dOptions = {}): Tensor {
  const fn = 'avgPool2d';
  if ((options as MaxPool2dOptions).dilation !== undefined) {
    throw new RangeError('avgPool2d: options.dilation is not supported (PyTorch\'s avg_pool2d has none); expected undefined');
  }
  const p = poolPlan(fn, input, kernelSize, options);
  const be = backendFor(fn, input);
  const countIncludePad = options.countIncludePad ?? true;
  const window = { kernel: p.kernel, stride: p.stride, padding: p.padding, ceilMode: p.ceilMode, countIncludePad };
  const y = be.empty(p.outShape.reduce((a, d) => a * d, 1));
  const xShape = input.shape;
  be.avgPool2dForward({ x: input.storage, xShape, y, ...window });
  const out = new Tensor(y, p.outShape);
  traceOp(fn, [input], out, { kernel: p.kernel, stride: p.stride, padding: p.padding, ceilMode: p.ceilMode, countIncludePad });
  return record(out, fn, [input], (dy) => {
    const dx = be.empty(input.size);
    be.avgPool2dBackward({ dy, dx, xShape, ...window });
    return [dx];
  });
}

/** Adaptive average pooling to outputSize (a number or [oh, ow]). */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | [number, number]): Tensor {
  const fn = 'adaptiveAvgPool2d';
  checkRank(fn, 'input', input.shape, [4]);
  const size = toPair(fn, 'outputSize', outputSize, 1);
  const [N, C, H, W] = input.shape;
  if (H < 1 || W < 1) throw new RangeError(`${fn}: input must have H, W >= 1, got ${formatShape(input.shape)}`);
  const be = backendFor(fn, input);
  const outShape = [N, C, size[0], size[1]];
  const y = be.empty(N * C * size[0] * size[1]);
  const xShape = input.shape;
  be.adaptiveAvgPool2dForward({ x: input.storage, xShape, y, outSize: size });
  const out = new Tensor(y, outShape);
  traceOp(fn, [input], out, { size });
  return record(out, fn, [input], (dy) => {
    const dx = be.empty(input.size);
    be.adaptiveAvgPool2dBackward({ dy, dx, xShape, outSize: size });
    return [dx];
  });
}

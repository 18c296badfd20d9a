// 2-D pooling over NCHW tensors with PyTorch's semantics (ceil_mode false):
//   maxPool2d / avgPool2d: out = floor((in + 2*padding - kernel) / stride) + 1, stride defaults
//   to the kernel size, padding at most half the kernel. Max pooling pads with -inf; average
//   pooling pads with zeros and counts them in the divisor (count_include_pad true).
//   adaptiveAvgPool2d: output bin i of `out` over an axis of length L averages
//   [floor(i*L/out), ceil((i+1)*L/out)).
import { backend } from '../backend/index.js';
import { record, needsGrad } from '../autograd/graph.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank, formatShape } from '../tensor/shape.js';
import { toPair, windowOutSize } from './conv.js';
import { emptyFloats } from '../tensor/alloc.js';

export interface Pool2dOptions {
  /** Defaults to the kernel size. */
  stride?: number | [number, number];
  padding?: number | [number, number];
}

interface PoolPlan {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  outShape: number[];
}

function poolPlan(fn: string, input: Tensor, kernelSize: number | [number, number], options: Pool2dOptions): PoolPlan {
  checkRank(fn, 'input', input.shape, [4]);
  const kernel = toPair(fn, 'kernelSize', kernelSize, 1);
  const stride = toPair(fn, 'stride', options.stride ?? kernel, 1);
  const padding = toPair(fn, 'padding', options.padding ?? 0, 0);
  if (2 * padding[0] > kernel[0] || 2 * padding[1] > kernel[1]) {
    throw new RangeError(`${fn}: padding must be at most half of kernelSize, got padding [${padding.join(', ')}] for kernelSize [${kernel.join(', ')}]`);
  }
  const [OH, OW] = windowOutSize(fn, input.shape, kernel, stride, padding, [1, 1]);
  return { kernel, stride, padding, outShape: [input.shape[0], input.shape[1], OH, OW] };
}

/** Max pooling; the gradient goes to the (first) maximum of each window. */
export function maxPool2d(input: Tensor, kernelSize: number | [number, number], options: Pool2dOptions = {}): Tensor {
  const p = poolPlan('maxPool2d', input, kernelSize, options);
  const n = p.outShape.reduce((a, d) => a * d, 1);
  const out = new Tensor(emptyFloats(n), p.outShape);
  const indices = new Int32Array(n);
  backend.maxPool2dForward(input.buffer, input.shape, out.buffer, indices, p.kernel, p.stride, p.padding);
  traceOp('maxPool2d', [input], out, { kernel: p.kernel, stride: p.stride, padding: p.padding });
  if (!needsGrad(input)) return out;
  const xShape = input.shape;
  return record(out, 'maxPool2d', [input], (g) => {
    const gx = emptyFloats(input.size);
    backend.maxPool2dBackward(g, indices, p.outShape, gx, xShape);
    return [gx];
  });
}

/** Average pooling, zero padding included in the divisor. */
export function avgPool2d(input: Tensor, kernelSize: number | [number, number], options: Pool2dOptions = {}): Tensor {
  const p = poolPlan('avgPool2d', input, kernelSize, options);
  const out = new Tensor(emptyFloats(p.outShape.reduce((a, d) => a * d, 1)), p.outShape);
  backend.avgPool2dForward(input.buffer, input.shape, out.buffer, p.kernel, p.stride, p.padding);
  traceOp('avgPool2d', [input], out, { kernel: p.kernel, stride: p.stride, padding: p.padding });
  const xShape = input.shape;
  return record(out, 'avgPool2d', [input], (g) => {
    const gx = emptyFloats(input.size);
    backend.avgPool2dBackward(g, gx, xShape, p.kernel, p.stride, p.padding);
    return [gx];
  });
}

/** Adaptive average pooling to outputSize (a number or [oh, ow]). */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | [number, number]): Tensor {
  const fn = 'adaptiveAvgPool2d';
  checkRank(fn, 'input', input.shape, [4]);
  const size = toPair(fn, 'outputSize', outputSize, 1);
  const [N, C, H, W] = input.shape;
  if (H < 1 || W < 1) throw new RangeError(`${fn}: input must have H, W >= 1, got ${formatShape(input.shape)}`);
  const outShape = [N, C, size[0], size[1]];
  const out = new Tensor(emptyFloats(N * C * size[0] * size[1]), outShape);
  backend.adaptiveAvgPool2dForward(input.buffer, input.shape, out.buffer, size);
  traceOp(fn, [input], out, { size });
  const xShape = input.shape;
  return record(out, fn, [input], (g) => {
    const gx = emptyFloats(input.size);
    backend.adaptiveAvgPool2dBackward(g, gx, xShape, size);
    return [gx];
  });
}

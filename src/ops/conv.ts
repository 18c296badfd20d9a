// 2-D convolution (cross-correlation, as torch.nn.functional.conv2d) over NCHW tensors, with
// stride, zero padding, dilation and groups. Output size per spatial axis:
//   out = floor((in + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1
import { backendFor, type Storage } from '../backend/index.js';
import { needsGrad, record } from '../autograd/graph.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank, formatShape } from '../tensor/shape.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/** A number or [h, w] pair as [h, w], each an integer >= min. */
export function toPair(fn: string, arg: string, v: number | readonly number[], min: number): [number, number] {
  const pair = typeof v === 'number' ? [v, v] : [...v];
  if (pair.length !== 2 || pair.some((d) => !Number.isInteger(d) || d < min)) {
    const shown = typeof v === 'number' ? String(v) : `[${v.join(', ')}]`;
    throw new RangeError(`${fn}: ${arg} must be an integer >= ${min} or a pair [h, w] of them, got ${shown}`);
  }
  return [pair[0], pair[1]];
}

/** Output spatial size of a sliding window; throws when the window does not fit the padded input. */
export function windowOutSize(
  fn: string, input: readonly number[], kernel: [number, number], stride: [number, number], padding: [number, number],
  dilation: [number, number], ceilMode = false,
): [number, number] {
  const out: number[] = [];
  for (let a = 0; a < 2; a++) {
    const span = dilation[a] * (kernel[a] - 1) + 1;
    const padded = input[2 + a] + 2 * padding[a];
    if (padded < span) {
      throw new RangeError(
        `${fn}: kernel (extent ${span} with dilation) is larger than the padded input (${padded}) on the ${a === 0 ? 'height' : 'width'} axis; ` +
          `input ${formatShape(input)}, kernel [${kernel.join(', ')}], padding [${padding.join(', ')}], dilation [${dilation.join(', ')}]`,
      );
    }
    // Ceil mode (pooling) rounds up, but the last window must start inside the input or its left
    // padding (PyTorch's pooling_output_shape).
    let n = (ceilMode ? Math.ceil((padded - span) / stride[a]) : Math.floor((padded - span) / stride[a])) + 1;
    if (ceilMode && (n - 1) * stride[a] >= input[2 + a] + padding[a]) n--;
    out.push(n);
  }
  return [out[0], out[1]];
}

/**
 * conv2d(input [N, C, H, W], weight [O, C/groups, KH, KW], bias [O]?, options) -> [N, O, OH, OW].
 * Gradients flow to input, weight and bias.
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const fn = 'conv2d';
  checkRank(fn, 'input', input.shape, [4]);
  checkRank(fn, 'weight', weight.shape, [4]);
  const stride = toPair(fn, 'stride', options.stride ?? 1, 1);
  const padding = toPair(fn, 'padding', options.padding ?? 0, 0);
  const dilation = toPair(fn, 'dilation', options.dilation ?? 1, 1);
  const groups = options.groups ?? 1;
  const [N, C] = input.shape;
  const [O, Cg, KH, KW] = weight.shape;
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${fn}: groups must be an integer >= 1, got ${groups}`);
  if (C % groups !== 0) throw new RangeError(`${fn}: groups (${groups}) must divide the input channels, got ${C} (input ${formatShape(input.shape)})`);
  if (O % groups !== 0) throw new RangeError(`${fn}: groups (${groups}) must divide the output channels, got ${O} (weight ${formatShape(weight.shape)})`);
  if (Cg * groups !== C) {
    throw new RangeError(
      `${fn}: input has ${C} channels but weight ${formatShape(weight.shape)} with groups=${groups} expects ${Cg * groups} (weight.shape[1] * groups)`,
    );
  }
  if (KH < 1 || KW < 1 || O < 1) throw new RangeError(`${fn}: weight must have sizes >= 1, got ${formatShape(weight.shape)}`);
  if (bias != null && (bias.ndim !== 1 || bias.shape[0] !== O)) {
    throw new RangeError(`${fn}: bias must have shape [${O}] (one value per output channel), got ${formatShape(bias.shape)}`);
  }
  const be = backendFor(fn, input, weight, bias);
  const [OH, OW] = windowOutSize(fn, input.shape, [KH, KW], stride, padding, dilation);
  const outShape = [N, O, OH, OW];
  const y = be.empty(N * O * OH * OW);
  const x = input.storage;
  const w = weight.storage;
  const xShape = input.shape;
  const wShape = weight.shape;
  const geometry = { stride, padding, dilation, groups };
  be.conv2dForward({ x, xShape, weight: w, wShape, bias: bias?.storage ?? null, y, ...geometry });
  const out = new Tensor(y, outShape);
  traceOp(fn, [input, weight, bias ?? null], out, geometry);
  const inputs = bias != null ? [input, weight, bias] : [input, weight];
  if (!needsGrad(...inputs)) return out;
  return record(out, fn, inputs, (dy) => {
    let dx: Storage | null = null;
    if (input.requiresGrad) {
      dx = be.empty(input.size);
      be.conv2dBackwardInput({ dy, weight: w, wShape, dx, xShape, ...geometry });
    }
    const dw = weight.requiresGrad ? be.empty(weight.size) : null;
    const dbias = bias != null && bias.requiresGrad ? be.zeros(O) : null;
    if (dw !== null || dbias !== null) be.conv2dBackwardWeight({ x, xShape, dy, dw, wShape, dbias, ...geometry });
    return bias != null ? [dx, dw, dbias] : [dx, dw];
  });
}

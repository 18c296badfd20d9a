// Fully connected layer: y = x W^T + b, with x [..., in], W [out, in], b [out]. Leading dims of
// x are flattened into rows; W^T is never materialised (sgemm with transB).
import { backend } from '../backend/index.js';
import { BinaryOp } from '../backend/kernels/elementwise.js';
import { needsGrad } from '../autograd/graph.js';
import { recordHost } from '../autograd/hostRules.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank, checkShape, formatShape } from '../tensor/shape.js';
import { emptyFloats, zeroFloats } from '../backend/cpu/alloc.js';

export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const fn = 'linear';
  checkRank(fn, 'weight', weight.shape, [2]);
  const [outF, inF] = weight.shape;
  if (input.ndim < 1 || input.shape[input.ndim - 1] !== inF) {
    throw new RangeError(`${fn}: input must have last dimension ${inF} (weight is ${formatShape(weight.shape)}), got shape ${formatShape(input.shape)}`);
  }
  if (bias != null) checkShape(fn, 'bias', bias.shape, [outF]);
  const rows = inF === 0 ? 0 : input.size / inF;
  const outShape = [...input.shape.slice(0, -1), outF];
  const out = new Tensor(emptyFloats(rows * outF), outShape);
  const x = input.buffer;
  const w = weight.buffer;
  if (rows > 0 && outF > 0) {
    // y[rows, out] = x[rows, in] * W^T (beta 0: every value written, K = 0 included)
    backend.sgemm(false, true, rows, outF, inF, 1, x, inF, w, inF, 0, out.buffer, outF);
    if (bias != null) backend.binary(BinaryOp.add, out.buffer, [rows, outF], bias.buffer, [outF], out.buffer, [rows, outF]);
  }
  traceOp(fn, [input, weight, bias ?? null], out);
  const inputs = bias != null ? [input, weight, bias] : [input, weight];
  if (!needsGrad(...inputs)) return out;
  return recordHost(out, fn, inputs, (g) => {
    let gx: Float32Array | null = null;
    let gw: Float32Array | null = null;
    let gb: Float32Array | null = null;
    if (input.requiresGrad) {
      // gx[rows, in] = g[rows, out] * W[out, in]
      gx = emptyFloats(input.size);
      if (rows > 0 && inF > 0) backend.sgemm(false, false, rows, inF, outF, 1, g, outF, w, inF, 0, gx, inF);
    }
    if (weight.requiresGrad) {
      // gW[out, in] = g^T[out, rows] * x[rows, in]
      gw = emptyFloats(weight.size);
      if (outF > 0 && inF > 0) backend.sgemm(true, false, outF, inF, rows, 1, g, outF, x, inF, 0, gw, inF);
    }
    if (bias != null && bias.requiresGrad) {
      gb = zeroFloats(outF);
      if (rows > 0) backend.sumToShape(g, [rows, outF], gb, [outF]);
    }
    return bias != null ? [gx, gw, gb] : [gx, gw];
  });
}

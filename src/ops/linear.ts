// Fully connected layer: y = x W^T + b, with x [..., in], W [out, in], b [out]. Leading dims of
// x are flattened into rows; W^T is never materialised (sgemm with transB). Runs on the backend
// of its inputs' device and only passes storage handles to its kernels.
import { backendFor, type Storage } from '../backend/index.js';
import { BinaryOp } from '../backend/kernels/elementwise.js';
import { needsGrad, record } from '../autograd/graph.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank, checkShape, formatShape } from '../tensor/shape.js';

export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const fn = 'linear';
  const be = backendFor(fn, input, weight, bias);
  checkRank(fn, 'weight', weight.shape, [2]);
  const [outF, inF] = weight.shape;
  if (input.ndim < 1 || input.shape[input.ndim - 1] !== inF) {
    throw new RangeError(`${fn}: input must have last dimension ${inF} (weight is ${formatShape(weight.shape)}), got shape ${formatShape(input.shape)}`);
  }
  if (bias != null) checkShape(fn, 'bias', bias.shape, [outF]);
  const rows = inF === 0 ? 0 : input.size / inF;
  const outShape = [...input.shape.slice(0, -1), outF];
  const out = new Tensor(be.empty(rows * outF), outShape);
  const x = input.storage;
  const w = weight.storage;
  const y = out.storage;
  if (rows > 0 && outF > 0) {
    // y[rows, out] = x[rows, in] * W^T (beta 0: every value written, K = 0 included)
    be.sgemm({ transA: false, transB: true, M: rows, N: outF, K: inF, alpha: 1, a: x, lda: inF, b: w, ldb: inF, beta: 0, c: y, ldc: outF });
    if (bias != null) be.binary({ op: BinaryOp.add, a: y, aShape: [rows, outF], b: bias.storage, bShape: [outF], out: y, outShape: [rows, outF] });
  }
  traceOp(fn, [input, weight, bias ?? null], out);
  const inputs = bias != null ? [input, weight, bias] : [input, weight];
  if (!needsGrad(...inputs)) return out;
  return record(out, fn, inputs, (g) => {
    let gx: Storage | null = null;
    let gw: Storage | null = null;
    let gb: Storage | null = null;
    if (input.requiresGrad) {
      // gx[rows, in] = g[rows, out] * W[out, in]
      gx = be.empty(input.size);
      if (rows > 0 && inF > 0) be.sgemm({ transA: false, transB: false, M: rows, N: inF, K: outF, alpha: 1, a: g, lda: outF, b: w, ldb: inF, beta: 0, c: gx, ldc: inF });
    }
    if (weight.requiresGrad) {
      // gW[out, in] = g^T[out, rows] * x[rows, in]
      gw = be.empty(weight.size);
      if (outF > 0 && inF > 0) be.sgemm({ transA: true, transB: false, M: outF, N: inF, K: rows, alpha: 1, a: g, lda: outF, b: x, ldb: inF, beta: 0, c: gw, ldc: inF });
    }
    if (bias != null && bias.requiresGrad) {
      gb = be.zeros(outF);
      if (rows > 0) be.sumToShape({ g, gShape: [rows, outF], out: gb, outShape: [outF] });
    }
    return bias != null ? [gx, gw, gb] : [gx, gw];
  });
}

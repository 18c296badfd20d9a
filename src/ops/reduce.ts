// Reductions over a set of dims: sum, mean, max, min, var. Dims that are not one contiguous
// block are first permuted to the end so the kernel sees an [outer, R, inner] view.
import { backend } from '../backend/index.js';
import { ReduceOp } from '../backend/kernels/reduce.js';
import { record } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { normDims, numelOf, formatShape } from '../tensor/shape.js';
import { BinaryOp } from '../backend/kernels/elementwise.js';
import { emptyFloats, zeroFloats } from '../tensor/alloc.js';

interface Plan {
  /** Input values laid out so the reduced dims form one contiguous block. */
  x: Float32Array;
  outer: number;
  R: number;
  inner: number;
  /** Output shape with and without kept dims. */
  keptShape: number[];
  outShape: number[];
}

function plan(fn: string, x: Tensor, dims: number | number[] | undefined, keepDim: boolean): Plan {
  const nd = x.ndim;
  // An empty list reduces over every dim, as PyTorch's sum(x, dim=[]) does.
  const red = normDims(fn, Array.isArray(dims) && dims.length === 0 ? undefined : dims, nd);
  const keptShape = x.shape.map((d, i) => (red.includes(i) ? 1 : d));
  const outShape = keepDim ? keptShape : x.shape.filter((_, i) => !red.includes(i));
  if (red.length === 0) return { x: x.buffer, outer: x.size, R: 1, inner: 1, keptShape, outShape };
  const contiguous = red[red.length - 1] - red[0] === red.length - 1;
  if (contiguous) {
    const outer = numelOf(x.shape.slice(0, red[0]));
    const R = numelOf(red.map((d) => x.shape[d]));
    const inner = numelOf(x.shape.slice(red[red.length - 1] + 1));
    return { x: x.buffer, outer, R, inner, keptShape, outShape };
  }
  const keep = Array.from({ length: nd }, (_, i) => i).filter((i) => !red.includes(i));
  const perm = [...keep, ...red];
  const buf = emptyFloats(x.size);
  backend.permute(x.buffer, x.shape, perm, buf);
  return { x: buf, outer: numelOf(keep.map((d) => x.shape[d])), R: numelOf(red.map((d) => x.shape[d])), inner: 1, keptShape, outShape };
}

/** Broadcasts a gradient of the kept shape back to the input shape, times `scale`. */
function expandGrad(g: Float32Array, keptShape: number[], shape: number[], scale: number): Float32Array {
  const out = emptyFloats(numelOf(shape));
  const s = new Float32Array([scale]);
  backend.binary(BinaryOp.mul, g, keptShape, s, [], out, shape);
  return out;
}

export function sum(x: Tensor, dims?: number | number[], keepDim = false): Tensor {
  const p = plan('sum', x, dims, keepDim);
  const out = new Tensor(emptyFloats(p.outer * p.inner), p.outShape);
  backend.reduce(ReduceOp.sum, p.x, p.outer, p.R, p.inner, out.buffer);
  return record(out, 'sum', [x], (g) => [expandGrad(g, p.keptShape, x.shape, 1)]);
}

export function mean(x: Tensor, dims?: number | number[], keepDim = false): Tensor {
  const p = plan('mean', x, dims, keepDim);
  if (p.R === 0) throw new RangeError(`mean: cannot take the mean over an empty dimension of shape ${formatShape(x.shape)}`);
  const out = new Tensor(emptyFloats(p.outer * p.inner), p.outShape);
  backend.reduce(ReduceOp.mean, p.x, p.outer, p.R, p.inner, out.buffer);
  return record(out, 'mean', [x], (g) => [expandGrad(g, p.keptShape, x.shape, 1 / p.R)]);
}

function extreme(fn: 'max' | 'min', x: Tensor, dims: number | number[] | undefined, keepDim: boolean): Tensor {
  const p = plan(fn, x, dims, keepDim);
  if (p.R === 0) throw new RangeError(`${fn}: cannot reduce over an empty dimension of shape ${formatShape(x.shape)}`);
  const out = new Tensor(zeroFloats(p.outer * p.inner), p.outShape);
  const idx = new Int32Array(p.outer * p.inner);
  backend.reduce(fn === 'max' ? ReduceOp.max : ReduceOp.min, p.x, p.outer, p.R, p.inner, out.buffer, idx);
  // Gradient convention, as PyTorch: a single dim given as a number is torch.max(x, dim), whose
  // gradient goes to the (first) arg-extreme element of each group; a list of dims or no dims is
  // torch.amax / torch.max(x), whose gradient is split evenly among all elements equal to the
  // extreme (NaN counts as equal to NaN).
  const evenly = typeof dims !== 'number';
  const values = out.buffer;
  return record(out, fn, [x], (g) => {
    const gPlan = zeroFloats(p.outer * p.R * p.inner);
    for (let o = 0; o < p.outer; o++) {
      for (let i = 0; i < p.inner; i++) {
        const k = o * p.inner + i;
        if (!evenly) {
          gPlan[(o * p.R + idx[k]) * p.inner + i] = g[k];
          continue;
        }
        const best = values[k];
        const isTie = (v: number): boolean => (Number.isNaN(best) ? Number.isNaN(v) : v === best);
        let ties = 0;
        for (let r = 0; r < p.R; r++) if (isTie(p.x[(o * p.R + r) * p.inner + i])) ties++;
        const share = g[k] / ties;
        for (let r = 0; r < p.R; r++) {
          const at = (o * p.R + r) * p.inner + i;
          if (isTie(p.x[at])) gPlan[at] = share;
        }
      }
    }
    if (p.x === x.buffer) return [gPlan];
    // Undo the permutation: the plan's layout is [kept..., reduced...].
    const nd = x.ndim;
    const red = normDims(fn, dims, nd);
    const keep = Array.from({ length: nd }, (_, i) => i).filter((i) => !red.includes(i));
    const perm = [...keep, ...red];
    const inv = new Array<number>(nd);
    perm.forEach((d, k) => (inv[d] = k));
    const out2 = emptyFloats(x.size);
    backend.permute(gPlan, perm.map((d) => x.shape[d]), inv, out2);
    return [out2];
  });
}

export function max(x: Tensor, dims?: number | number[], keepDim = false): Tensor {
  return extreme('max', x, dims, keepDim);
}
export function min(x: Tensor, dims?: number | number[], keepDim = false): Tensor {
  return extreme('min', x, dims, keepDim);
}

/** Variance; unbiased (Bessel's correction, N - 1) by default as torch.var. */
export function variance(x: Tensor, dims?: number | number[], options: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor {
  const unbiased = options.unbiased ?? true;
  const p = plan('var', x, dims, options.keepDim ?? false);
  const out = new Tensor(emptyFloats(p.outer * p.inner), p.outShape);
  backend.reduce(ReduceOp.var, p.x, p.outer, p.R, p.inner, out.buffer, unbiased);
  return record(out, 'var', [x], (g) => {
    // d var / d x_i = 2 (x_i - mean) / (R - unbiased).
    const m = zeroFloats(p.outer * p.inner);
    backend.reduce(ReduceOp.mean, p.x, p.outer, p.R, p.inner, m);
    const centered = emptyFloats(x.size);
    backend.binary(BinaryOp.sub, x.buffer, x.shape, m, p.keptShape, centered, x.shape);
    const scaled = expandGrad(g, p.keptShape, x.shape, 2 / (p.R - (unbiased ? 1 : 0)));
    backend.binary(BinaryOp.mul, scaled, x.shape, centered, x.shape, scaled, x.shape);
    return [scaled];
  });
}

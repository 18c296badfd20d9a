// Reductions over a set of dims: sum, mean, max, min, var, std. The kernel reduces any dim set
// of the contiguous input in place (no permute copy).
import { backend } from '../backend/index.js';
import { ReduceOp } from '../backend/kernels/reduce.js';
import { needsGrad } from '../autograd/graph.js';
import { recordHost } from '../autograd/hostRules.js';
import { Tensor } from '../tensor/tensor.js';
import { normDims, numelOf, formatShape } from '../tensor/shape.js';
import { BinaryOp } from '../backend/kernels/elementwise.js';
import { emptyFloats, zeroFloats } from '../backend/cpu/alloc.js';

interface Plan {
  /** Reduced dims, ascending, each in [0, rank). */
  red: number[];
  /** Number of elements reduced into each output. */
  R: number;
  /** Output shape with and without kept dims. */
  keptShape: number[];
  outShape: number[];
}

function plan(fn: string, x: Tensor, dims: number | number[] | undefined, keepDim: boolean): Plan {
  // An empty list reduces over every dim, as PyTorch's sum(x, dim=[]) does.
  const red = normDims(fn, Array.isArray(dims) && dims.length === 0 ? undefined : dims, x.ndim);
  const keptShape = x.shape.map((d, i) => (red.includes(i) ? 1 : d));
  const outShape = keepDim ? keptShape : x.shape.filter((_, i) => !red.includes(i));
  return { red, R: numelOf(red.map((d) => x.shape[d])), keptShape, outShape };
}

/** Element offsets in a contiguous tensor of `shape` of every index of `dims`, row-major. */
function dimOffsets(shape: number[], dims: number[]): Float64Array {
  const strides = shape.map((_, i) => numelOf(shape.slice(i + 1)));
  let off = new Float64Array([0]);
  for (const d of dims) {
    const next = new Float64Array(off.length * shape[d]);
    let k = 0;
    for (const a of off) for (let j = 0; j < shape[d]; j++) next[k++] = a + j * strides[d];
    off = next;
  }
  return off;
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
  const out = new Tensor(emptyFloats(numelOf(p.outShape)), p.outShape);
  backend.reduce(ReduceOp.sum, x.buffer, x.shape, p.red, out.buffer);
  return recordHost(out, 'sum', [x], (g) => [expandGrad(g, p.keptShape, x.shape, 1)]);
}

export function mean(x: Tensor, dims?: number | number[], keepDim = false): Tensor {
  const p = plan('mean', x, dims, keepDim);
  if (p.R === 0) throw new RangeError(`mean: cannot take the mean over an empty dimension of shape ${formatShape(x.shape)}`);
  const out = new Tensor(emptyFloats(numelOf(p.outShape)), p.outShape);
  backend.reduce(ReduceOp.mean, x.buffer, x.shape, p.red, out.buffer);
  return recordHost(out, 'mean', [x], (g) => [expandGrad(g, p.keptShape, x.shape, 1 / p.R)]);
}

function extreme(fn: 'max' | 'min', x: Tensor, dims: number | number[] | undefined, keepDim: boolean): Tensor {
  const p = plan(fn, x, dims, keepDim);
  if (p.R === 0) throw new RangeError(`${fn}: cannot reduce over an empty dimension of shape ${formatShape(x.shape)}`);
  const O = numelOf(p.outShape);
  const out = new Tensor(emptyFloats(O), p.outShape);
  const idx = new Int32Array(O);
  backend.reduce(fn === 'max' ? ReduceOp.max : ReduceOp.min, x.buffer, x.shape, p.red, out.buffer, idx);
  if (!needsGrad(x)) return out;
  // Gradient convention, as PyTorch: a single dim given as a number is torch.max(x, dim), whose
  // gradient goes to the (first) arg-extreme element of each group; a list of dims or no dims is
  // torch.amax / torch.max(x), whose gradient is split evenly among all elements equal to the
  // extreme (NaN counts as equal to NaN).
  const evenly = typeof dims !== 'number';
  const values = out.buffer;
  const xs = x.buffer;
  return recordHost(out, fn, [x], (g) => {
    const kept = dimOffsets(x.shape, x.shape.map((_, i) => i).filter((i) => !p.red.includes(i)));
    const red = dimOffsets(x.shape, p.red);
    const gx = zeroFloats(x.size);
    for (let o = 0; o < O; o++) {
      const base = kept[o];
      if (!evenly) {
        gx[base + red[idx[o]]] = g[o];
        continue;
      }
      const best = values[o];
      const nan = Number.isNaN(best);
      let ties = 0;
      for (let r = 0; r < p.R; r++) {
        const v = xs[base + red[r]];
        if (nan ? Number.isNaN(v) : v === best) ties++;
      }
      const share = g[o] / ties;
      for (let r = 0; r < p.R; r++) {
        const at = base + red[r];
        if (nan ? Number.isNaN(xs[at]) : xs[at] === best) gx[at] = share;
      }
    }
    return [gx];
  });
}

export function max(x: Tensor, dims?: number | number[], keepDim = false): Tensor {
  return extreme('max', x, dims, keepDim);
}
export function min(x: Tensor, dims?: number | number[], keepDim = false): Tensor {
  return extreme('min', x, dims, keepDim);
}

/** Gradient of var over the plan's dims: gx = g * 2 (x - mean) / (R - unbiased), g broadcast. */
function varianceGrad(x: Tensor, p: Plan, g: Float32Array, unbiased: boolean): Float32Array {
  const m = emptyFloats(numelOf(p.keptShape));
  backend.reduce(ReduceOp.mean, x.buffer, x.shape, p.red, m);
  const centered = emptyFloats(x.size);
  backend.binary(BinaryOp.sub, x.buffer, x.shape, m, p.keptShape, centered, x.shape);
  const scaled = expandGrad(g, p.keptShape, x.shape, 2 / (p.R - (unbiased ? 1 : 0)));
  backend.binary(BinaryOp.mul, scaled, x.shape, centered, x.shape, scaled, x.shape);
  return scaled;
}

/** Variance; unbiased (Bessel's correction, N - 1) by default as torch.var. */
export function variance(x: Tensor, dims?: number | number[], options: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor {
  const unbiased = options.unbiased ?? true;
  const p = plan('var', x, dims, options.keepDim ?? false);
  const out = new Tensor(emptyFloats(numelOf(p.outShape)), p.outShape);
  backend.reduce(ReduceOp.var, x.buffer, x.shape, p.red, out.buffer, unbiased);
  return recordHost(out, 'var', [x], (g) => [varianceGrad(x, p, g, unbiased)]);
}

/** Standard deviation sqrt(var); unbiased by default as torch.std. */
export function std(x: Tensor, dims?: number | number[], options: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor {
  const unbiased = options.unbiased ?? true;
  const p = plan('std', x, dims, options.keepDim ?? false);
  const out = new Tensor(emptyFloats(numelOf(p.outShape)), p.outShape);
  backend.reduce(ReduceOp.std, x.buffer, x.shape, p.red, out.buffer, unbiased);
  const s = out.buffer;
  // d std = d var / (2 std).
  return recordHost(out, 'std', [x], (g) => [varianceGrad(x, p, g.map((v, i) => v / (2 * s[i])), unbiased)]);
}

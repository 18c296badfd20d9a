// Reductions over a set of dims: sum, mean, max, min, var, std. The kernel reduces any dim set
// of the contiguous input in place (no permute copy). Every op runs on the backend of its input's
// device and only passes storage handles to its kernels.
import { backendFor, type Backend, type Storage } from '../backend/index.js';
import { ReduceOp } from '../backend/kernels/reduce.js';
import { BinaryOp, UnaryOp } from '../backend/kernels/elementwise.js';
import { needsGrad, record } from '../autograd/graph.js';
import { Tensor } from '../tensor/core.js';
import { normDims, numelOf, formatShape } from '../tensor/shape.js';

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

/** Broadcasts a gradient of the kept shape back to the input shape, times `scale`. */
function expandGrad(be: Backend, g: Storage, keptShape: number[], shape: number[], scale: number): Storage {
  const out = be.empty(numelOf(shape));
  const s = be.full(1, scale);
  be.binary({ op: BinaryOp.mul, a: g, aShape: keptShape, b: s, bShape: [], out, outShape: shape });
  be.release(s);
  return out;
}

/** The reduction `op` of x over the plan's dims, as a new tensor of the plan's output shape. */
function reduced(be: Backend, op: number, x: Tensor, p: Plan, extra: { index?: Storage; unbiased?: boolean } = {}): Tensor {
  const out = new Tensor(be.empty(numelOf(p.outShape)), p.outShape);
  be.reduce({ op, x: x.storage, shape: x.shape, dims: p.red, out: out.storage, ...extra });
  return out;
}

export function sum(x: Tensor, dims?: number | number[], keepDim = false): Tensor {
  const be = backendFor('sum', x);
  const p = plan('sum', x, dims, keepDim);
  const out = reduced(be, ReduceOp.sum, x, p);
  return record(out, 'sum', [x], (g) => [expandGrad(be, g, p.keptShape, x.shape, 1)]);
}

export function mean(x: Tensor, dims?: number | number[], keepDim = false): Tensor {
  const be = backendFor('mean', x);
  const p = plan('mean', x, dims, keepDim);
  if (p.R === 0) throw new RangeError(`mean: cannot take the mean over an empty dimension of shape ${formatShape(x.shape)}`);
  const out = reduced(be, ReduceOp.mean, x, p);
  return record(out, 'mean', [x], (g) => [expandGrad(be, g, p.keptShape, x.shape, 1 / p.R)]);
}

function extreme(fn: 'max' | 'min', x: Tensor, dims: number | number[] | undefined, keepDim: boolean): Tensor {
  const be = backendFor(fn, x);
  const p = plan(fn, x, dims, keepDim);
  if (p.R === 0) throw new RangeError(`${fn}: cannot reduce over an empty dimension of shape ${formatShape(x.shape)}`);
  const op = fn === 'max' ? ReduceOp.max : ReduceOp.min;
  if (!needsGrad(x)) return reduced(be, op, x, p);
  // Gradient convention, as PyTorch: a single dim given as a number is torch.max(x, dim), whose
  // gradient goes to the (first) arg-extreme element of each group; a list of dims or no dims is
  // torch.amax / torch.max(x), whose gradient is split evenly among all elements equal to the
  // extreme (NaN counts as equal to NaN).
  const index = typeof dims === 'number' ? be.emptyIndex(numelOf(p.outShape)) : null;
  const out = reduced(be, op, x, p, index === null ? {} : { index });
  const xs = x.storage;
  const values = out.storage;
  return record(out, fn, [x], (g) => {
    const gx = be.empty(x.size);
    be.extremeBackward({ x: xs, shape: x.shape, dims: p.red, values, index, g, gx });
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
function varianceGrad(be: Backend, x: Tensor, p: Plan, g: Storage, unbiased: boolean): Storage {
  const m = be.empty(numelOf(p.keptShape));
  be.reduce({ op: ReduceOp.mean, x: x.storage, shape: x.shape, dims: p.red, out: m });
  const centered = be.empty(x.size);
  be.binary({ op: BinaryOp.sub, a: x.storage, aShape: x.shape, b: m, bShape: p.keptShape, out: centered, outShape: x.shape });
  be.release(m);
  const scaled = expandGrad(be, g, p.keptShape, x.shape, 2 / (p.R - (unbiased ? 1 : 0)));
  be.binary({ op: BinaryOp.mul, a: scaled, aShape: x.shape, b: centered, bShape: x.shape, out: scaled, outShape: x.shape });
  be.release(centered);
  return scaled;
}

/** Variance; unbiased (Bessel's correction, N - 1) by default as torch.var. */
export function variance(x: Tensor, dims?: number | number[], options: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor {
  const be = backendFor('var', x);
  const unbiased = options.unbiased ?? true;
  const p = plan('var', x, dims, options.keepDim ?? false);
  const out = reduced(be, ReduceOp.var, x, p, { unbiased });
  return record(out, 'var', [x], (g) => [varianceGrad(be, x, p, g, unbiased)]);
}

/** Standard deviation sqrt(var); unbiased by default as torch.std. */
export function std(x: Tensor, dims?: number | number[], options: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor {
  const be = backendFor('std', x);
  const unbiased = options.unbiased ?? true;
  const p = plan('std', x, dims, options.keepDim ?? false);
  const out = reduced(be, ReduceOp.std, x, p, { unbiased });
  const s = out.storage;
  // d std = d var / (2 std).
  return record(out, 'std', [x], (g) => {
    const gv = be.empty(g.length);
    be.binary({ op: BinaryOp.div, a: g, aShape: [g.length], b: s, bShape: [g.length], out: gv, outShape: [g.length] });
    be.unary({ op: UnaryOp.mulScalar, x: gv, y: gv, p0: 0.5 });
    const gx = varianceGrad(be, x, p, gv, unbiased);
    be.release(gv);
    return [gx];
  });
}

// Elementwise ops with broadcasting, and their gradient rules. Every op runs on the backend of
// its inputs' device (backendFor) and only passes storage handles to its kernels.
import { backendFor, backendOn, getDefaultDevice, type Backend, type Device, type Storage } from '../backend/index.js';
import { BinaryOp, UnaryOp, type UnaryOpName } from '../backend/kernels/elementwise.js';
import { needsGrad, record } from '../autograd/graph.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/core.js';
import { broadcastShapes, sameShape, numelOf } from '../tensor/shape.js';

/** A 0-d tensor holding v (for broadcasting in binary ops), on `device` (default: the default device). */
export function scalarTensor(v: number, device: Device = getDefaultDevice()): Tensor {
  return new Tensor(backendOn(device, 'scalarTensor').full(1, v), []);
}

/**
 * Reduces a broadcast gradient g (of shape `from`) back to the shape `to` of the input it flowed
 * from: g itself when the shapes agree, else new storage on g's device.
 */
export function reduceGradTo(g: Storage, from: number[], to: number[]): Storage {
  if (sameShape(from, to)) return g;
  const be = backendOn(g.device, 'reduceGradTo');
  const out = be.empty(numelOf(to));
  be.sumToShape({ g, gShape: from, out, outShape: to });
  return out;
}

/** reduceGradTo for a temporary t nothing else refers to: t is released when a reduced copy replaces it. */
function reduceTempTo(be: Backend, t: Storage, from: number[], to: number[]): Storage {
  const r = reduceGradTo(t, from, to);
  if (r !== t) be.release(t);
  return r;
}

function binaryRaw(be: Backend, op: number, a: Tensor, b: Tensor, fn: string): { out: Tensor; shape: number[] } {
  const shape = broadcastShapes(fn, a.shape, b.shape);
  const out = new Tensor(be.empty(numelOf(shape)), shape);
  be.binary({ op, a: a.storage, aShape: a.shape, b: b.storage, bShape: b.shape, out: out.storage, outShape: shape });
  return { out, shape };
}

function unaryRaw(be: Backend, op: UnaryOpName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  const out = new Tensor(be.empty(x.size), x.shape);
  be.unary({ op: UnaryOp[op], x: x.storage, y: out.storage, p0, p1 });
  return out;
}

/** A unary op whose gradient is computed by the unaryBackward kernel. */
function unaryOp(name: string, op: UnaryOpName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  const be = backendFor(name, x);
  const out = unaryRaw(be, op, x, p0, p1);
  traceOp(name, [x], out, { p0, p1 });
  if (!needsGrad(x)) return out;
  const xs = x.storage;
  const ys = out.storage;
  return record(out, name, [x], (g) => {
    const gx = be.empty(g.length);
    be.unaryBackward({ op: UnaryOp[op], x: xs, y: ys, gy: g, gx, p0, p1 });
    return [gx];
  });
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    const out = unaryRaw(backendFor('add', a), 'addScalar', a, b);
    traceOp('addScalar', [a], out, { value: b });
    return record(out, 'add', [a], (g) => [g]);
  }
  const { out, shape } = binaryRaw(backendFor('add', a, b), BinaryOp.add, a, b, 'add');
  traceOp('add', [a, b], out);
  return record(out, 'add', [a, b], (g) => [
    a.requiresGrad ? reduceGradTo(g, shape, a.shape) : null,
    b.requiresGrad ? reduceGradTo(g, shape, b.shape) : null,
  ]);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    const out = unaryRaw(backendFor('sub', a), 'addScalar', a, -b);
    return record(out, 'sub', [a], (g) => [g]);
  }
  const be = backendFor('sub', a, b);
  const { out, shape } = binaryRaw(be, BinaryOp.sub, a, b, 'sub');
  return record(out, 'sub', [a, b], (g) => [
    a.requiresGrad ? reduceGradTo(g, shape, a.shape) : null,
    b.requiresGrad ? reduceTempTo(be, negRaw(g), shape, b.shape) : null,
  ]);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    const be = backendFor('mul', a);
    const out = unaryRaw(be, 'mulScalar', a, b);
    return record(out, 'mul', [a], (g) => [scaleRaw(be, g, b)]);
  }
  const be = backendFor('mul', a, b);
  const { out, shape } = binaryRaw(be, BinaryOp.mul, a, b, 'mul');
  return record(out, 'mul', [a, b], (g) => [
    a.requiresGrad ? reduceTempTo(be, mulRaw(be, g, shape, b), shape, a.shape) : null,
    b.requiresGrad ? reduceTempTo(be, mulRaw(be, g, shape, a), shape, b.shape) : null,
  ]);
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    const be = backendFor('div', a);
    const out = unaryRaw(be, 'mulScalar', a, 1 / b);
    return record(out, 'div', [a], (g) => [scaleRaw(be, g, 1 / b)]);
  }
  const be = backendFor('div', a, b);
  const { out, shape } = binaryRaw(be, BinaryOp.div, a, b, 'div');
  return record(out, 'div', [a, b], (g) => {
    // d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -out/b.
    let ga: Storage | null = null;
    let gb: Storage | null = null;
    if (a.requiresGrad) {
      const t = be.empty(g.length);
      be.binary({ op: BinaryOp.div, a: g, aShape: shape, b: b.storage, bShape: b.shape, out: t, outShape: shape });
      ga = reduceTempTo(be, t, shape, a.shape);
    }
    if (b.requiresGrad) {
      const t = be.empty(g.length);
      be.binary({ op: BinaryOp.mul, a: g, aShape: shape, b: out.storage, bShape: shape, out: t, outShape: shape });
      be.binary({ op: BinaryOp.div, a: t, aShape: shape, b: b.storage, bShape: b.shape, out: t, outShape: shape });
      be.unary({ op: UnaryOp.neg, x: t, y: t });
      gb = reduceTempTo(be, t, shape, b.shape);
    }
    return [ga, gb];
  });
}

/** Elementwise maximum / minimum of two tensors (gradient to the larger / smaller; ties split as PyTorch: to both halves). */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return minMax(a, b, true);
}
export function minimum(a: Tensor, b: Tensor): Tensor {
  return minMax(a, b, false);
}
function minMax(a: Tensor, b: Tensor, isMax: boolean): Tensor {
  const name = isMax ? 'maximum' : 'minimum';
  const be = backendFor(name, a, b);
  const { out, shape } = binaryRaw(be, isMax ? BinaryOp.max : BinaryOp.min, a, b, name);
  return record(out, name, [a, b], (g) => {
    const ae = expandRaw(be, a, shape);
    const bx = expandRaw(be, b, shape);
    const ga = be.empty(g.length);
    const gb = be.empty(g.length);
    be.minMaxBackward({ isMax, a: ae, b: bx, g, ga, gb });
    if (ae !== a.storage) be.release(ae);
    if (bx !== b.storage) be.release(bx);
    return [reduceTempTo(be, ga, shape, a.shape), reduceTempTo(be, gb, shape, b.shape)];
  });
}

export function pow(x: Tensor, exponent: number): Tensor {
  return unaryOp('pow', 'powScalar', x, exponent);
}
export function neg(x: Tensor): Tensor {
  return unaryOp('neg', 'neg', x);
}
export function exp(x: Tensor): Tensor {
  return unaryOp('exp', 'exp', x);
}
export function log(x: Tensor): Tensor {
  return unaryOp('log', 'log', x);
}
export function sqrt(x: Tensor): Tensor {
  return unaryOp('sqrt', 'sqrt', x);
}
export function rsqrt(x: Tensor): Tensor {
  return unaryOp('rsqrt', 'rsqrt', x);
}
export function abs(x: Tensor): Tensor {
  return unaryOp('abs', 'abs', x);
}
export function square(x: Tensor): Tensor {
  return unaryOp('square', 'square', x);
}
export function sign(x: Tensor): Tensor {
  return unaryOp('sign', 'sign', x);
}
export function relu(x: Tensor): Tensor {
  return unaryOp('relu', 'relu', x);
}
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return unaryOp('leakyRelu', 'leakyRelu', x, negativeSlope);
}
export function sigmoid(x: Tensor): Tensor {
  return unaryOp('sigmoid', 'sigmoid', x);
}
export function tanh(x: Tensor): Tensor {
  return unaryOp('tanh', 'tanh', x);
}
/** GELU with the exact erf form (PyTorch's default approximate='none'). */
export function gelu(x: Tensor): Tensor {
  return unaryOp('gelu', 'gelu', x);
}
/** Clamps to [min, max]; null leaves that side open. */
export function clamp(x: Tensor, min: number | null, max: number | null): Tensor {
  if (min !== null && max !== null && min > max) {
    throw new RangeError(`clamp: min must be <= max, got min=${min}, max=${max}`);
  }
  return unaryOp('clamp', 'clamp', x, min ?? -Infinity, max ?? Infinity);
}

// Raw (non-recording) helpers for gradient rules: new storage on the device of their input.

/** -g, as new storage on g's device. */
export function negRaw(g: Storage): Storage {
  const be = backendOn(g.device, 'negRaw');
  const out = be.empty(g.length);
  be.unary({ op: UnaryOp.neg, x: g, y: out });
  return out;
}
function scaleRaw(be: Backend, g: Storage, s: number): Storage {
  const out = be.empty(g.length);
  be.unary({ op: UnaryOp.mulScalar, x: g, y: out, p0: s });
  return out;
}
function mulRaw(be: Backend, g: Storage, shape: number[], b: Tensor): Storage {
  const out = be.empty(g.length);
  be.binary({ op: BinaryOp.mul, a: g, aShape: shape, b: b.storage, bShape: b.shape, out, outShape: shape });
  return out;
}
/** t's values broadcast to `shape`: t's own storage when the shapes agree, else new storage. */
function expandRaw(be: Backend, t: Tensor, shape: number[]): Storage {
  if (sameShape(t.shape, shape)) return t.storage;
  const out = be.empty(numelOf(shape));
  const zero = be.full(1, 0);
  be.binary({ op: BinaryOp.add, a: t.storage, aShape: t.shape, b: zero, bShape: [], out, outShape: shape });
  be.release(zero);
  return out;
}

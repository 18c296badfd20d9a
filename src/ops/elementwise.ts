// Elementwise ops with broadcasting, and their gradient rules.
import { backend } from '../backend/index.js';
import { BinaryOp, UnaryOp, type UnaryOpName } from '../backend/kernels/elementwise.js';
import { needsGrad } from '../autograd/graph.js';
import { recordHost } from '../autograd/hostRules.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/tensor.js';
import { broadcastShapes, sameShape, numelOf } from '../tensor/shape.js';
import { emptyFloats, zeroFloats } from '../backend/cpu/alloc.js';

function scalarTensor(v: number): Tensor {
  return new Tensor(new Float32Array([v]), []);
}

/** Reduces a broadcast gradient back to the shape of the input it flowed from. */
export function reduceGradTo(g: Float32Array, from: number[], to: number[]): Float32Array {
  if (sameShape(from, to)) return g;
  const out = emptyFloats(numelOf(to));
  backend.sumToShape(g, from, out, to);
  return out;
}

function binaryRaw(op: number, a: Tensor, b: Tensor, fn: string): { out: Tensor; shape: number[] } {
  const shape = broadcastShapes(fn, a.shape, b.shape);
  const out = new Tensor(emptyFloats(numelOf(shape)), shape);
  backend.binary(op, a.buffer, a.shape, b.buffer, b.shape, out.buffer, shape);
  return { out, shape };
}

function unaryRaw(op: UnaryOpName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  const out = new Tensor(emptyFloats(x.size), x.shape);
  backend.unary(UnaryOp[op], x.buffer, out.buffer, p0, p1);
  return out;
}

/** A unary op whose gradient is computed by the native unaryBackward kernel. */
function unaryOp(name: string, op: UnaryOpName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  const out = unaryRaw(op, x, p0, p1);
  traceOp(name, [x], out, { p0, p1 });
  if (!needsGrad(x)) return out;
  const xb = x.buffer;
  const yb = out.buffer;
  return recordHost(out, name, [x], (g) => {
    const gx = emptyFloats(g.length);
    backend.unaryBackward(UnaryOp[op], xb, yb, g, gx, p0, p1);
    return [gx];
  });
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    const out = unaryRaw('addScalar', a, b);
    traceOp('addScalar', [a], out, { value: b });
    return recordHost(out, 'add', [a], (g) => [g]);
  }
  const { out, shape } = binaryRaw(BinaryOp.add, a, b, 'add');
  traceOp('add', [a, b], out);
  return recordHost(out, 'add', [a, b], (g) => [
    a.requiresGrad ? reduceGradTo(g, shape, a.shape) : null,
    b.requiresGrad ? reduceGradTo(g, shape, b.shape) : null,
  ]);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    const out = unaryRaw('addScalar', a, -b);
    return recordHost(out, 'sub', [a], (g) => [g]);
  }
  const { out, shape } = binaryRaw(BinaryOp.sub, a, b, 'sub');
  return recordHost(out, 'sub', [a, b], (g) => [
    a.requiresGrad ? reduceGradTo(g, shape, a.shape) : null,
    b.requiresGrad ? reduceGradTo(negRaw(g), shape, b.shape) : null,
  ]);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    const out = unaryRaw('mulScalar', a, b);
    return recordHost(out, 'mul', [a], (g) => [scaleRaw(g, b)]);
  }
  const { out, shape } = binaryRaw(BinaryOp.mul, a, b, 'mul');
  return recordHost(out, 'mul', [a, b], (g) => [
    a.requiresGrad ? reduceGradTo(mulRaw(g, shape, b), shape, a.shape) : null,
    b.requiresGrad ? reduceGradTo(mulRaw(g, shape, a), shape, b.shape) : null,
  ]);
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    const out = unaryRaw('mulScalar', a, 1 / b);
    return recordHost(out, 'div', [a], (g) => [scaleRaw(g, 1 / b)]);
  }
  const { out, shape } = binaryRaw(BinaryOp.div, a, b, 'div');
  return recordHost(out, 'div', [a, b], (g) => {
    // d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -out/b.
    let ga: Float32Array | null = null;
    let gb: Float32Array | null = null;
    if (a.requiresGrad) {
      const t = emptyFloats(g.length);
      backend.binary(BinaryOp.div, g, shape, b.buffer, b.shape, t, shape);
      ga = reduceGradTo(t, shape, a.shape);
    }
    if (b.requiresGrad) {
      const t = emptyFloats(g.length);
      backend.binary(BinaryOp.mul, g, shape, out.buffer, shape, t, shape);
      backend.binary(BinaryOp.div, t, shape, b.buffer, b.shape, t, shape);
      gb = reduceGradTo(negRaw(t), shape, b.shape);
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
  const { out, shape } = binaryRaw(isMax ? BinaryOp.max : BinaryOp.min, a, b, name);
  return recordHost(out, name, [a, b], (g) => {
    const ae = expandRaw(a, shape);
    const be = expandRaw(b, shape);
    const ga = zeroFloats(g.length);
    const gb = zeroFloats(g.length);
    for (let i = 0; i < g.length; i++) {
      if (ae[i] === be[i]) {
        ga[i] = g[i] / 2;
        gb[i] = g[i] / 2;
      } else if ((ae[i] > be[i]) === isMax) ga[i] = g[i];
      else gb[i] = g[i];
    }
    return [reduceGradTo(ga, shape, a.shape), reduceGradTo(gb, shape, b.shape)];
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

/** Scalar as a 0-d tensor (for broadcasting in binary ops). */
export { scalarTensor };

// Raw (non-recording) helpers for gradient rules.
export function negRaw(g: Float32Array): Float32Array {
  const out = emptyFloats(g.length);
  backend.unary(UnaryOp.neg, g, out, 0, 0);
  return out;
}
function scaleRaw(g: Float32Array, s: number): Float32Array {
  const out = emptyFloats(g.length);
  backend.unary(UnaryOp.mulScalar, g, out, s, 0);
  return out;
}
function mulRaw(g: Float32Array, shape: number[], b: Tensor): Float32Array {
  const out = emptyFloats(g.length);
  backend.binary(BinaryOp.mul, g, shape, b.buffer, b.shape, out, shape);
  return out;
}
function expandRaw(t: Tensor, shape: number[]): Float32Array {
  if (sameShape(t.shape, shape)) return t.buffer;
  const out = emptyFloats(numelOf(shape));
  const zero = new Float32Array(1);
  backend.binary(BinaryOp.add, t.buffer, t.shape, zero, [], out, shape);
  return out;
}

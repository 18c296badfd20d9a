// Elementwise kernels. Op codes match native/elementwise.cc. Shapes are row-major; broadcasting
// follows NumPy (trailing dims aligned, size-1 dims repeated).
import type { Storage } from '../storage.js';

export const BinaryOp = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, max: 5, min: 6 } as const;
export type BinaryOpName = keyof typeof BinaryOp;

export const UnaryOp = {
  neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, relu: 5, sigmoid: 6, tanh: 7, gelu: 8, leakyRelu: 9,
  clamp: 10, powScalar: 11, addScalar: 12, mulScalar: 13, rsubScalar: 14, rdivScalar: 15, square: 16,
  sign: 17, rsqrt: 18,
} as const;
export type UnaryOpName = keyof typeof UnaryOp;

/** out = a (op) b, a and b broadcast to outShape. `out` may be a or b (same shape as out) for in-place use. */
export interface BinaryArgs {
  /** A BinaryOp code. */
  op: number;
  a: Storage;
  aShape: number[];
  b: Storage;
  bShape: number[];
  out: Storage;
  outShape: number[];
}

/** y = f(x; p0, p1), elementwise over x.length values. */
export interface UnaryArgs {
  /** A UnaryOp code. */
  op: number;
  x: Storage;
  y: Storage;
  /**
   * The op's scalar parameters (0 when omitted): leakyRelu slope (p0), clamp bounds (p0 = min,
   * p1 = max), powScalar exponent, addScalar/mulScalar/rsubScalar/rdivScalar operand (p0).
   */
  p0?: number;
  p1?: number;
}

/** gx = gy * f'(x), with the forward's saved input x and output y (op and p0/p1 as UnaryArgs). */
export interface UnaryBackwardArgs {
  op: number;
  x: Storage;
  y: Storage;
  gy: Storage;
  gx: Storage;
  p0?: number;
  p1?: number;
}

/** out (shape outShape) = g (shape gShape) summed over the dims outShape broadcasts to gShape. */
export interface SumToShapeArgs {
  g: Storage;
  gShape: number[];
  out: Storage;
  outShape: number[];
}

/**
 * Gradients of elementwise maximum (isMax) / minimum: a, b and g hold n values each (a and b
 * already broadcast to g's shape); ga and gb (n values each) receive g where a / b is the
 * extreme, and g / 2 each where a === b (PyTorch's tie rule). Every value of ga and gb is written.
 */
export interface MinMaxBackwardArgs {
  isMax: boolean;
  a: Storage;
  b: Storage;
  g: Storage;
  ga: Storage;
  gb: Storage;
}

export interface ElementwiseKernels {
  binary(args: BinaryArgs): void;
  unary(args: UnaryArgs): void;
  unaryBackward(args: UnaryBackwardArgs): void;
  sumToShape(args: SumToShapeArgs): void;
  minMaxBackward(args: MinMaxBackwardArgs): void;
}

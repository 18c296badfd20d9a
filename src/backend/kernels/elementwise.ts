// Elementwise kernels. Op codes match native/elementwise.cc.
export const BinaryOp = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, max: 5, min: 6 } as const;
export type BinaryOpName = keyof typeof BinaryOp;

export const UnaryOp = {
  neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, relu: 5, sigmoid: 6, tanh: 7, gelu: 8, leakyRelu: 9,
  clamp: 10, powScalar: 11, addScalar: 12, mulScalar: 13, rsubScalar: 14, rdivScalar: 15, square: 16,
  sign: 17, rsqrt: 18,
} as const;
export type UnaryOpName = keyof typeof UnaryOp;

export interface ElementwiseKernels {
  /** out = a (op) b with NumPy broadcasting to outShape. */
  binary(op: number, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], out: Float32Array, outShape: number[]): void;
  /** y = f(x; p0, p1). */
  unary(op: number, x: Float32Array, y: Float32Array, p0: number, p1: number): void;
  /** gx = gy * f'(x) using the saved input x and output y. */
  unaryBackward(op: number, x: Float32Array, y: Float32Array, gy: Float32Array, gx: Float32Array, p0: number, p1: number): void;
  /** out (shape `to`) = g (shape `from`) summed over the dims `to` broadcasts. */
  sumToShape(g: Float32Array, from: number[], out: Float32Array, to: number[]): void;
}

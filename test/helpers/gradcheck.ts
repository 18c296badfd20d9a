// Finite-difference gradient checks against a float64 reference.
//
// The op under test runs in float32 with autograd; the reference is a float64 implementation of
// the same forward written in the test. We compare the autograd gradient of
// L = sum(w * op(inputs)) (w: fixed random weights) with central differences of the float64
// reference, L64(x + h e_i) - L64(x - h e_i) / 2h. The float64 reference makes the numerical
// gradient accurate to ~1e-8, so the comparison measures the float32 kernel's error only.
import { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from './assert.js';

export type Reference = (inputs: Float64Array[]) => Float64Array;

export interface GradcheckOptions {
  h?: number;
  rtol?: number;
  atol?: number;
  /** Which inputs to check (default: all). */
  check?: number[];
  seed?: number;
}

export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function gradcheck(
  name: string,
  op: (inputs: Tensor[]) => Tensor,
  reference: Reference,
  inputs: { data: Float32Array; shape: number[] }[],
  options: GradcheckOptions = {},
): void {
  const h = options.h ?? 1e-5;
  const rnd = lcg(options.seed ?? 7);
  const tensors = inputs.map((x) => new Tensor(x.data.slice(), x.shape, { requiresGrad: true }));
  const out = op(tensors);
  const w = new Float32Array(out.size);
  for (let i = 0; i < w.length; i++) w[i] = rnd() * 2 - 1;
  // Forward check against the reference.
  const ref64 = reference(inputs.map((x) => Float64Array.from(x.data)));
  assertClose(out.buffer, ref64, `${name}: forward vs float64 reference`, { rtol: options.rtol ?? 1e-4, atol: options.atol ?? 1e-5 });
  out.backward(new Tensor(w, out.shape));
  const which = options.check ?? inputs.map((_, i) => i);
  for (const k of which) {
    const num = finiteDifferences(reference, inputs, w, k, h);
    const g = tensors[k].grad;
    if (g === null) throw new Error(`${name}: input ${k} received no gradient`);
    assertClose(g.buffer, num, `${name}: gradient of input ${k} vs finite differences`, { rtol: options.rtol ?? 1e-3, atol: options.atol ?? 1e-4 });
  }
}

/**
 * Central differences of L = sum(w * reference(inputs)) with respect to input k, in float64
 * (step h scaled by max(1, |x|)).
 */
export function finiteDifferences(reference: Reference, inputs: { data: Float32Array }[], w: ArrayLike<number>, k: number, h = 1e-5): Float64Array {
  const x64 = inputs.map((x) => Float64Array.from(x.data));
  const num = new Float64Array(inputs[k].data.length);
  const loss = (): number => {
    const y = reference(x64);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  for (let i = 0; i < num.length; i++) {
    const orig = x64[k][i];
    const step = h * Math.max(1, Math.abs(orig));
    x64[k][i] = orig + step;
    const lp = loss();
    x64[k][i] = orig - step;
    const lm = loss();
    x64[k][i] = orig;
    num[i] = (lp - lm) / (2 * step);
  }
  return num;
}

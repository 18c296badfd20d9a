// Finite-difference gradient checks of the norm ops against float64 references.
import { describe, it } from 'node:test';
import { functional as F, randn } from '../../src/index.js';
import { gradcheck } from '../helpers/gradcheck.js';

/** float64 normalization of x [N, C, S] with statistics over the index sets given by keyOf. */
function normalize64(x: Float64Array, w: Float64Array, b: Float64Array, N: number, C: number, S: number, keyOf: (n: number, c: number) => number, eps = 1e-5): Float64Array {
  const sums = new Map<number, { s: number; q: number; m: number }>();
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) {
    const k = keyOf(n, c);
    const e = sums.get(k) ?? { s: 0, q: 0, m: 0 };
    const v = x[(n * C + c) * S + s];
    e.s += v;
    e.q += v * v;
    e.m += 1;
    sums.set(k, e);
  }
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const e = sums.get(keyOf(n, c))!;
    const mean = e.s / e.m;
    const r = 1 / Math.sqrt(e.q / e.m - mean * mean + eps);
    for (let s = 0; s < S; s++) {
      const i = (n * C + c) * S + s;
      y[i] = (x[i] - mean) * r * w[c] + b[c];
    }
  }
  return y;
}

const data = (shape: number[], seed: number, shift = 0): { data: Float32Array; shape: number[] } => ({
  data: randn(shape, { seed }).buffer.map((v) => v + shift),
  shape,
});

describe('norm gradients against finite differences of float64 references', () => {
  it('batchNorm (training) for x, weight and bias', () => {
    const [N, C, S] = [3, 2, 5];
    gradcheck(
      'batchNorm',
      ([x, w, b]) => F.batchNorm(x, null, null, w, b, { training: true }),
      ([x, w, b]) => normalize64(x, w, b, N, C, S, (_n, c) => c),
      [data([N, C, S], 1, 0.5), data([C], 2, 1), data([C], 3)],
    );
  });

  it('groupNorm for x, weight and bias', () => {
    const [N, C, S] = [2, 4, 3];
    gradcheck(
      'groupNorm',
      ([x, w, b]) => F.groupNorm(x, 2, w, b),
      ([x, w, b]) => normalize64(x, w, b, N, C, S, (n, c) => n * 2 + Math.floor(c / 2)),
      [data([N, C, S], 4), data([C], 5, 1), data([C], 6)],
    );
  });
});

// float64 references for the norm gradient checks.
import { randn } from '../../src/index.js';

/**
 * float64 post((x - mean) / sqrt(var + eps) * w + b) of x [N, C, S], with the mean and the
 * biased variance over the index sets that keyOf(n, c) names (per channel: BN; per sample and
 * group: GN). post is the identity unless given (a fused activation).
 */
export function normalize64(
  x: Float64Array, w: Float64Array, b: Float64Array, N: number, C: number, S: number, keyOf: (n: number, c: number) => number,
  eps = 1e-5, post: (v: number) => number = (v) => v,
): Float64Array {
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
      y[i] = post((x[i] - mean) * r * w[c] + b[c]);
    }
  }
  return y;
}

/** Seeded standard-normal values (shifted) with their shape, as gradcheck inputs. */
export const seededInput = (shape: number[], seed: number, shift = 0): { data: Float32Array; shape: number[] } => ({
  data: randn(shape, { seed }).data().map((v) => v + shift),
  shape,
});

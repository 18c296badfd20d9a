// The fused LocalResponseNorm kernels (native/kernels/local_response_norm.cc) on every supported
// ISA: against float64 references and finite differences for window sizes below, equal to and
// above the channel count, inputs of rank 3 to 5, position blocks with partial 8-lane chunks, and
// bitwise equal with 1 and 2 threads; the op on every device.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, randn, setNumThreads, getNumThreads, functional as F } from '../../src/index.js';
import { forEachDevice } from '../helpers/device.js';
import { forEachIsa, useIsa } from '../helpers/isa.js';
import { assertClose } from '../helpers/assert.js';
import { gradcheck } from '../helpers/gradcheck.js';

interface Lrn {
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

/**
 * float64 LocalResponseNorm of x (shape [N, C, *]) and the input gradient for output gradient gy:
 * s_c = k + alpha / size * sum of x^2 over [c - floor(size/2), c + floor((size-1)/2)],
 * y_c = x_c s_c^-beta, gx_j = gy_j s_j^-beta - 2 alpha beta / size * x_j * sum over c with j in
 * c's window of gy_c x_c s_c^(-beta-1).
 */
function reference(x: ArrayLike<number>, shape: number[], o: Lrn, gy: ArrayLike<number> | null = null) {
  const [N, C] = shape;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  const before = Math.floor(o.size / 2);
  const after = Math.floor((o.size - 1) / 2);
  const y = new Float64Array(x.length);
  const gx = new Float64Array(x.length);
  for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
    const idx = (c: number): number => (n * C + c) * S + s;
    const sc = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      let q = 0;
      for (let d = c - before; d <= c + after; d++) if (d >= 0 && d < C) q += x[idx(d)] ** 2;
      sc[c] = o.k + (o.alpha / o.size) * q;
      y[idx(c)] = x[idx(c)] * sc[c] ** -o.beta;
    }
    if (gy === null) continue;
    for (let j = 0; j < C; j++) {
      let t = 0;
      for (let c = j - after; c <= j + before; c++) if (c >= 0 && c < C) t += gy[idx(c)] * x[idx(c)] * sc[c] ** (-o.beta - 1);
      gx[idx(j)] = gy[idx(j)] * sc[j] ** -o.beta - ((2 * o.alpha * o.beta) / o.size) * x[idx(j)] * t;
    }
  }
  return { y, gx };
}

function data(shape: number[], seed: number, scale: number, shift = 0): { data: Float32Array; shape: number[] } {
  return { data: randn(shape, { seed }).buffer.map((e) => e * scale + shift), shape };
}

/** y and x.grad of the op for output gradient gy. */
function run(x: { data: Float32Array; shape: number[] }, o: Lrn, gy: Float32Array): Float32Array[] {
  const xt = new Tensor(x.data.slice(), x.shape, { requiresGrad: true });
  const y = F.localResponseNorm(xt, o.size, o);
  y.backward(new Tensor(gy, x.shape));
  return [y.buffer, xt.grad!.buffer];
}

describe('LocalResponseNorm kernels on every supported ISA', () => {
  forEachIsa((isa) => {
    for (const [shape, o] of [
      [[2, 6, 2, 5], { size: 5, alpha: 0.5, beta: 0.75, k: 1 }],
      [[2, 6, 2, 5], { size: 4, alpha: 1.2, beta: 0.6, k: 2 }],
      [[2, 6, 2, 5], { size: 1, alpha: 0.8, beta: 1.5, k: 0.5 }],
      [[2, 6, 2, 5], { size: 2, alpha: 0.3, beta: -0.4, k: 1 }],
      [[2, 6, 2, 5], { size: 9, alpha: 2, beta: 0.75, k: 1 }],
      [[3, 4, 7], { size: 3, alpha: 0.7, beta: 0.75, k: 1 }],
      [[2, 5, 2, 3, 2], { size: 3, alpha: 0.6, beta: 0.75, k: 1.5 }],
    ] as [number[], Lrn][]) {
      it(`matches the float64 formula and finite differences for size ${o.size}, beta ${o.beta}, shape ${shape.join('x')} on ${isa}`, () => {
        useIsa(isa);
        gradcheck(
          `localResponseNorm ${isa}`, ([x]) => F.localResponseNorm(x, o.size, o),
          ([x]) => reference(x, shape, o).y,
          [data(shape, 21, 1.5, 0.2)],
        );
      });
    }

    // Blocks hold about 64K values (at most 1024 positions): C = 5 gives a 1024-position block and
    // one of 197 (a partial 8-lane chunk) per sample; C = 100 blocks of 648 positions and one of 251.
    for (const shape of [[2, 5, 33, 37], [1, 100, 29, 31]]) {
      it(`matches the float64 forward and gradient across position blocks of shape ${shape.join('x')} on ${isa}`, () => {
        useIsa(isa);
        const o = { size: 5, alpha: 0.4, beta: 0.75, k: 1 };
        const x = data(shape, 22, 2);
        const gy = randn(shape, { seed: 23 }).buffer;
        const [y, gx] = run(x, o, gy);
        const ref = reference(x.data, shape, o, gy);
        assertClose(y, ref.y, 'forward', { rtol: 1e-5, atol: 1e-6 });
        assertClose(gx, ref.gx, 'input gradient', { rtol: 1e-4, atol: 1e-5 });
      });
    }

    it(`gives PyTorch's values where the scale is zero or overflows on ${isa}`, () => {
      useIsa(isa);
      // k = 0: a position whose window is all zero gives 0 / 0 = NaN; x = 1e20 squares past
      // float's range in PyTorch, so y = x / inf = 0 over its whole window.
      const shape = [1, 3, 9];
      const x = new Float32Array(27).fill(0.5);
      for (let c = 0; c < 3; c++) x[c * 9] = 0;
      x[9 + 4] = 1e20;
      const y = F.localResponseNorm(new Tensor(x, shape), 3, { alpha: 0.3, beta: 0.75, k: 0 }).buffer;
      for (let c = 0; c < 3; c++) assert.ok(Number.isNaN(y[c * 9]), `channel ${c} at the zero position is NaN`);
      for (let c = 0; c < 3; c++) assert.equal(y[c * 9 + 4], 0, `channel ${c} beside 1e20 is 0`);
      const ref = reference(x, shape, { size: 3, alpha: 0.3, beta: 0.75, k: 0 }).y;
      for (const i of [1, 2, 3, 5, 8, 10, 26]) assert.ok(Math.abs(y[i] - ref[i]) <= 1e-6 * Math.abs(ref[i]), `value ${i}`);
    });

    it(`gives bitwise-identical LocalResponseNorm results with 1 and 2 threads on ${isa}`, () => {
      useIsa(isa);
      const threads = getNumThreads();
      after(() => setNumThreads(threads));
      const shape = [3, 7, 13, 23];
      const x = data(shape, 24, 1.5);
      const gy = randn(shape, { seed: 25 }).buffer;
      const o = { size: 5, alpha: 0.4, beta: 0.75, k: 1 };
      setNumThreads(1);
      const one = run(x, o, gy);
      setNumThreads(2);
      const two = run(x, o, gy);
      one.forEach((a, i) => assert.deepEqual(two[i], a, `output ${i}`));
    });
  });
});

forEachDevice('the LocalResponseNorm op', (device, { t, read }) => {
  it('computes LocalResponseNorm and its input gradient as the float64 formula', async () => {
    const shape = [2, 6, 3, 5];
    const o = { size: 3, alpha: 0.5, beta: 0.75, k: 1 };
    const x = data(shape, 26, 1.5);
    const gy = randn(shape, { seed: 27 }).buffer;
    const xt = t(x.data, shape, true);
    const y = F.localResponseNorm(xt, o.size, o);
    assert.equal(y.device, device);
    y.backward(t(gy, shape));
    const ref = reference(x.data, shape, o, gy);
    assertClose(await read(y), ref.y, 'forward', { rtol: 1e-5, atol: 1e-6 });
    assertClose(await read(xt.grad!), ref.gx, 'input gradient', { rtol: 1e-4, atol: 1e-5 });
  });

  it('throws naming the op and the rank for an input of rank 2', () => {
    assert.throws(() => F.localResponseNorm(t(new Float32Array(6), [2, 3]), 3), /localResponseNorm: input must have rank 3 or more, got rank 2/);
  });
});

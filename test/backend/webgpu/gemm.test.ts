import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backend as cpu, type Backend } from '../../../src/backend/index.js';
import type { SgemmArgs } from '../../../src/backend/kernels/gemm.js';
import { crossCheck, webgpuBackend, webgpuSkipReason, type Maker } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();

// Sums of up to a few hundred products in [-1, 1] whose order differs between the CPU's packed
// micro-kernel and the GPU tiles: an absolute slack of 1e-4 covers the rounding near zero.
const TOL = { rtol: 1e-4, atol: 1e-4 };

interface Case {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha?: number;
  beta?: number;
  /** Extra elements per row beyond the minimum stride of a, b and c. */
  pad?: number;
}

/** The args of one case: a, b random; c random, or NaN where beta = 0 (it must not be read). */
function build(m: Maker, c: Case): SgemmArgs {
  const { transA, transB, M, N, K, alpha = 1, beta = 0, pad = 0 } = c;
  const lda = (transA ? M : K) + pad;
  const ldb = (transB ? K : N) + pad;
  const ldc = N + pad;
  const a = m.f(m.rand((transA ? K : M) * lda));
  const b = m.f(m.rand((transB ? N : K) * ldb));
  const cv = beta === 0 ? new Float32Array(M * ldc).fill(NaN) : m.rand(M * ldc);
  return { transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c: m.f(cv), ldc };
}

const label = (c: Case): string => `${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'} ${c.M}x${c.N}x${c.K}`;

describe('the WebGPU sgemm kernel', { skip: webgpuSkipReason }, () => {
  const be = gpu as Backend;
  const combos = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const;
  const sizes = [
    [1, 1, 1],
    [7, 5, 3],
    [65, 33, 17],
    [130, 70, 129],
  ] as const;

  for (const [transA, transB] of combos) {
    for (const [M, N, K] of sizes) {
      const c: Case = { transA, transB, M, N, K };
      it(`matches the CPU for ${label(c)} with beta 0 over a NaN-filled c`, async () => {
        const out = await crossCheck(be, 'sgemm', (m) => build(m, c), ['c'], TOL);
        assert.equal(out.c.some(Number.isNaN), false);
      });
    }
    const strided: Case = { transA, transB, M: 33, N: 19, K: 21, alpha: -0.75, beta: 1.5, pad: 3 };
    it(`matches the CPU for ${label(strided)} with padded row strides, alpha -0.75 and beta 1.5`, async () => {
      await crossCheck(be, 'sgemm', (m) => build(m, strided), ['c'], TOL);
    });
  }

  it('matches the CPU on thin products (the 32 x 128 and 128 x 32 tiles) and a product large enough for the 128 x 128 tiles', async () => {
    for (const c of [
      { transA: false, transB: true, M: 20, N: 20000, K: 24 },
      { transA: true, transB: false, M: 20000, N: 20, K: 24, beta: -1 },
      { transA: false, transB: false, M: 1540, N: 1537, K: 19, beta: 0.5 },
    ]) {
      await crossCheck(be, 'sgemm', (m) => build(m, c), ['c'], TOL);
    }
  });

  it('gives c = beta * c without reading a or b when alpha is 0 or K is 0', async () => {
    for (const [alpha, K] of [[0, 5], [2, 0]]) {
      await crossCheck(be, 'sgemm', (m) => {
        const args = build(m, { transA: false, transB: false, M: 6, N: 7, K, alpha, beta: -2 });
        return { ...args, a: m.f(new Float32Array(Math.max(6 * K, 1)).fill(NaN)) };
      }, ['c']);
    }
    const zeroed = await crossCheck(be, 'sgemm', (m) => ({ ...build(m, { transA: true, transB: true, M: 4, N: 3, K: 2, alpha: 0 }) }), ['c']);
    assert.deepEqual([...zeroed.c], new Array(12).fill(0));
  });

  it('reads and writes views at offsets inside larger buffers, leaving the rest of c untouched', async () => {
    const M = 9;
    const N = 11;
    const K = 13;
    const results: Float32Array[] = [];
    for (const b of [cpu, be]) {
      let state = 1;
      const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => ((state = (state * 48271) % 2147483647) / 2147483647) * 2 - 1);
      const abuf = b.upload(rand(5 + M * K));
      const bbuf = b.upload(rand(7 + K * N));
      const cbuf = b.upload(rand(3 + M * 12 + 4));
      b.sgemm({
        transA: false, transB: false, M, N, K, alpha: 1.25,
        a: b.view(abuf, 5, M * K), lda: K, b: b.view(bbuf, 7, K * N), ldb: N,
        beta: 0.5, c: b.view(cbuf, 3, M * 12), ldc: 12,
      });
      results.push(await b.download(cbuf));
    }
    const [want, got] = results;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 + 1e-4 * Math.abs(want[i]), `c[${i}]: ${got[i]} vs ${want[i]}`);
    assert.equal(got[0], want[0]);
    assert.equal(got[want.length - 1], want[want.length - 1]);
  });

  it('refuses operands shorter than their strides require, naming the argument', () => {
    const args: SgemmArgs = { transA: false, transB: false, M: 4, N: 4, K: 4, alpha: 1, a: be.zeros(15), lda: 4, b: be.zeros(16), ldb: 4, beta: 0, c: be.zeros(16), ldc: 4 };
    assert.throws(() => be.sgemm(args), /sgemm: a must hold at least 16 floats, got 15/);
    assert.throws(() => be.sgemm({ ...args, a: be.zeros(16), M: 2.5 }), /sgemm: M must be an integer >= 0/);
  });
});

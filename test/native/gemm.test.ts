// Native SGEMM against a float64 reference written here, on every ISA this CPU supports and
// with 1 and 2 threads (which must agree bitwise).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon } from '../../src/backend/native.js';

interface Addon {
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
  ): void;
  supportedIsas(): string[];
  getIsa(): string;
  setIsa(name: string): void;
  getNumThreads(): number;
  setNumThreads(n: number): void;
}

// Path relative to dist/test/native/, where tsc puts this file.
const addon = loadAddon() as Addon;

// Deterministic uniform values in [-1, 1).
function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

interface Case {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  beta: number;
  pad: number; // extra elements on every leading dimension
}

interface Operands {
  A: Float32Array;
  lda: number;
  B: Float32Array;
  ldb: number;
  C: Float32Array;
  ldc: number;
}

function operands(c: Case, seed: number): Operands {
  const lda = (c.transA ? c.M : c.K) + c.pad;
  const ldb = (c.transB ? c.K : c.N) + c.pad;
  const ldc = c.N + c.pad;
  const A = random((c.transA ? c.K : c.M) * lda, seed);
  const B = random((c.transB ? c.N : c.K) * ldb, seed + 1);
  // beta == 0 must not read C: fill it with NaN so any read shows up.
  const C = c.beta === 0 ? new Float32Array(c.M * ldc).fill(NaN) : random(c.M * ldc, seed + 2);
  return { A, lda, B, ldb, C, ldc };
}

// C = alpha * op(A) * op(B) + beta * C in float64, only the M x N window of C.
function reference(c: Case, o: Operands): Float64Array {
  const out = new Float64Array(c.M * c.N);
  for (let i = 0; i < c.M; i++) {
    for (let j = 0; j < c.N; j++) {
      let s = 0;
      for (let p = 0; p < c.K; p++) {
        const a = c.transA ? o.A[p * o.lda + i] : o.A[i * o.lda + p];
        const b = c.transB ? o.B[j * o.ldb + p] : o.B[p * o.ldb + j];
        s += a * b;
      }
      const prev = c.beta === 0 ? 0 : c.beta * o.C[i * o.ldc + j];
      out[i * c.N + j] = c.alpha * s + prev;
    }
  }
  return out;
}

function run(c: Case, o: Operands): Float32Array {
  const C = o.C.slice();
  addon.sgemm(c.transA, c.transB, c.M, c.N, c.K, c.alpha, o.A, o.lda, o.B, o.ldb, c.beta, C, o.ldc);
  return C;
}

function checkAgainstReference(c: Case, o: Operands, got: Float32Array, label: string): void {
  const want = reference(c, o);
  // Sum of |terms| bounds the rounding error of a length-K dot product.
  for (let i = 0; i < c.M; i++) {
    for (let j = 0; j < c.N; j++) {
      const g = got[i * o.ldc + j];
      const w = want[i * c.N + j];
      const tol = 1e-4 * (Math.abs(w) + Math.sqrt(c.K) + 1);
      if (!(Math.abs(g - w) <= tol)) assert.fail(`${label}: C[${i}][${j}] = ${g}, expected ${w}`);
    }
  }
  // Padding columns of C are outside the output and must be untouched.
  for (let i = 0; i < c.M; i++) {
    for (let j = c.N; j < o.ldc; j++) {
      if (!Object.is(got[i * o.ldc + j], o.C[i * o.ldc + j])) assert.fail(`${label}: padding C[${i}][${j}] changed`);
    }
  }
}

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [33, 65, 17],
  [129, 31, 300],
  [70, 90, 600], // several K blocks: later blocks accumulate onto the first
  [0, 5, 3],
  [4, 0, 3],
  [4, 5, 0],
];
const scalings: [number, number][] = [
  [1, 0],
  [1.5, 1],
  [-0.75, 0.5],
];

function cases(): Case[] {
  const out: Case[] = [];
  let k = 0;
  for (const [M, N, K] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const [alpha, beta] = scalings[k % scalings.length];
        out.push({ transA, transB, M, N, K, alpha, beta, pad: k % 2 === 0 ? 0 : 3 });
        k++;
      }
    }
  }
  return out;
}

function describeCase(c: Case): string {
  const t = `${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'}`;
  return `${t} ${c.M}x${c.N}x${c.K} alpha=${c.alpha} beta=${c.beta} pad=${c.pad}`;
}

describe('native sgemm', () => {
  const savedIsa = addon.getIsa();
  const savedThreads = addon.getNumThreads();
  before(() => {
    assert.ok(addon.supportedIsas().includes('scalar'));
  });
  after(() => {
    addon.setIsa(savedIsa);
    addon.setNumThreads(savedThreads);
  });

  for (const isa of addon.supportedIsas()) {
    describe(`on the ${isa} path`, () => {
      before(() => addon.setIsa(isa));
      after(() => addon.setIsa(savedIsa));

      it('matches a float64 reference for every transpose combination, size, stride and scaling', () => {
        let seed = 1;
        for (const c of cases()) {
          const o = operands(c, seed);
          seed += 3;
          addon.setNumThreads(1);
          checkAgainstReference(c, o, run(c, o), `${isa} ${describeCase(c)}`);
        }
      });

      it('gives bitwise identical results with 1 and 2 threads', () => {
        // Sizes above the single-thread cut-off (2^20 multiply-adds), so that 2 threads really
        // split the work, and shapes that make the split go over rows (M > 96) and over
        // columns (M <= 96).
        const big: Case[] = [
          { transA: false, transB: false, M: 200, N: 96, K: 300, alpha: 1, beta: 0, pad: 1 },
          { transA: true, transB: true, M: 150, N: 170, K: 60, alpha: 0.5, beta: 1, pad: 0 },
          { transA: false, transB: true, M: 16, N: 784, K: 100, alpha: 1, beta: 0.5, pad: 2 },
          { transA: true, transB: false, M: 64, N: 300, K: 200, alpha: 2, beta: 0, pad: 1 },
          { transA: true, transB: false, M: 310, N: 33, K: 520, alpha: -1, beta: 0, pad: 0 },
        ];
        let seed = 1000;
        for (const c of big) {
          const o = operands(c, seed);
          seed += 3;
          addon.setNumThreads(1);
          const one = run(c, o);
          addon.setNumThreads(2);
          const two = run(c, o);
          checkAgainstReference(c, o, two, `${isa} 2 threads ${describeCase(c)}`);
          for (let i = 0; i < one.length; i++) {
            if (!Object.is(one[i], two[i])) assert.fail(`${isa} ${describeCase(c)}: element ${i} differs between 1 and 2 threads`);
          }
        }
        addon.setNumThreads(savedThreads);
      });

      it('treats alpha = 0 as C = beta * C without touching A or B', () => {
        const c: Case = { transA: false, transB: false, M: 3, N: 4, K: 5, alpha: 0, beta: 0.5, pad: 0 };
        const o = operands(c, 7);
        o.A.fill(NaN);
        const got = run(c, o);
        for (let i = 0; i < got.length; i++) assert.equal(got[i], Math.fround(0.5 * o.C[i]));
        const zero = run({ ...c, beta: 0 }, { ...o, C: new Float32Array(12).fill(NaN) });
        assert.deepEqual(Array.from(zero), new Array(12).fill(0));
      });
    });
  }
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crossCheck, webgpuBackend, webgpuSkipReason, type Maker } from '../../helpers/webgpu.js';
import { backend as cpu, backendOn, type Storage } from '../../../src/backend/index.js';
import { BinaryOp, UnaryOp, type BinaryOpName, type UnaryOpName } from '../../../src/backend/kernels/elementwise.js';

const gpu = webgpuBackend();

/** A view through the backend that owns the handle (the Maker gives whole storages only). */
function view(s: Storage, offset: number, length: number): Storage {
  return backendOn(s.device).view(s, offset, length);
}

/** s padded with `before` leading and 3 trailing junk values, returned as a view of the values. */
function inView(m: Maker, values: ArrayLike<number>, before = 5): Storage {
  const padded = [...new Array<number>(before).fill(-7), ...Array.from(values), 9, 9, 9];
  return view(m.f(padded), before, values.length);
}

const numel = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

// Values that hit the ops' special cases: zeros of both signs, kinks, huge and tiny magnitudes,
// the tails of gelu, tanh and sigmoid, infinities and NaN.
const SPECIAL = [0, -0, 1, -1, 1e-8, -1e-8, 0.1, -0.1, 0.3, -0.3, 2, -2, 3, -3, 5, -5, 9, -9, 12, -12, 30, -30, 100, -100, 1e30, -1e30, Infinity, -Infinity, NaN];

function unaryInputs(m: Maker, n: number): number[] {
  return [...SPECIAL, ...m.rand(n, -4, 4)];
}

/** Each op's (p0, p1) variants; clamp's bounds also appear in the inputs exactly. */
const UNARY_PARAMS: Record<UnaryOpName, [number, number][]> = {
  neg: [[0, 0]], exp: [[0, 0]], log: [[0, 0]], sqrt: [[0, 0]], abs: [[0, 0]], relu: [[0, 0]], sigmoid: [[0, 0]],
  tanh: [[0, 0]], gelu: [[0, 0]], leakyRelu: [[0.01, 0], [-0.5, 0]], clamp: [[-0.5, 0.75], [1, 1]],
  powScalar: [[2, 0], [3, 0], [0.5, 0], [-1.5, 0], [0, 0], [1, 0], [-2, 0], [2.5, 0]],
  addScalar: [[1.5, 0]], mulScalar: [[-2, 0]], rsubScalar: [[3, 0]], rdivScalar: [[2, 0]], square: [[0, 0]],
  sign: [[0, 0]], rsqrt: [[0, 0]],
};

/** The CPU forward output (the saved y of a backward), computed on the host. */
function cpuUnary(op: number, x: number[], p0: number, p1: number): Float32Array {
  const xs = cpu.upload(Float32Array.from(x));
  const ys = cpu.empty(x.length);
  cpu.unary({ op, x: xs, y: ys, p0, p1 });
  return cpu.downloadSync(ys);
}

describe('the WebGPU elementwise kernels', { skip: webgpuSkipReason }, () => {
  const be = gpu!;

  describe('binary', () => {
    // [aShape, bShape, outShape]
    const patterns: [string, number[], number[], number[]][] = [
      ['equal shapes of odd length', [3, 337], [3, 337], [3, 337]],
      ['a scalar b', [5, 7], [], [5, 7]],
      ['a one-element a', [1], [4, 9], [4, 9]],
      ['a row b', [6, 11], [11], [6, 11]],
      ['a column b', [6, 11], [6, 1], [6, 11]],
      ['a column a against a row b', [13, 1], [1, 5], [13, 5]],
      ['rank-4 operands with size-1 dims', [2, 1, 5, 1], [3, 1, 4], [2, 3, 5, 4]],
      ['leading size-1 dims on the output', [1, 1, 3, 1], [1, 1, 1, 7], [1, 1, 3, 7]],
      ['rank-0 operands', [], [], []],
    ];
    for (const name of Object.keys(BinaryOp) as BinaryOpName[]) {
      for (const [what, aShape, bShape, outShape] of patterns) {
        it(`computes ${name} with ${what} like the CPU`, async () => {
          await crossCheck(be, 'binary', (m) => {
            const a = m.rand(numel(aShape), -2, 2);
            const b = m.rand(numel(bShape), -2, 2);
            // pow: half the exponents integral, so negative bases give values as well as NaN.
            if (name === 'pow') for (let i = 0; i < b.length; i += 2) b[i] = Math.round(b[i] * 2);
            return { op: BinaryOp[name], a: m.f(a), aShape, b: m.f(b), bShape, out: m.empty(numel(outShape)), outShape };
          }, ['out']);
        });
      }
    }

    it('computes pow for positive bases, zero and negative zero, infinities and NaN like the CPU', async () => {
      const base = [0.5, 2, 3, 10, 0.01, 0, -0, 0, -0, -1, -1, 1, 1, Infinity, -Infinity, NaN, NaN, 2, -2, 1e-20, -8];
      const expo = [3.3, -1.7, 0.5, 7.25, -2.5, 2, 3, -1, -3, Infinity, -Infinity, NaN, 5, 0.5, 3, 0, 1, Infinity, 1, 2, 1 / 3];
      await crossCheck(be, 'binary', (m) => ({
        op: BinaryOp.pow, a: m.f(base), aShape: [base.length], b: m.f(expo), bShape: [expo.length], out: m.empty(base.length), outShape: [base.length],
      }), ['out']);
    });

    for (const name of ['max', 'min'] as const) {
      it(`computes ${name} with ties and NaN operands the way the CPU does`, async () => {
        const a = [NaN, 1, 2, NaN, 3, -0, 0, Infinity];
        const b = [1, NaN, 2, NaN, -1, 0, -0, -Infinity];
        const out = await crossCheck(be, 'binary', (m) => ({
          op: BinaryOp[name], a: m.f(a), aShape: [8], b: m.f(b), bShape: [8], out: m.empty(8), outShape: [8],
        }), ['out']);
        assert.deepEqual([...out.out].slice(0, 2).map(Number.isNaN), [false, true]);
      });
    }

    it('writes in place into a, reading a broadcast b', async () => {
      await crossCheck(be, 'binary', (m) => {
        const a = m.f(m.rand(6 * 11));
        return { op: BinaryOp.sub, a, aShape: [6, 11], b: m.f(m.rand(11)), bShape: [11], out: a, outShape: [6, 11] };
      }, ['out']);
    });

    it('writes in place into b, with a broadcast a on the left', async () => {
      await crossCheck(be, 'binary', (m) => {
        const b = m.f(m.rand(6 * 11, 0.5, 2));
        return { op: BinaryOp.div, a: m.f(m.rand(6, -3, 3)), aShape: [6, 1], b, bShape: [6, 11], out: b, outShape: [6, 11] };
      }, ['out']);
    });

    it('writes in place when a, b and out are one storage', async () => {
      await crossCheck(be, 'binary', (m) => {
        const a = m.f(m.rand(1001));
        return { op: BinaryOp.mul, a, aShape: [1001], b: a, bShape: [1001], out: a, outShape: [1001] };
      }, ['out']);
    });

    it('reads a broadcast a that is the first row of its own output from a copy', async () => {
      // The CPU loops overwrite a while reading it here, so the reference is computed unaliased.
      const a = Float32Array.from([1, 2, 3, 4, 5]);
      const b = Float32Array.from({ length: 20 }, (_, i) => i * 10);
      const expected = Float32Array.from(b, (v, i) => v + a[i % 5]);
      const big = be.upload(Float32Array.from([...a, ...new Array<number>(15).fill(0)]));
      be.binary({ op: BinaryOp.add, a: be.view(big, 0, 5), aShape: [5], b: be.upload(b), bShape: [4, 5], out: big, outShape: [4, 5] });
      assert.deepEqual([...(await be.download(big))], [...expected]);
    });

    it('reads and writes views at offsets inside larger storages', async () => {
      await crossCheck(be, 'binary', (m) => ({
        op: BinaryOp.max, a: inView(m, m.rand(3 * 7), 3), aShape: [3, 7], b: inView(m, m.rand(7), 11), bShape: [7],
        out: view(m.f(new Array(40).fill(0)), 13, 21), outShape: [3, 7],
      }), ['out']);
    });

    it('covers more workgroups than one dimension of the grid holds', async () => {
      const n = 65535 * 256 + 77;
      await crossCheck(be, 'binary', (m) => ({
        op: BinaryOp.add, a: m.f(m.rand(n)), aShape: [n], b: m.f([0.5]), bShape: [], out: m.empty(n), outShape: [n],
      }), ['out']);
    });

    it('refuses an unknown op code, shapes that do not broadcast and a short output', () => {
      const s = be.upload(Float32Array.from([1, 2, 3]));
      assert.throws(() => be.binary({ op: 7, a: s, aShape: [3], b: s, bShape: [3], out: be.empty(3), outShape: [3] }), /binary: op must be an op code 0\.\.6/);
      assert.throws(() => be.binary({ op: 0, a: s, aShape: [3], b: s, bShape: [2], out: be.empty(3), outShape: [3] }), /bShape \[2\] does not broadcast/);
      assert.throws(() => be.binary({ op: 0, a: s, aShape: [3], b: s, bShape: [3], out: be.empty(2), outShape: [3] }), /out must hold at least 3 values, got 2/);
    });
  });

  describe('unary', () => {
    for (const name of Object.keys(UnaryOp) as UnaryOpName[]) {
      for (const [p0, p1] of UNARY_PARAMS[name]) {
        it(`computes ${name} (p0 ${p0}, p1 ${p1}) on special values and 1001 random ones like the CPU`, async () => {
          await crossCheck(be, 'unary', (m) => {
            const x = [...unaryInputs(m, 1001), p0, p1];
            return { op: UnaryOp[name], x: m.f(x), y: m.empty(x.length), p0, p1 };
          }, ['y']);
        });
      }
    }

    it('computes gelu with the erf form to 1e-5 relative over [-6, 6]', async () => {
      // Both sides form 1 + erf(x / sqrt 2) from an erf rounded to float32, so in the left tail
      // they agree to a step of float32 near 1 (6e-8) times |x| / 2, not relatively.
      const x = Array.from({ length: 4801 }, (_, i) => -6 + i * 0.0025);
      for (const op of [UnaryOp.gelu]) {
        await crossCheck(be, 'unary', (m) => ({ op, x: m.f(x), y: m.empty(x.length) }), ['y'], { rtol: 1e-5, atol: 2e-7 });
        await crossCheck(be, 'unaryBackward', (m) => ({
          op, x: m.f(x), y: m.f(cpuUnary(op, x, 0, 0)), gy: m.f(new Array(x.length).fill(1)), gx: m.empty(x.length),
        }), ['gx'], { rtol: 1e-5, atol: 2e-7 });
      }
    });

    it('writes in place when y is x', async () => {
      await crossCheck(be, 'unary', (m) => {
        const x = m.f(m.rand(777, -3, 3));
        return { op: UnaryOp.tanh, x, y: x };
      }, ['y']);
    });

    it('reads and writes views at offsets', async () => {
      await crossCheck(be, 'unary', (m) => ({
        op: UnaryOp.clamp, x: inView(m, m.rand(300, -2, 2), 7), y: view(m.f(new Array(310).fill(0)), 9, 300), p0: -1, p1: 1,
      }), ['y']);
    });

    it('refuses an op code past rsqrt', () => {
      const s = be.upload(Float32Array.from([1, 2]));
      assert.throws(() => be.unary({ op: 19, x: s, y: be.empty(2) }), /unary: op must be an op code 0\.\.18/);
    });
  });

  describe('unaryBackward', () => {
    for (const name of Object.keys(UnaryOp) as UnaryOpName[]) {
      for (const [p0, p1] of UNARY_PARAMS[name]) {
        it(`computes the gradient of ${name} (p0 ${p0}, p1 ${p1}) like the CPU, kinks and bounds included`, async () => {
          await crossCheck(be, 'unaryBackward', (m) => {
            const x = [...unaryInputs(m, 1001), p0, p1];
            const y = cpuUnary(UnaryOp[name], x, p0, p1);
            const gy = m.rand(x.length, -2, 2);
            return { op: UnaryOp[name], x: m.f(x), y: m.f(y), gy: m.f(gy), gx: m.empty(x.length), p0, p1 };
          }, ['gx']);
        });
      }
    }

    it('writes gx over gy', async () => {
      await crossCheck(be, 'unaryBackward', (m) => {
        const x = Array.from(m.rand(500, -3, 3));
        const gy = m.f(m.rand(500));
        return { op: UnaryOp.sigmoid, x: m.f(x), y: m.f(cpuUnary(UnaryOp.sigmoid, x, 0, 0)), gy, gx: gy };
      }, ['gx']);
    });
  });

  describe('sumToShape', () => {
    // [what, gShape, outShape, value range]
    const patterns: [string, number[], number[], number, number][] = [
      ['the leading dim (a bias gradient)', [7, 13], [13], -1, 1],
      ['a short trailing dim', [7, 13], [7, 1], -1, 1],
      ['a long trailing dim', [5, 300], [5, 1], -1, 1],
      ['the batch and spatial dims of NCHW to a per-channel shape', [3, 4, 50, 6], [4, 1, 1], -1, 1],
      ['every dim to rank 0', [2, 3, 4, 5], [], -1, 1],
      ['alternating dims', [2, 3, 4, 5], [1, 3, 1, 5], -1, 1],
      ['middle dims', [3, 17, 19, 2], [3, 1, 1, 2], -1, 1],
      ['a leading dim with wide rows', [200, 1500], [1500], -1, 1],
      ['rows of 17 into more outputs than one grid dimension has workgroups', [70000, 17], [70000, 1], -1, 1],
      // Positive values: the long sums below split into chunks and are added in another order
      // than the CPU's, which only stays within 1e-4 relative without cancellation.
      ['a 40000-long dim split into chunks', [40000], [1], 0, 1],
      ['a 5000-long leading dim split into chunks over 3 columns', [5000, 3], [3], 0, 1],
      ['the leading dim of 1e6 values to 10', [100000, 10], [10], 0, 1],
      ['the outer and inner dims of a long reduction around a kept dim', [64, 2, 1000], [2, 1], 0, 1],
    ];
    for (const [what, gShape, outShape, lo, hi] of patterns) {
      it(`sums ${what}: [${gShape}] to [${outShape}]`, async () => {
        await crossCheck(be, 'sumToShape', (m) => ({ g: m.f(m.rand(numel(gShape), lo, hi)), gShape, out: m.empty(numel(outShape)), outShape }), ['out']);
      });
    }

    it('copies when only size-1 dims differ', async () => {
      await crossCheck(be, 'sumToShape', (m) => ({ g: m.f(m.rand(12)), gShape: [1, 3, 1, 4], out: m.empty(12), outShape: [3, 1, 4] }), ['out']);
    });

    it('writes zeros for an empty gradient', async () => {
      const out = await crossCheck(be, 'sumToShape', (m) => ({ g: m.f([]), gShape: [0, 4], out: m.f([5, 5, 5, 5]), outShape: [4] }), ['out']);
      assert.deepEqual([...out.out], [0, 0, 0, 0]);
    });

    it('reads a gradient view and writes an output view at offsets', async () => {
      await crossCheck(be, 'sumToShape', (m) => ({
        g: inView(m, m.rand(6 * 40), 3), gShape: [6, 40], out: view(m.f(new Array(50).fill(1)), 7, 40), outShape: [1, 40],
      }), ['out']);
    });

    it('refuses an output dim that is neither 1 nor the gradient size', () => {
      assert.throws(
        () => be.sumToShape({ g: be.zeros(6), gShape: [2, 3], out: be.empty(2), outShape: [2] }),
        /sumToShape: outShape \[2\] dim 0 \(size 2\) is neither 1 nor the gradient's size 3/,
      );
    });
  });

  describe('minMaxBackward', () => {
    for (const isMax of [true, false]) {
      it(`routes g to the ${isMax ? 'larger' : 'smaller'} operand, g/2 to each on ties, and like the CPU on NaN`, async () => {
        const out = await crossCheck(be, 'minMaxBackward', (m) => {
          const a = [1, 2, 3, NaN, 1, NaN, -0, ...m.rand(1001)];
          const b = [1, 1, 4, 0, NaN, NaN, 0, ...m.rand(1001)];
          for (let i = 7; i < a.length; i += 3) b[i] = a[i];
          const g = m.rand(a.length, -2, 2);
          return { isMax, a: m.f(a), b: m.f(b), g: m.f(g), ga: m.empty(a.length), gb: m.empty(a.length) };
        }, ['ga', 'gb']);
        assert.equal(out.ga[0], out.gb[0]);
      });
    }

    it('writes ga and gb that are views of one storage', async () => {
      await crossCheck(be, 'minMaxBackward', (m) => {
        const both = m.f(new Array(200).fill(0));
        const a = m.rand(100);
        const b = m.rand(100);
        for (let i = 0; i < 100; i += 4) b[i] = a[i];
        return { isMax: true, a: m.f(a), b: m.f(b), g: m.f(m.rand(100)), ga: view(both, 0, 100), gb: view(both, 100, 100) };
      }, ['ga', 'gb']);
    });
  });
});

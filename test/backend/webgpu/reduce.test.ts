// The WebGPU reduce family against the CPU kernels: reductions over every kind of dim set, arg
// positions with ties and NaN, the max/min backward in both forms, permute and box copies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backend as cpu, type Backend, type Storage } from '../../../src/backend/index.js';
import { ReduceOp } from '../../../src/backend/kernels/reduce.js';
import { crossCheck, webgpuBackend, webgpuSkipReason, type Maker } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();
const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const LARGE = 300000;
const OPS = Object.entries(ReduceOp) as [string, number][];

/** Deterministic values with many ties: integers in [-2, 2]. */
function tied(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 5) - 2);
}

/** crossCheck calls build for the CPU first, then for WebGPU: this gives build the backend too. */
/** The optional reduce args each op takes: an index output for max/min, the (required on the CPU) unbiased flag for var/std. */
function extras(op: number, m: Maker, O: number): { index?: Storage; unbiased?: boolean } {
  if (op === ReduceOp.max || op === ReduceOp.min) return { index: m.emptyIndex(O) };
  if (op === ReduceOp.var || op === ReduceOp.std) return { unbiased: false };
  return {};
}
const outputsOf = (op: number): string[] => (op === ReduceOp.max || op === ReduceOp.min ? ['out', 'index'] : ['out']);

function withBackend<T>(build: (m: Maker, be: Backend) => T): (m: Maker) => T {
  const order = [cpu, gpu as Backend];
  let call = 0;
  return (m) => build(m, order[call++ % 2]);
}

describe('the WebGPU reduce kernels', { skip: webgpuSkipReason }, () => {
  const be = gpu!;
  const shape = [3, 4, 5, 6];
  const dimSets: [string, number[]][] = [
    ['leading', [0]],
    ['trailing', [3]],
    ['middle', [1, 2]],
    ['non-adjacent', [0, 2]],
    ['non-adjacent ending at the last dim', [1, 3]],
    ['all', [0, 1, 2, 3]],
    ['none', []],
  ];

  for (const [name, dims] of dimSets) {
    it(`reduces over ${name} dims with every op`, async () => {
      const O = prod(shape.filter((_, k) => !dims.includes(k)));
      for (const [opName, op] of OPS) {
        await crossCheck(
          be,
          'reduce',
          (m) => ({ op, x: m.f(m.rand(prod(shape), -3, 5)), shape, dims, out: m.empty(O), ...extras(op, m, O) }),
          outputsOf(op),
        ).catch((e: Error) => assert.fail(`${opName}: ${e.message}`));
      }
    });
  }

  it('reduces a rank-8 tensor over alternating dims and a shape with size-1 dims', async () => {
    for (const [sh, dims] of [
      [[2, 3, 1, 2, 3, 2, 1, 3], [1, 3, 5, 7]],
      [[2, 3, 1, 2, 3, 2, 1, 3], [0, 2, 4, 6]],
      [[1, 5, 1, 7, 1], [0, 1, 4]],
      [[1, 5, 1, 7, 1], [2]],
    ] as [number[], number[]][]) {
      const O = prod(sh.filter((_, k) => !dims.includes(k)));
      for (const [, op] of OPS) {
        await crossCheck(
          be,
          'reduce',
          (m) => ({ op, x: m.f(m.rand(prod(sh))), shape: sh, dims, out: m.empty(O), ...extras(op, m, O) }),
          outputsOf(op),
        );
      }
    }
  });

  it('reports the first extreme position among ties, for max and min over several dim sets', async () => {
    for (const dims of [[1], [0, 2], [0, 1, 2], [2]]) {
      const sh = [6, 7, 9];
      const O = prod(sh.filter((_, k) => !dims.includes(k)));
      for (const op of [ReduceOp.max, ReduceOp.min]) {
        const r = await crossCheck(be, 'reduce', (m) => ({ op, x: m.f(tied(prod(sh))), shape: sh, dims, out: m.empty(O), index: m.emptyIndex(O) }), ['out', 'index']);
        assert.ok(r.index.length === O);
      }
    }
  });

  it('computes max and min without an index output', async () => {
    for (const op of [ReduceOp.max, ReduceOp.min]) {
      await crossCheck(be, 'reduce', (m) => ({ op, x: m.f(m.rand(60)), shape: [6, 10], dims: [1], out: m.empty(6) }), ['out']);
      await crossCheck(be, 'reduce', (m) => ({ op, x: m.f(m.rand(LARGE)), shape: [LARGE], dims: [0], out: m.empty(1) }), ['out']);
    }
  });

  it('gives the unbiased variance and standard deviation, and NaN for one element', async () => {
    for (const op of [ReduceOp.var, ReduceOp.std]) {
      for (const dims of [[1], [0], [0, 1]]) {
        const O = dims.length === 2 ? 1 : dims[0] === 1 ? 5 : 37;
        await crossCheck(be, 'reduce', (m) => ({ op, x: m.f(m.rand(5 * 37, 10, 12)), shape: [5, 37], dims, out: m.empty(O), unbiased: true }), ['out']);
      }
      const r = await crossCheck(be, 'reduce', (m) => ({ op, x: m.f([1, 2, 3]), shape: [3, 1], dims: [1], out: m.empty(3), unbiased: true }), ['out']);
      assert.ok(r.out.every(Number.isNaN));
    }
  });

  it('keeps the variance of values with a large mean accurate (no sum-of-squares cancellation)', async () => {
    const r = await crossCheck(be, 'reduce', (m) => ({ op: ReduceOp.var, x: m.f(Float32Array.from({ length: 4096 }, (_, i) => 10000 + (i % 2))), shape: [4096], dims: [0], out: m.empty(1), unbiased: false }), ['out']);
    assert.ok(Math.abs(r.out[0] - 0.25) < 1e-6);
  });

  it('propagates NaN like the CPU: sums and variances become NaN, max/min take the first NaN', async () => {
    const sh = [4, 50];
    const x = Float32Array.from({ length: 200 }, (_, i) => Math.sin(i));
    x[7] = NaN;
    x[60] = NaN;
    x[61] = Infinity;
    x[175] = NaN;
    x[190] = NaN;
    x[100] = -Infinity;
    for (const dims of [[1], [0], [0, 1]]) {
      const O = prod(sh.filter((_, k) => !dims.includes(k)));
      for (const [, op] of OPS) {
        await crossCheck(be, 'reduce', (m) => ({ op, x: m.f(x), shape: sh, dims, out: m.empty(O), ...extras(op, m, O) }), outputsOf(op));
      }
    }
  });

  it('finds extremes among infinities, reporting the first position of an all -inf group', async () => {
    const x = [-Infinity, -Infinity, -Infinity, 1, Infinity, Infinity];
    for (const op of [ReduceOp.max, ReduceOp.min]) {
      await crossCheck(be, 'reduce', (m) => ({ op, x: m.f(x), shape: [2, 3], dims: [1], out: m.empty(2), index: m.emptyIndex(2) }), ['out', 'index']);
    }
  });

  it('reduces empty dims: sums give 0, means NaN; an empty output is a no-op', async () => {
    const r = await crossCheck(be, 'reduce', (m) => ({ op: ReduceOp.sum, x: m.f([]), shape: [3, 0], dims: [1], out: m.empty(3) }), ['out']);
    assert.deepEqual([...r.out], [0, 0, 0]);
    await crossCheck(be, 'reduce', (m) => ({ op: ReduceOp.mean, x: m.f([]), shape: [3, 0], dims: [1], out: m.empty(3) }), ['out']);
    await crossCheck(be, 'reduce', (m) => ({ op: ReduceOp.var, x: m.f([]), shape: [3, 0], dims: [1], out: m.empty(3), unbiased: false }), ['out']);
    be.reduce({ op: ReduceOp.max, x: be.upload(new Float32Array(0)), shape: [0, 3], dims: [1], out: be.empty(0) });
    assert.throws(() => be.reduce({ op: ReduceOp.max, x: be.upload(new Float32Array(0)), shape: [3, 0], dims: [1], out: be.empty(3) }), /empty set of elements/);
  });

  it('reads and writes float32 views with offsets', async () => {
    await crossCheck(
      be,
      'reduce',
      withBackend((m, b) => {
        const big = m.f(m.rand(7 + 60));
        return { op: ReduceOp.max, x: b.view(big, 7, 60), shape: [6, 10], dims: [1], out: b.view(m.f(new Float32Array(9)), 2, 6), index: m.emptyIndex(6) };
      }),
      ['out', 'index'],
    );
  });

  // Tolerances: a GPU sum of 300000 float32 values adds in a tree of per-thread float32 partial
  // sums, the CPU in double per segment; the two orders differ by a few float32 roundings.
  for (const [name, sh, dims] of [
    ['every value', [LARGE], [0]],
    ['rows of a wide matrix', [3, LARGE / 3], [1]],
    ['columns of a tall matrix', [LARGE / 3, 3], [0]],
    ['the batch and spatial dims of an NCHW tensor', [8, 3, 125, 100], [0, 2, 3]],
  ] as [string, number[], number[]][]) {
    it(`reduces ${LARGE} values over ${name} with every op`, async () => {
      const O = prod(sh.filter((_, k) => !dims.includes(k)));
      for (const [opName, op] of OPS) {
        await crossCheck(
          be,
          'reduce',
          (m) => ({ op, x: m.f(m.rand(LARGE, 0.5, 1.5)), shape: sh, dims, out: m.empty(O), ...extras(op, m, O) }),
          outputsOf(op),
          { rtol: 2e-4 },
        ).catch((e: Error) => assert.fail(`${opName}: ${e.message}`));
      }
    });
  }

  it('reports the first tie and the first NaN of a large reduction split into segments', async () => {
    const x = tied(LARGE);
    for (const op of [ReduceOp.max, ReduceOp.min]) {
      await crossCheck(be, 'reduce', (m) => ({ op, x: m.f(x), shape: [LARGE], dims: [0], out: m.empty(1), index: m.emptyIndex(1) }), ['out', 'index']);
      await crossCheck(be, 'reduce', (m) => ({ op, x: m.f(x), shape: [LARGE / 3, 3], dims: [0], out: m.empty(3), index: m.emptyIndex(3) }), ['out', 'index']);
    }
    x[LARGE - 5] = NaN;
    x[200001] = NaN;
    await crossCheck(be, 'reduce', (m) => ({ op: ReduceOp.max, x: m.f(x), shape: [LARGE], dims: [0], out: m.empty(1), index: m.emptyIndex(1) }), ['out', 'index']);
  });

  it('gives the same result for a large reduction on every run (no atomics)', async () => {
    const x = be.upload(Float32Array.from({ length: LARGE }, (_, i) => Math.sin(i) * 1000));
    const runs: Float32Array[] = [];
    for (let k = 0; k < 3; k++) {
      const out = be.empty(1);
      be.reduce({ op: ReduceOp.sum, x, shape: [LARGE], dims: [0], out });
      runs.push(await be.download(out));
    }
    assert.deepEqual(runs[1], runs[0]);
    assert.deepEqual(runs[2], runs[0]);
  });

  it('refuses a bad op, a dim outside the shape and a short output, naming the argument', () => {
    const x = be.zeros(6);
    assert.throws(() => be.reduce({ op: 9, x, shape: [2, 3], dims: [1], out: be.empty(2) }), /reduce: op 9/);
    assert.throws(() => be.reduce({ op: 0, x, shape: [2, 3], dims: [2], out: be.empty(2) }), /reduce: dims holds dim 2/);
    assert.throws(() => be.reduce({ op: 0, x, shape: [2, 3], dims: [0], out: be.empty(2) }), /reduce: out must hold at least 3/);
  });

  // ---- extremeBackward ----

  /** The CPU's max/min of x over dims (values and index), for building backward inputs. */
  function extremeOf(op: number, x: Float32Array, sh: number[], dims: number[]): { values: Float32Array; index: Int32Array } {
    const O = prod(sh.filter((_, k) => !dims.includes(k)));
    const out = cpu.empty(O);
    const index = cpu.emptyIndex(O);
    cpu.reduce({ op, x: cpu.upload(x), shape: sh, dims, out, index });
    return { values: cpu.downloadSync(out), index: cpu.downloadIndexSync(index) };
  }

  for (const dims of [[1], [0, 2], [2], [0, 1, 2]]) {
    it(`sends the max/min gradient to the arg position and splits it among ties, over dims [${dims.join(', ')}]`, async () => {
      const sh = [5, 6, 7];
      const x = tied(prod(sh));
      x[3] = NaN;
      x[4] = NaN;
      x[100] = NaN;
      const O = prod(sh.filter((_, k) => !dims.includes(k)));
      for (const op of [ReduceOp.max, ReduceOp.min]) {
        const { values, index } = extremeOf(op, x, sh, dims);
        const g = Float32Array.from({ length: O }, (_, i) => 1 + i * 0.25);
        for (const withIndex of [true, false]) {
          await crossCheck(
            be,
            'extremeBackward',
            (m) => ({ x: m.f(x), shape: sh, dims, values: m.f(values), index: withIndex ? m.i(index) : null, g: m.f(g), gx: m.f(new Float32Array(x.length).fill(9)) }),
            ['gx'],
          );
        }
      }
    });
  }

  it('splits the gradient of a large all-dims max among its ties', async () => {
    const n = 70000;
    const x = tied(n);
    const { values } = extremeOf(ReduceOp.max, x, [n], [0]);
    await crossCheck(be, 'extremeBackward', (m) => ({ x: m.f(x), shape: [n], dims: [0], values: m.f(values), index: null, g: m.f([3]), gx: m.empty(n) }), ['gx']);
  });

  // ---- permute ----

  for (const [sh, perm] of [
    [[7, 45], [1, 0]],
    [[33, 65], [1, 0]],
    [[4, 5, 6], [2, 0, 1]],
    [[4, 5, 6], [1, 0, 2]],
    [[4, 5, 6], [0, 2, 1]],
    [[3, 1, 40, 35], [0, 2, 3, 1]],
    [[3, 4, 40, 35], [0, 3, 1, 2]],
    [[2, 3, 4, 5, 6], [4, 2, 0, 3, 1]],
    [[2, 3, 4, 5, 6], [0, 1, 2, 3, 4]],
    [[2, 3, 1, 5, 1], [4, 3, 2, 1, 0]],
    [[5], [0]],
    [[], []],
  ] as [number[], number[]][]) {
    it(`permutes shape [${sh.join(', ')}] by [${perm.join(', ')}]`, async () => {
      const n = prod(sh);
      await crossCheck(be, 'permute', (m) => ({ x: m.f(m.rand(n)), shape: sh, perm, out: m.empty(n) }), ['out']);
    });
  }

  it('refuses a perm that is not a permutation', () => {
    assert.throws(() => be.permute({ x: be.zeros(6), shape: [2, 3], perm: [0, 0], out: be.empty(6) }), /permute: perm \[0, 0\] is not a permutation/);
  });

  // ---- copyRegion ----

  const boxes: [string, Omit<Parameters<Backend['copyRegion']>[0], 'src' | 'dst'>][] = [
    ['a concat part along dim 1', { srcShape: [3, 4, 5], srcStart: [0, 0, 0], dstShape: [3, 10, 5], dstStart: [0, 6, 0], size: [3, 4, 5] }],
    ['a concat part along dim 0 (one contiguous run)', { srcShape: [2, 4, 5], srcStart: [0, 0, 0], dstShape: [7, 4, 5], dstStart: [3, 0, 0], size: [2, 4, 5] }],
    ['a slice', { srcShape: [6, 7, 8], srcStart: [1, 2, 3], dstShape: [4, 3, 5], dstStart: [0, 0, 0], size: [4, 3, 5] }],
    ['a padded copy', { srcShape: [2, 3, 4, 5], srcStart: [0, 0, 0, 0], dstShape: [2, 3, 8, 9], dstStart: [0, 0, 2, 1], size: [2, 3, 4, 5] }],
    ['an inner box between two tensors of different shapes', { srcShape: [5, 6, 7], srcStart: [1, 0, 2], dstShape: [4, 9, 8], dstStart: [2, 3, 1], size: [2, 6, 4] }],
    ['a rank-8 box', { srcShape: [2, 2, 3, 2, 2, 3, 2, 2], srcStart: [0, 1, 1, 0, 0, 0, 1, 0], dstShape: [3, 2, 2, 2, 3, 3, 2, 2], dstStart: [1, 0, 0, 0, 1, 0, 0, 0], size: [2, 1, 2, 2, 2, 3, 1, 2] }],
    ['rank 0', { srcShape: [], srcStart: [], dstShape: [], dstStart: [], size: [] }],
    ['an empty box', { srcShape: [3, 0], srcStart: [0, 0], dstShape: [3, 4], dstStart: [0, 1], size: [3, 0] }],
  ];
  for (const [name, box] of boxes) {
    it(`copies ${name}, leaving dst outside the box as it was`, async () => {
      await crossCheck(
        be,
        'copyRegion',
        (m) => ({ ...box, src: m.f(m.rand(prod(box.srcShape))), dst: m.f(Float32Array.from({ length: prod(box.dstShape) }, (_, i) => 100 + i)) }),
        ['dst'],
      );
    });
  }

  it('refuses a box that leaves the source', () => {
    assert.throws(
      () => be.copyRegion({ src: be.zeros(6), srcShape: [2, 3], srcStart: [1, 0], dst: be.zeros(6), dstShape: [2, 3], dstStart: [0, 0], size: [2, 3] }),
      /copyRegion: the box \[2, 3\]/,
    );
  });

  it('copies between views of one buffer', async () => {
    await crossCheck(
      be,
      'copyRegion',
      withBackend((m, b) => {
        const buf = m.f(m.rand(40));
        return { src: b.view(buf, 0, 12), srcShape: [3, 4], srcStart: [0, 1], dst: b.view(buf, 20, 20) as Storage, dstShape: [4, 5], dstStart: [1, 0], size: [3, 2] };
      }),
      ['dst'],
    );
  });
});

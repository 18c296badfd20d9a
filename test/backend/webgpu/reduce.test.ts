import { describe, it } from 'node:test';
import { backend as cpuBackend } from '../../../src/backend/index.js';
import { ReduceOp } from '../../../src/backend/kernels/reduce.js';
import { crossCheck, webgpuBackend, webgpuSkipReason, type Maker } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();
const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** Values on a coarse grid (ties for max/min), with a NaN where asked. */
function grid(m: Maker, n: number, nanAt = -1): number[] {
  return [...m.rand(n, -3, 3)].map((v, i) => (i === nanAt ? NaN : Math.round(v * 2) / 2));
}

const SHAPES: [number[], number[]][] = [
  [[4, 5, 6], [2]], [[4, 5, 6], [0]], [[4, 5, 6], [1]], [[4, 5, 6], [0, 2]], [[3, 1, 7, 2], [1, 2]], [[4, 5, 6], [0, 1, 2]], [[4, 5, 6], []], [[300000], [0]], [[2, 70000], [0]],
];

describe('WebGPU reductions and layout kernels against the CPU', { skip: webgpuSkipReason }, () => {
  const be = gpu!;
  for (const [shape, dims] of SHAPES) {
    const n = prod(shape);
    const O = prod(shape.filter((_, k) => !dims.includes(k)));
    // Long sums are added in another order than the CPU's.
    const tol = { rtol: 1e-4, atol: n > 1e5 ? 1e-3 : 1e-5 };
    for (const [name, op] of Object.entries(ReduceOp)) {
      it(`computes ${name} of ${JSON.stringify(shape)} over dims ${JSON.stringify(dims)}`, async () => {
        const extreme = op === ReduceOp.max || op === ReduceOp.min;
        await crossCheck(be, 'reduce', (m) => ({
          op, x: m.f(extreme ? grid(m, n) : m.rand(n)), shape, dims, out: m.empty(O), index: extreme ? m.emptyIndex(O) : null, unbiased: op === ReduceOp.var || op === ReduceOp.std,
        }), extreme ? ['out', 'index'] : ['out'], tol);
      });
    }
  }

  it('lets NaN win max and min, reporting the first NaN', async () => {
    await crossCheck(be, 'reduce', (m) => ({ op: ReduceOp.max, x: m.f(grid(m, 60, 17)), shape: [6, 10], dims: [1], out: m.empty(6), index: m.emptyIndex(6) }), ['out', 'index']);
    await crossCheck(be, 'reduce', (m) => ({ op: ReduceOp.min, x: m.f(grid(m, 60, 17)), shape: [6, 10], dims: [0], out: m.empty(10), index: m.emptyIndex(10) }), ['out', 'index']);
  });

  it('gives 0 for a sum and NaN for a mean over an empty dim', async () => {
    await crossCheck(be, 'reduce', (m) => ({ op: ReduceOp.sum, x: m.f([]), shape: [3, 0], dims: [1], out: m.empty(3) }), ['out']);
    await crossCheck(be, 'reduce', (m) => ({ op: ReduceOp.mean, x: m.f([]), shape: [3, 0], dims: [1], out: m.empty(3) }), ['out']);
  });

  for (const [shape, dims] of [[[4, 5, 6], [1]], [[4, 5, 6], [0, 2]], [[7, 3], [0, 1]]] as [number[], number[]][]) {
    for (const withIndex of [true, false]) {
      it(`routes max gradients over ${JSON.stringify(dims)} of ${JSON.stringify(shape)} ${withIndex ? 'to the saved index' : 'split among ties'}`, async () => {
        const n = prod(shape);
        const O = prod(shape.filter((_, k) => !dims.includes(k)));
        await crossCheck(be, 'extremeBackward', (m) => {
          const xs = grid(m, n, 5);
          const x = m.f(xs);
          const values = m.empty(O);
          const index = m.emptyIndex(O);
          (x.device === 'cpu' ? cpuBackend : be).reduce({ op: ReduceOp.max, x, shape, dims, out: values, index });
          return { x, shape, dims, values, index: withIndex ? index : null, g: m.f(m.rand(O)), gx: m.empty(n) };
        }, ['gx']);
      });
    }
  }

  for (const [shape, perm] of [[[3, 4], [1, 0]], [[2, 3, 4], [2, 0, 1]], [[2, 3, 4, 5], [3, 1, 0, 2]], [[2, 1, 3, 2, 2], [4, 3, 2, 1, 0]], [[], []]] as [number[], number[]][]) {
    it(`permutes ${JSON.stringify(shape)} by ${JSON.stringify(perm)}`, async () => {
      await crossCheck(be, 'permute', (m) => ({ x: m.f(m.rand(prod(shape))), shape, perm, out: m.empty(prod(shape)) }), ['out']);
    });
  }

  it('copies boxes between tensors (concat, slice and pad patterns, rank 0), leaving the rest of dst alone', async () => {
    const cases = [
      { srcShape: [2, 3], srcStart: [0, 0], dstShape: [2, 7], dstStart: [0, 4], size: [2, 3] },
      { srcShape: [5, 6, 4], srcStart: [1, 2, 0], dstShape: [3, 3, 4], dstStart: [0, 0, 0], size: [3, 3, 4] },
      { srcShape: [3, 3], srcStart: [0, 0], dstShape: [5, 5], dstStart: [1, 1], size: [3, 3] },
      { srcShape: [], srcStart: [], dstShape: [], dstStart: [], size: [] },
    ];
    for (const c of cases) {
      await crossCheck(be, 'copyRegion', (m) => ({ ...c, src: m.f(m.rand(prod(c.srcShape))), dst: m.f(m.rand(prod(c.dstShape))) }), ['dst']);
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backend as cpu, type Storage } from '../../../src/backend/index.js';
import { crossCheck, webgpuBackend, webgpuSkipReason, type Maker } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();

/** PyTorch's pooling output length (floor, or ceil where the last window starts inside input + left padding). */
function outLen(L: number, K: number, S: number, P: number, D = 1, ceil = false): number {
  const num = L + 2 * P - (D * (K - 1) + 1);
  let out = (ceil ? Math.ceil(num / S) : Math.floor(num / S)) + 1;
  if (ceil && (out - 1) * S >= L + P) out--;
  return out;
}

interface Case {
  xShape: number[];
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation?: number[];
  ceilMode?: boolean;
}

function outShape(c: Case): number[] {
  const [N, C, H, W] = c.xShape;
  const [DH, DW] = c.dilation ?? [1, 1];
  return [N, C, outLen(H, c.kernel[0], c.stride[0], c.padding[0], DH, c.ceilMode), outLen(W, c.kernel[1], c.stride[1], c.padding[1], DW, c.ceilMode)];
}

const size = (s: number[]): number => s.reduce((a, d) => a * d, 1);

/** A view of `values` at element offset `at` inside a larger storage of the maker's backend. */
function viewAt(m: Maker, values: ArrayLike<number>, at: number): Storage {
  const whole = m.f([...new Array<number>(at).fill(7), ...Array.from(values), 7, 7, 7]);
  return (whole.device === 'webgpu' ? gpu! : cpu).view(whole, at, values.length);
}

/** Values from a few integers, so windows hold ties. */
function tied(m: Maker, n: number): number[] {
  return Array.from(m.rand(n, 0, 3), (v) => Math.floor(v));
}

const WINDOWS: [string, Case][] = [
  ['a 2x2 kernel with stride 2', { xShape: [2, 3, 8, 8], kernel: [2, 2], stride: [2, 2], padding: [0, 0] }],
  ['a 3x3 kernel with stride 1 and padding 1 (overlapping windows)', { xShape: [2, 2, 7, 9], kernel: [3, 3], stride: [1, 1], padding: [1, 1] }],
  ['a 3x3 kernel with stride 2 and padding 1 on odd sizes', { xShape: [1, 3, 11, 13], kernel: [3, 3], stride: [2, 2], padding: [1, 1] }],
  ['a 3x2 kernel with strides 3 and 1', { xShape: [2, 2, 10, 7], kernel: [3, 2], stride: [3, 1], padding: [1, 0] }],
  ['a 2x3 kernel with stride 3 in ceil mode', { xShape: [1, 2, 8, 10], kernel: [2, 3], stride: [3, 3], padding: [1, 1], ceilMode: true }],
  ['a 3x3 kernel with stride 2 in ceil mode where the last window hangs past the input', { xShape: [2, 2, 6, 8], kernel: [3, 3], stride: [2, 2], padding: [0, 1], ceilMode: true }],
  ['a kernel as large as the input', { xShape: [3, 2, 5, 4], kernel: [5, 4], stride: [1, 1], padding: [0, 0] }],
  ['a 1x1 output over many planes (more than one workgroup)', { xShape: [40, 20, 3, 3], kernel: [3, 3], stride: [2, 2], padding: [0, 0] }],
];

describe('WebGPU pooling kernels', { skip: webgpuSkipReason }, () => {
  const be = gpu!;

  describe('maxPool2dForward', () => {
    for (const [title, c] of WINDOWS) {
      it(`matches the CPU maxima and indices for ${title}`, async () => {
        const n = size(outShape(c));
        await crossCheck(be, 'maxPool2dForward', (m) => ({
          ...c, x: m.f(m.rand(size(c.xShape))), y: m.empty(n), indices: m.emptyIndex(n),
        }), ['y', 'indices'], { rtol: 0, atol: 0 });
      });
    }

    it('keeps the first maximum of tied windows in row-major order', async () => {
      const c: Case = { xShape: [2, 3, 9, 9], kernel: [3, 3], stride: [2, 2], padding: [1, 1] };
      const n = size(outShape(c));
      await crossCheck(be, 'maxPool2dForward', (m) => ({
        ...c, x: m.f(tied(m, size(c.xShape))), y: m.empty(n), indices: m.emptyIndex(n),
      }), ['y', 'indices'], { rtol: 0, atol: 0 });
    });

    it('matches the CPU with dilation, ceil mode and padding together', async () => {
      for (const c of [
        { xShape: [2, 2, 9, 11], kernel: [3, 2], stride: [2, 1], padding: [1, 1], dilation: [2, 3] },
        { xShape: [1, 3, 10, 10], kernel: [3, 3], stride: [3, 2], padding: [1, 0], dilation: [2, 2], ceilMode: true },
      ] as Case[]) {
        const n = size(outShape(c));
        await crossCheck(be, 'maxPool2dForward', (m) => ({
          ...c, x: m.f(tied(m, size(c.xShape))), y: m.empty(n), indices: m.emptyIndex(n),
        }), ['y', 'indices'], { rtol: 0, atol: 0 });
      }
    });

    it('propagates NaN with the last NaN index and keeps -inf windows at their first tap', async () => {
      const c: Case = { xShape: [1, 2, 6, 6], kernel: [3, 3], stride: [1, 1], padding: [1, 1] };
      const n = size(outShape(c));
      const special = (m: Maker): number[] => {
        const v = tied(m, size(c.xShape));
        for (const i of [3, 8, 14, 15, 40]) v[i] = NaN;
        for (let i = 48; i < 72; i++) v[i] = -Infinity;
        return v;
      };
      const out = await crossCheck(be, 'maxPool2dForward', (m) => ({
        ...c, x: m.f(special(m)), y: m.empty(n), indices: m.emptyIndex(n),
      }), ['y', 'indices'], { rtol: 0, atol: 0 });
      assert.ok(Array.from(out.y).some(Number.isNaN));
      assert.ok(Array.from(out.y).some((v) => v === -Infinity));
    });

    it('reads and writes views at offsets inside larger storages', async () => {
      const c: Case = { xShape: [2, 2, 5, 7], kernel: [2, 3], stride: [1, 2], padding: [1, 1] };
      const n = size(outShape(c));
      await crossCheck(be, 'maxPool2dForward', (m) => ({
        ...c, x: viewAt(m, m.rand(size(c.xShape)), 5), y: viewAt(m, new Array<number>(n).fill(0), 3), indices: m.emptyIndex(n),
      }), ['y', 'indices'], { rtol: 0, atol: 0 });
    });

    it('names the argument that is wrong', () => {
      const x = be.zeros(16);
      const base = { x, xShape: [1, 1, 4, 4], y: be.empty(4), indices: be.emptyIndex(4), kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
      assert.throws(() => be.maxPool2dForward({ ...base, padding: [2, 0] }), /maxPool2dForward: padding must be at most half/);
      assert.throws(() => be.maxPool2dForward({ ...base, y: be.empty(3) }), /maxPool2dForward: y must hold at least 4 values, got 3/);
      assert.throws(() => be.maxPool2dForward({ ...base, indices: be.empty(4) }), /expected int32 storage/);
      assert.throws(() => be.maxPool2dForward({ ...base, kernel: [5, 2] }), /kernel \[5, 2\] is larger than the padded input/);
    });
  });

  describe('maxPool2dBackward', () => {
    /** The CPU forward's indices for case c over x. */
    async function cpuIndices(c: Case, x: ArrayLike<number>): Promise<Int32Array> {
      const n = size(outShape(c));
      const indices = cpu.emptyIndex(n);
      cpu.maxPool2dForward({ ...c, x: cpu.upload(Float32Array.from(x)), y: cpu.empty(n), indices });
      return cpu.downloadIndex(indices);
    }

    const cases: [string, Case, boolean][] = [
      ...WINDOWS.map(([t, c]): [string, Case, boolean] => [t, c, false]),
      ['tied values under overlapping 3x3 windows with stride 1', { xShape: [2, 3, 7, 8], kernel: [3, 3], stride: [1, 1], padding: [1, 1] }, true],
      ['tied values under dilated windows in ceil mode', { xShape: [1, 2, 10, 9], kernel: [3, 2], stride: [2, 2], padding: [1, 1], dilation: [2, 2], ceilMode: true }, true],
    ];
    for (const [title, c, ties] of cases) {
      it(`routes the gradient to the saved maxima, summing shared ones, for ${title}`, async () => {
        const os = outShape(c);
        const x = Array.from(pseudoRandom(size(c.xShape), 11), (v) => (ties ? Math.floor(3 * v) : v));
        const ind = await cpuIndices(c, x);
        await crossCheck(be, 'maxPool2dBackward', (m) => ({
          dy: m.f(m.rand(size(os))), indices: m.i(ind), outShape: os, dx: m.empty(size(c.xShape)), xShape: c.xShape,
        }), ['dx']);
      });
    }

    it('routes to any index inside the plane, also ones outside the window geometry', async () => {
      const xShape = [3, 2, 5, 6];
      const os = [3, 2, 4, 3];
      const ind = Int32Array.from(pseudoRandom(size(os), 5), (v) => Math.floor(v * 30));
      await crossCheck(be, 'maxPool2dBackward', (m) => ({
        dy: m.f(m.rand(size(os))), indices: m.i(ind), outShape: os, dx: m.empty(size(xShape)), xShape,
      }), ['dx']);
    });

    it('writes views at offsets and zeros inputs that no output selected', async () => {
      const c: Case = { xShape: [2, 2, 9, 7], kernel: [2, 2], stride: [3, 3], padding: [0, 0] };
      const os = outShape(c);
      const ind = await cpuIndices(c, pseudoRandom(size(c.xShape), 3));
      const out = await crossCheck(be, 'maxPool2dBackward', (m) => ({
        dy: viewAt(m, m.rand(size(os)), 2), indices: m.i(ind), outShape: os, dx: viewAt(m, m.rand(size(c.xShape)), 9), xShape: c.xShape,
      }), ['dx']);
      assert.equal(Array.from(out.dx).filter((v) => v !== 0).length, size(os));
    });

    it('names the argument that is wrong', () => {
      const base = { dy: be.zeros(4), indices: be.emptyIndex(4), outShape: [1, 1, 2, 2], dx: be.empty(16), xShape: [1, 1, 4, 4] };
      assert.throws(() => be.maxPool2dBackward({ ...base, outShape: [1, 2, 2, 2] }), /maxPool2dBackward: outShape \[1, 2, 2, 2\] must match xShape/);
      assert.throws(() => be.maxPool2dBackward({ ...base, dx: be.empty(15) }), /maxPool2dBackward: dx must hold at least 16 values/);
    });
  });

  const AVG_WINDOWS: [string, Case][] = [
    ...WINDOWS,
    ['a 3x3 kernel with stride 2, padding 1 and ceil mode on odd sizes', { xShape: [2, 2, 7, 9], kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true }],
    ['a 2x2 kernel with stride 3, padding 1 and ceil mode', { xShape: [1, 3, 8, 11], kernel: [2, 2], stride: [3, 3], padding: [1, 1], ceilMode: true }],
  ];

  for (const includePad of [true, false]) {
    describe(`avgPool2d with countIncludePad ${includePad}`, () => {
      for (const [title, c] of AVG_WINDOWS) {
        it(`matches the CPU forward for ${title}`, async () => {
          const n = size(outShape(c));
          await crossCheck(be, 'avgPool2dForward', (m) => ({
            ...c, countIncludePad: includePad, x: m.f(m.rand(size(c.xShape))), y: m.empty(n),
          }), ['y']);
        });

        it(`matches the CPU backward for ${title}`, async () => {
          const n = size(outShape(c));
          await crossCheck(be, 'avgPool2dBackward', (m) => ({
            ...c, countIncludePad: includePad, dy: m.f(m.rand(n)), dx: m.empty(size(c.xShape)), xShape: c.xShape,
          }), ['dx']);
        });
      }
    });
  }

  describe('avgPool2d defaults and views', () => {
    it('counts padding in the divisor when countIncludePad is left out', async () => {
      const c: Case = { xShape: [1, 2, 5, 5], kernel: [3, 3], stride: [2, 2], padding: [1, 1] };
      const n = size(outShape(c));
      await crossCheck(be, 'avgPool2dForward', (m) => ({ ...c, x: viewAt(m, m.rand(size(c.xShape)), 4), y: viewAt(m, new Array<number>(n).fill(0), 1) }), ['y']);
      await crossCheck(be, 'avgPool2dBackward', (m) => ({ ...c, dy: viewAt(m, m.rand(n), 6), dx: viewAt(m, new Array<number>(50).fill(0), 2) }), ['dx']);
    });

    it('names the argument that is wrong', () => {
      const base = { x: be.zeros(16), xShape: [1, 1, 4, 4], y: be.empty(4), kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
      assert.throws(() => be.avgPool2dForward({ ...base, stride: [0, 2] }), /avgPool2dForward: stride must be a stride \[h, w\] >= 1, got \[0, 2\]/);
      assert.throws(() => be.avgPool2dForward({ ...base, xShape: [1, 4, 4] }), /avgPool2dForward: xShape must be a shape \[N, C, H, W\]/);
      assert.throws(() => be.avgPool2dBackward({ dy: be.zeros(3), dx: be.empty(16), xShape: [1, 1, 4, 4], kernel: [2, 2], stride: [2, 2], padding: [0, 0] }), /avgPool2dBackward: dy must hold at least 4 values, got 3/);
    });
  });

  describe('adaptiveAvgPool2d', () => {
    const cases: [string, number[], number[]][] = [
      ['7 to 3 bins that overlap', [2, 3, 7, 7], [3, 3]],
      ['5 to 5 bins of one element', [2, 2, 5, 5], [5, 5]],
      ['a global 1x1 average over small planes', [3, 4, 5, 7], [1, 1]],
      ['a global 1x1 average over planes large enough for a workgroup per bin', [2, 3, 23, 29], [1, 1]],
      ['bins of about 100 elements that do not divide the input', [2, 2, 31, 21], [3, 2]],
      ['more bins than inputs (repeated elements)', [1, 2, 3, 4], [5, 7]],
      ['mixed 10x6 to 4x5 bins', [2, 2, 10, 6], [4, 5]],
    ];
    for (const [title, xShape, outSize] of cases) {
      it(`matches the CPU forward for ${title}`, async () => {
        const n = xShape[0] * xShape[1] * outSize[0] * outSize[1];
        await crossCheck(be, 'adaptiveAvgPool2dForward', (m) => ({ x: m.f(m.rand(size(xShape))), xShape, y: m.empty(n), outSize }), ['y']);
      });

      it(`matches the CPU backward for ${title}`, async () => {
        const n = xShape[0] * xShape[1] * outSize[0] * outSize[1];
        await crossCheck(be, 'adaptiveAvgPool2dBackward', (m) => ({ dy: m.f(m.rand(n)), dx: m.empty(size(xShape)), xShape, outSize }), ['dx']);
      });
    }

    it('reads and writes views at offsets inside larger storages', async () => {
      const xShape = [2, 2, 9, 8];
      const outSize = [4, 3];
      await crossCheck(be, 'adaptiveAvgPool2dForward', (m) => ({ x: viewAt(m, m.rand(size(xShape)), 3), xShape, y: viewAt(m, new Array<number>(48).fill(0), 5), outSize }), ['y']);
      await crossCheck(be, 'adaptiveAvgPool2dBackward', (m) => ({ dy: viewAt(m, m.rand(48), 1), dx: viewAt(m, new Array<number>(size(xShape)).fill(0), 7), xShape, outSize }), ['dx']);
    });

    it('names the argument that is wrong', () => {
      assert.throws(() => be.adaptiveAvgPool2dForward({ x: be.zeros(16), xShape: [1, 1, 4, 4], y: be.empty(4), outSize: [0, 2] }), /adaptiveAvgPool2dForward: outSize must be an output size \[h, w\] >= 1, got \[0, 2\]/);
      assert.throws(() => be.adaptiveAvgPool2dBackward({ dy: be.zeros(4), dx: be.empty(16), xShape: [1, 1, 0, 4], outSize: [2, 2] }), /xShape must have H, W >= 1/);
    });
  });
});

/** n deterministic values in [0, 1) from seed (xorshift). */
function pseudoRandom(n: number, seed: number): Float32Array {
  let s = seed * 0x9e3779b1 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  });
}

import { describe, it } from 'node:test';
import { backend as cpuBackend } from '../../../src/backend/index.js';
import { crossCheck, webgpuBackend, webgpuSkipReason, type Maker } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();

interface Case {
  xShape: number[];
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation?: number[];
  ceilMode?: boolean;
}

function outLen(L: number, K: number, S: number, P: number, D: number, ceil: boolean): number {
  const num = L + 2 * P - (D * (K - 1) + 1);
  let out = (ceil ? Math.ceil(num / S) : Math.floor(num / S)) + 1;
  if (ceil && (out - 1) * S >= L + P) out--;
  return out;
}

function outShape(c: Case): number[] {
  const [N, C, H, W] = c.xShape;
  const [DH, DW] = c.dilation ?? [1, 1];
  return [N, C, outLen(H, c.kernel[0], c.stride[0], c.padding[0], DH, c.ceilMode ?? false), outLen(W, c.kernel[1], c.stride[1], c.padding[1], DW, c.ceilMode ?? false)];
}

const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

const CASES: Case[] = [
  { xShape: [2, 3, 8, 8], kernel: [2, 2], stride: [2, 2], padding: [0, 0] },
  { xShape: [2, 3, 9, 7], kernel: [3, 3], stride: [2, 2], padding: [1, 1] },
  { xShape: [1, 2, 10, 11], kernel: [3, 2], stride: [1, 3], padding: [1, 0] },
  { xShape: [1, 2, 9, 9], kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true },
  { xShape: [2, 1, 12, 12], kernel: [3, 3], stride: [2, 1], padding: [1, 1], dilation: [2, 2] },
  { xShape: [1, 1, 5, 5], kernel: [5, 5], stride: [1, 1], padding: [2, 2] },
];

/** Values on a coarse grid, so windows hold ties. */
function ties(m: Maker, n: number): number[] {
  return [...m.rand(n, -2, 2)].map((v) => Math.round(v * 2) / 2);
}

describe('WebGPU pooling kernels against the CPU', { skip: webgpuSkipReason }, () => {
  const be = gpu!;
  for (const c of CASES) {
    const o = outShape(c);
    const title = `${JSON.stringify(c)}`;
    it(`computes max pooling and the index of the first maximum for ${title}`, async () => {
      await crossCheck(be, 'maxPool2dForward', (m) => ({ ...c, x: m.f(ties(m, size(c.xShape))), y: m.empty(size(o)), indices: m.emptyIndex(size(o)) }), ['y', 'indices']);
    });
    it(`routes max-pooling gradients to the saved maxima, adding where windows share one, for ${title}`, async () => {
      await crossCheck(be, 'maxPool2dBackward', (m) => {
        const x = m.f(ties(m, size(c.xShape)));
        const indices = m.emptyIndex(size(o));
        const backend = (x as { device: string }).device === 'cpu' ? null : be;
        (backend ?? cpuBackend).maxPool2dForward({ ...c, x, y: m.empty(size(o)), indices });
        return { dy: m.f(m.rand(size(o))), indices, outShape: o, dx: m.empty(size(c.xShape)), xShape: c.xShape };
      }, ['dx'], { rtol: 1e-5, atol: 1e-6 });
    });
    if (c.dilation === undefined) {
      for (const countIncludePad of [true, false]) {
        it(`averages windows (countIncludePad ${countIncludePad}) and spreads their gradients for ${title}`, async () => {
          await crossCheck(be, 'avgPool2dForward', (m) => ({ ...c, countIncludePad, x: m.f(m.rand(size(c.xShape))), y: m.empty(size(o)) }), ['y']);
          await crossCheck(be, 'avgPool2dBackward', (m) => ({ ...c, countIncludePad, dy: m.f(m.rand(size(o))), dx: m.empty(size(c.xShape)), xShape: c.xShape }), ['dx']);
        });
      }
    }
  }

  it('propagates NaN through max pooling with the index of the last NaN', async () => {
    const v = [1, NaN, 3, 2, NaN, 0, 5, 4, 1, 1, 1, 1, -1, -2, -3, -4];
    await crossCheck(be, 'maxPool2dForward', (m) => ({ x: m.f(v), xShape: [1, 1, 4, 4], kernel: [2, 2], stride: [2, 2], padding: [0, 0], y: m.empty(4), indices: m.emptyIndex(4) }), ['y', 'indices']);
  });

  for (const [H, W, OH, OW] of [[7, 7, 3, 3], [5, 5, 5, 5], [6, 9, 1, 1], [3, 4, 7, 5], [10, 7, 4, 3]]) {
    it(`pools adaptively from ${H}x${W} to ${OH}x${OW}, forward and backward`, async () => {
      const xShape = [2, 3, H, W];
      await crossCheck(be, 'adaptiveAvgPool2dForward', (m) => ({ x: m.f(m.rand(size(xShape))), xShape, y: m.empty(6 * OH * OW), outSize: [OH, OW] }), ['y']);
      await crossCheck(be, 'adaptiveAvgPool2dBackward', (m) => ({ dy: m.f(m.rand(6 * OH * OW)), dx: m.empty(size(xShape)), xShape, outSize: [OH, OW] }), ['dx']);
    });
  }

  it('pools a batch wider than one grid dimension of workgroups', async () => {
    const xShape = [64, 64, 64, 66];
    const o = [64, 64, 32, 33];
    await crossCheck(be, 'maxPool2dForward', (m) => ({ x: m.f(m.rand(size(xShape))), xShape, kernel: [2, 2], stride: [2, 2], padding: [0, 0], y: m.empty(size(o)), indices: m.emptyIndex(size(o)) }), ['y', 'indices']);
  });
});

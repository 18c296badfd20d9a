import { describe, it } from 'node:test';
import { crossCheck, webgpuBackend, webgpuSkipReason } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();

interface Case {
  xShape: number[];
  wShape: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
  groups: number;
}

const CASES: Case[] = [
  { xShape: [2, 3, 8, 8], wShape: [4, 3, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
  { xShape: [2, 4, 9, 7], wShape: [6, 2, 3, 3], stride: [2, 2], padding: [1, 0], dilation: [1, 1], groups: 2 },
  { xShape: [1, 3, 11, 10], wShape: [5, 3, 3, 2], stride: [1, 2], padding: [2, 1], dilation: [2, 2], groups: 1 },
  { xShape: [3, 6, 6, 6], wShape: [6, 1, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 6 },
  { xShape: [2, 70, 5, 5], wShape: [66, 70, 1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 },
  { xShape: [2, 1, 28, 28], wShape: [6, 1, 5, 5], stride: [1, 1], padding: [2, 2], dilation: [1, 1], groups: 1 },
  { xShape: [40, 2, 12, 12], wShape: [3, 2, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
];

const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
function outShape(c: Case): number[] {
  const oh = Math.floor((c.xShape[2] + 2 * c.padding[0] - c.dilation[0] * (c.wShape[2] - 1) - 1) / c.stride[0]) + 1;
  const ow = Math.floor((c.xShape[3] + 2 * c.padding[1] - c.dilation[1] * (c.wShape[3] - 1) - 1) / c.stride[1]) + 1;
  return [c.xShape[0], c.wShape[0], oh, ow];
}

// Sums of up to a few thousand products, added in another order than the CPU's.
const TOL = { rtol: 1e-4, atol: 1e-4 };

describe('WebGPU convolutions against the CPU', { skip: webgpuSkipReason }, () => {
  const be = gpu!;
  for (const c of CASES) {
    const o = outShape(c);
    const title = JSON.stringify(c);
    for (const withBias of [true, false]) {
      it(`computes the forward ${withBias ? 'with' : 'without'} a bias for ${title}`, async () => {
        await crossCheck(be, 'conv2dForward', (m) => ({
          ...c, x: m.f(m.rand(size(c.xShape))), weight: m.f(m.rand(size(c.wShape))), bias: withBias ? m.f(m.rand(c.wShape[0])) : null, y: m.empty(size(o)),
        }), ['y'], TOL);
      });
    }
    it(`computes the input gradient for ${title}`, async () => {
      await crossCheck(be, 'conv2dBackwardInput', (m) => ({
        ...c, dy: m.f(m.rand(size(o))), weight: m.f(m.rand(size(c.wShape))), dx: m.empty(size(c.xShape)),
      }), ['dx'], TOL);
    });
    it(`computes the weight and bias gradients for ${title}`, async () => {
      await crossCheck(be, 'conv2dBackwardWeight', (m) => ({
        ...c, x: m.f(m.rand(size(c.xShape))), dy: m.f(m.rand(size(o))), dw: m.empty(size(c.wShape)), dbias: m.empty(c.wShape[0]),
      }), ['dw', 'dbias'], TOL);
    });
  }

  it('skips a null weight gradient and a null bias gradient', async () => {
    const c = CASES[0];
    const o = outShape(c);
    await crossCheck(be, 'conv2dBackwardWeight', (m) => ({ ...c, x: m.f(m.rand(size(c.xShape))), dy: m.f(m.rand(size(o))), dw: null, dbias: m.empty(4) }), ['dbias'], TOL);
    await crossCheck(be, 'conv2dBackwardWeight', (m) => ({ ...c, x: m.f(m.rand(size(c.xShape))), dy: m.f(m.rand(size(o))), dw: m.empty(size(c.wShape)), dbias: null }), ['dw'], TOL);
  });

  it('splits a weight gradient over more positions than one chunk', async () => {
    const c: Case = { xShape: [20, 3, 24, 24], wShape: [8, 3, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
    const o = outShape(c);
    await crossCheck(be, 'conv2dBackwardWeight', (m) => ({
      ...c, x: m.f(m.rand(size(c.xShape))), dy: m.f(m.rand(size(o))), dw: m.empty(size(c.wShape)), dbias: m.empty(8),
    }), ['dw', 'dbias'], { rtol: 1e-4, atol: 1e-3 });
  });
});

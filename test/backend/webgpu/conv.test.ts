import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../../src/backend/index.js';
import type { Conv2dGeometry } from '../../../src/backend/kernels/conv.js';
import { crossCheck, webgpuBackend, webgpuSkipReason, type Maker } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();

// Patch sums of up to a few hundred products (and weight gradients over a batch of positions)
// in a different order from the CPU's im2col GEMM or direct path: an absolute slack of 1e-4.
const TOL = { rtol: 1e-4, atol: 1e-4 };

interface Case extends Conv2dGeometry {
  title: string;
  xShape: number[];
  wShape: number[];
  bias: boolean;
}

const geom = (c: Case): Conv2dGeometry => ({ stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });

function outShape(c: Case): number[] {
  const [N, , H, W] = c.xShape;
  const [O, , KH, KW] = c.wShape;
  const OH = Math.floor((H + 2 * c.padding[0] - c.dilation[0] * (KH - 1) - 1) / c.stride[0]) + 1;
  const OW = Math.floor((W + 2 * c.padding[1] - c.dilation[1] * (KW - 1) - 1) / c.stride[1]) + 1;
  return [N, O, OH, OW];
}

const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

const cases: Case[] = [
  { title: 'a 3x3 kernel with padding 1 and a bias', xShape: [2, 3, 9, 8], wShape: [4, 3, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true },
  { title: 'stride 2 with unequal padding', xShape: [2, 3, 11, 10], wShape: [5, 3, 3, 3], stride: [2, 2], padding: [1, 2], dilation: [1, 1], groups: 1, bias: true },
  { title: 'stride (2, 3) without padding', xShape: [1, 2, 12, 13], wShape: [3, 2, 3, 2], stride: [2, 3], padding: [0, 0], dilation: [1, 1], groups: 1, bias: false },
  { title: 'dilation 2', xShape: [2, 3, 10, 9], wShape: [4, 3, 3, 3], stride: [1, 1], padding: [2, 1], dilation: [2, 2], groups: 1, bias: true },
  { title: '2 groups', xShape: [2, 4, 7, 7], wShape: [6, 2, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 2, bias: true },
  { title: 'a depthwise convolution with channel multiplier 2', xShape: [2, 5, 8, 9], wShape: [10, 1, 3, 3], stride: [2, 1], padding: [1, 1], dilation: [1, 1], groups: 5, bias: true },
  { title: 'a 1x1 kernel', xShape: [3, 6, 5, 7], wShape: [9, 6, 1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, bias: true },
  { title: 'a 5x5 kernel with padding 2 and no bias', xShape: [2, 3, 9, 11], wShape: [7, 3, 5, 5], stride: [1, 1], padding: [2, 2], dilation: [1, 1], groups: 1, bias: false },
  { title: 'a single output position', xShape: [1, 1, 3, 3], wShape: [1, 1, 3, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, bias: true },
  // 70 output channels, 2 x 64 x 32 x 32 batch positions: several row tiles, and a weight
  // gradient whose reduction over (n, p) is split into parts.
  { title: 'more channels than one tile and a batch whose weight gradient is split', xShape: [2, 16, 32, 32], wShape: [70, 16, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true },
];

describe('the WebGPU convolution kernels', { skip: webgpuSkipReason }, () => {
  const be = gpu as Backend;

  for (const c of cases) {
    const yShape = outShape(c);
    it(`computes the forward pass of ${c.title} as the CPU`, async () => {
      await crossCheck(be, 'conv2dForward', (m: Maker) => ({
        x: m.f(m.rand(size(c.xShape))), xShape: c.xShape, weight: m.f(m.rand(size(c.wShape))), wShape: c.wShape,
        bias: c.bias ? m.f(m.rand(c.wShape[0])) : null, y: m.f(new Float32Array(size(yShape)).fill(NaN)), ...geom(c),
      }), ['y'], TOL);
    });
    it(`computes the input gradient of ${c.title} as the CPU`, async () => {
      await crossCheck(be, 'conv2dBackwardInput', (m: Maker) => ({
        dy: m.f(m.rand(size(yShape))), weight: m.f(m.rand(size(c.wShape))), wShape: c.wShape,
        dx: m.f(new Float32Array(size(c.xShape)).fill(NaN)), xShape: c.xShape, ...geom(c),
      }), ['dx'], TOL);
    });
    it(`computes the weight and bias gradients of ${c.title} as the CPU`, async () => {
      await crossCheck(be, 'conv2dBackwardWeight', (m: Maker) => ({
        x: m.f(m.rand(size(c.xShape))), xShape: c.xShape, dy: m.f(m.rand(size(yShape))),
        dw: m.f(new Float32Array(size(c.wShape)).fill(NaN)), wShape: c.wShape, dbias: m.f(new Float32Array(c.wShape[0]).fill(NaN)), ...geom(c),
      }), ['dw', 'dbias'], TOL);
    });
  }

  it('computes only the weight gradient when dbias is null, and only the bias gradient when dw is null', async () => {
    const c = cases[1];
    const yShape = outShape(c);
    await crossCheck(be, 'conv2dBackwardWeight', (m: Maker) => ({
      x: m.f(m.rand(size(c.xShape))), xShape: c.xShape, dy: m.f(m.rand(size(yShape))),
      dw: m.empty(size(c.wShape)), wShape: c.wShape, dbias: null, ...geom(c),
    }), ['dw'], TOL);
    await crossCheck(be, 'conv2dBackwardWeight', (m: Maker) => ({
      x: m.f(m.rand(size(c.xShape))), xShape: c.xShape, dy: m.f(m.rand(size(yShape))),
      dw: null, wShape: c.wShape, dbias: m.empty(c.wShape[0]), ...geom(c),
    }), ['dbias'], TOL);
  });

  it('writes zero weight and bias gradients for an empty batch', async () => {
    const out = await crossCheck(be, 'conv2dBackwardWeight', (m: Maker) => ({
      x: m.empty(0), xShape: [0, 2, 5, 5], dy: m.empty(0), dw: m.f(new Float32Array(3 * 2 * 9).fill(NaN)), wShape: [3, 2, 3, 3],
      dbias: m.f([NaN, NaN, NaN]), stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1,
    }), ['dw', 'dbias']);
    assert.deepEqual([...out.dbias], [0, 0, 0]);
  });

  it('refuses a weight whose input channels do not match the groups, naming the field', () => {
    assert.throws(
      () => be.conv2dForward({ x: be.zeros(2 * 4 * 5 * 5), xShape: [2, 4, 5, 5], weight: be.zeros(3 * 4 * 9), wShape: [3, 4, 3, 3], bias: null, y: be.zeros(2 * 3 * 9), stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 2 }),
      /conv2dForward: groups must be >= 1 and divide|conv2dForward: wShape must have C\/groups = 2 input channels, got 4/,
    );
  });
});

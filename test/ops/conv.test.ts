import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, functional as F, setNumThreads, getNumThreads } from '../../src/index.js';
import { backend } from '../../src/backend/index.js';
import { loadFixtures, type FixtureCase } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/assert.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { forEachIsa, useIsa } from '../helpers/isa.js';
import { forEachDevice } from '../helpers/device.js';

type Pair = number | [number, number];
interface ConvOpts {
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  groups: number;
}

const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** Geometry shared by the float64 reference forward and backward. */
function geometry(xs: number[], ws: number[], o: ConvOpts) {
  const [N, C, H, W] = xs;
  const [O, Cg, KH, KW] = ws;
  const [SH, SW] = pair(o.stride);
  const [PH, PW] = pair(o.padding);
  const [DH, DW] = pair(o.dilation);
  const OH = Math.floor((H + 2 * PH - DH * (KH - 1) - 1) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - DW * (KW - 1) - 1) / SW) + 1;
  const Og = O / o.groups;
  return { N, C, H, W, O, Cg, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, Og };
}

/**
 * Visits every (output element, input element, weight element) triple of a direct convolution:
 * y[n, o, oh, ow] += x[n, c, ih, iw] * w[o, c - g*Cg, i, j] with ih = oh*SH - PH + i*DH.
 */
function forEachTap(xs: number[], ws: number[], o: ConvOpts, visit: (yi: number, xi: number, wi: number, oc: number) => void): void {
  const g = geometry(xs, ws, o);
  for (let n = 0; n < g.N; n++)
    for (let oc = 0; oc < g.O; oc++) {
      const grp = Math.floor(oc / g.Og);
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++) {
          const yi = ((n * g.O + oc) * g.OH + oh) * g.OW + ow;
          for (let c = 0; c < g.Cg; c++)
            for (let i = 0; i < g.KH; i++) {
              const ih = oh * g.SH - g.PH + i * g.DH;
              if (ih < 0 || ih >= g.H) continue;
              for (let j = 0; j < g.KW; j++) {
                const iw = ow * g.SW - g.PW + j * g.DW;
                if (iw < 0 || iw >= g.W) continue;
                const xi = ((n * g.C + grp * g.Cg + c) * g.H + ih) * g.W + iw;
                const wi = ((oc * g.Cg + c) * g.KH + i) * g.KW + j;
                visit(yi, xi, wi, oc);
              }
            }
        }
    }
}

function refConv(x: ArrayLike<number>, xs: number[], w: ArrayLike<number>, ws: number[], b: ArrayLike<number> | null, o: ConvOpts): Float64Array {
  const g = geometry(xs, ws, o);
  const y = new Float64Array(g.N * g.O * g.OH * g.OW);
  if (b !== null) for (let k = 0; k < y.length; k++) y[k] = b[Math.floor(k / (g.OH * g.OW)) % g.O];
  forEachTap(xs, ws, o, (yi, xi, wi) => (y[yi] += x[xi] * w[wi]));
  return y;
}

function refConvBackward(x: ArrayLike<number>, xs: number[], w: ArrayLike<number>, ws: number[], gy: ArrayLike<number>, o: ConvOpts) {
  const gx = new Float64Array(x.length);
  const gw = new Float64Array(w.length);
  const gb = new Float64Array(ws[0]);
  const g = geometry(xs, ws, o);
  for (let k = 0; k < gy.length; k++) gb[Math.floor(k / (g.OH * g.OW)) % g.O] += gy[k];
  forEachTap(xs, ws, o, (yi, xi, wi) => {
    gx[xi] += gy[yi] * w[wi];
    gw[wi] += gy[yi] * x[xi];
  });
  return { gx, gw, gb };
}

function optsOf(c: FixtureCase): ConvOpts {
  const p = c.params as { stride: Pair; padding: Pair; dilation: Pair; groups: number };
  return { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups };
}

function runCase(c: FixtureCase) {
  const t = c.tensors;
  const x = new Tensor(t.x.data.slice(), t.x.shape, { requiresGrad: true });
  const w = new Tensor(t.w.data.slice(), t.w.shape, { requiresGrad: true });
  const b = t.b === undefined ? null : new Tensor(t.b.data.slice(), t.b.shape, { requiresGrad: true });
  const y = F.conv2d(x, w, b, optsOf(c));
  y.backward(new Tensor(t.gy.data.slice(), t.gy.shape));
  return { y: y.data(), gx: x.grad!.data(), gw: w.grad!.data(), gb: b === null ? null : b.grad!.data(), shape: y.shape };
}

const cases = loadFixtures('conv');
const originalThreads = getNumThreads();
after(() => setNumThreads(originalThreads));

forEachDevice('conv2d', (device, { t, read }) => {
  for (const c of cases) {
    it(`matches PyTorch for "${c.name}" in output and every gradient`, async () => {
      const f = c.tensors;
      const x = t(f.x.data.slice(), f.x.shape, true);
      const w = t(f.w.data.slice(), f.w.shape, true);
      const b = f.b === undefined ? null : t(f.b.data.slice(), f.b.shape, true);
      const y = F.conv2d(x, w, b, optsOf(c));
      assert.equal(y.device, device);
      y.backward(t(f.gy.data.slice(), f.gy.shape));
      assert.deepEqual(y.shape, f.y.shape);
      assertClose(await read(y), f.y.data, `${c.name}: output`);
      assertClose(await read(x.grad!), f.gx.data, `${c.name}: input gradient`);
      assertClose(await read(w.grad!), f.gw.data, `${c.name}: weight gradient`, { scaleToMax: true });
      if (f.gb !== undefined) assertClose(await read(b!.grad!), f.gb.data, `${c.name}: bias gradient`);
      else assert.equal(b, null);
    });
  }

  it('sends gradients only to the inputs that require them', async () => {
    const x = t(sineData(2 * 3 * 4 * 4, 1), [2, 3, 4, 4]);
    const w = t(sineData(2 * 3 * 9, 2), [2, 3, 3, 3]);
    const b = t(sineData(2, 3), [2], true);
    const y = F.conv2d(x, w, b, { padding: 1 });
    y.backward(t(new Float32Array(y.size).fill(1), y.shape));
    assert.equal(x.grad, null);
    assert.equal(w.grad, null);
    assertClose(await read(b.grad!), [32, 32], 'bias gradient is the number of output positions');
  });

  if (device !== 'cpu') {
    it('rejects an input and a weight on two devices, naming conv2d and both devices', () => {
      const x = new Tensor(sineData(1 * 2 * 4 * 4, 1), [1, 2, 4, 4]);
      const w = t(sineData(3 * 2 * 9, 2), [3, 2, 3, 3]);
      assert.throws(() => F.conv2d(x, w), new RegExp(`conv2d: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
      assert.throws(() => F.conv2d(t(sineData(32, 1), [1, 2, 4, 4]), w, new Tensor(new Float32Array(3), [3])), new RegExp(`conv2d: .*'${device}' and 'cpu'`));
    });
  }
});

forEachIsa((isa) => {
  describe(`conv2d on the ${isa} path`, () => {
    before(() => useIsa(isa));

    for (const c of cases) {
      it(`matches PyTorch for "${c.name}" with 1 and 2 threads, bitwise equal across thread counts`, () => {
        useIsa(isa);
        setNumThreads(1);
        const one = runCase(c);
        setNumThreads(2);
        const two = runCase(c);
        setNumThreads(originalThreads);
        assert.deepEqual(one.shape, c.tensors.y.shape);
        assertClose(one.y, c.tensors.y.data, `${c.name}: output`);
        assertClose(one.gx, c.tensors.gx.data, `${c.name}: input gradient`);
        assertClose(one.gw, c.tensors.gw.data, `${c.name}: weight gradient`, { scaleToMax: true });
        if (c.tensors.gb !== undefined) assertClose(one.gb!, c.tensors.gb.data, `${c.name}: bias gradient`);
        else assert.equal(one.gb, null);
        // The kernels partition work independently of the thread count (see native/conv.cc).
        assert.deepEqual(two.y, one.y);
        assert.deepEqual(two.gx, one.gx);
        assert.deepEqual(two.gw, one.gw);
        assert.deepEqual(two.gb, one.gb);
      });
    }

    it('matches a float64 reference for the ResNet layer 64->64 3x3 padding 1', () => {
      useIsa(isa);
      const o: ConvOpts = { stride: 1, padding: 1, dilation: 1, groups: 1 };
      const xs = [2, 64, 6, 6];
      const ws = [64, 64, 3, 3];
      const x = new Tensor(sineData(2 * 64 * 36, 1), xs, { requiresGrad: true });
      const w = new Tensor(sineData(64 * 64 * 9, 2).map((v) => v * 0.05), ws, { requiresGrad: true });
      const b = new Tensor(sineData(64, 3), [64], { requiresGrad: true });
      const y = F.conv2d(x, w, b, o);
      const gy = sineData(y.size, 4);
      y.backward(new Tensor(gy, y.shape));
      assertClose(y.buffer, refConv(x.buffer, xs, w.buffer, ws, b.buffer, o), 'forward');
      const ref = refConvBackward(x.buffer, xs, w.buffer, ws, gy, o);
      assertClose(x.grad!.buffer, ref.gx, 'input gradient');
      assertClose(w.grad!.buffer, ref.gw, 'weight gradient');
      assertClose(b.grad!.buffer, ref.gb, 'bias gradient');
    });
  });
});

/**
 * Shapes chosen to reach each path of native/conv.cc (on the scalar path all of them run im2col +
 * sgemm). Batched im2col + sgemm needs more than 24 output channels per group; its chunk holds
 * floor(65536 / (max(K, Og) * P)) images, and the weight gradient cuts the batch into min(N, 8)
 * parts, each taken in such chunks. The direct path covers <= 24 output channels per group, with
 * the row kernel where rows fill the vector lanes better than the channels (stride 1); its input
 * gradient needs stride 1 and not much more work than the GEMM path (a "same" padding).
 */
const pathShapes: { name: string; xs: number[]; ws: number[]; o: ConvOpts; bias: boolean }[] = [
  // K = 72, P = 256: 3 images per chunk, so 20 images are forward chunks 3, ..., 3, 2 and weight
  // gradient parts of 2 or 3 images (one chunk each); 7 images give chunks 3, 3, 1.
  { name: 'batched GEMM, 3 images per chunk, last chunk partial', xs: [20, 8, 16, 16], ws: [32, 8, 3, 3], o: { stride: 1, padding: 1, dilation: 1, groups: 1 }, bias: true },
  { name: 'batched GEMM, 7 images in chunks 3, 3, 1', xs: [7, 8, 16, 16], ws: [32, 8, 3, 3], o: { stride: 1, padding: 1, dilation: 1, groups: 1 }, bias: false },
  // K = 36, Og = 32, P = 25: one chunk of all 10 images per group.
  { name: 'batched GEMM, groups 2, stride 2', xs: [10, 8, 10, 10], ws: [64, 4, 3, 3], o: { stride: 2, padding: 1, dilation: 1, groups: 2 }, bias: true },
  { name: 'batched GEMM, dilation 2, no bias', xs: [9, 3, 9, 9], ws: [30, 3, 3, 3], o: { stride: 1, padding: 2, dilation: 2, groups: 1 }, bias: false },
  { name: 'batched GEMM, 1x1', xs: [12, 6, 3, 3], ws: [40, 6, 1, 1], o: { stride: 1, padding: 0, dilation: 1, groups: 1 }, bias: true },
  { name: 'direct, LeNet-5 conv1 (1 -> 6, 5x5, padding 2)', xs: [9, 1, 28, 28], ws: [6, 1, 5, 5], o: { stride: 1, padding: 2, dilation: 1, groups: 1 }, bias: true },
  { name: 'direct, LeNet-5 conv2 (6 -> 16, 5x5)', xs: [11, 6, 14, 14], ws: [16, 6, 5, 5], o: { stride: 1, padding: 0, dilation: 1, groups: 1 }, bias: true },
  { name: 'direct, 20 channels (3 vectors), odd width', xs: [5, 10, 12, 13], ws: [20, 10, 5, 5], o: { stride: 1, padding: 0, dilation: 1, groups: 1 }, bias: true },
  { name: 'direct, stride 2 and rectangular kernel', xs: [4, 3, 11, 30], ws: [10, 3, 3, 2], o: { stride: [2, 3], padding: [1, 0], dilation: 1, groups: 1 }, bias: false },
  // Row kernel: rows of 45 outputs are cut into 32 + 13, 7 channels into blocks of 2, 2, 3 and 3, 4.
  { name: 'direct rows, 7 channels, rows of 45', xs: [3, 2, 6, 45], ws: [7, 2, 3, 3], o: { stride: 1, padding: 1, dilation: 1, groups: 1 }, bias: true },
  { name: 'direct rows, vertical stride 2', xs: [4, 3, 12, 20], ws: [5, 3, 3, 3], o: { stride: [2, 1], padding: 1, dilation: 1, groups: 1 }, bias: false },
  { name: 'direct, groups 3', xs: [5, 6, 9, 9], ws: [15, 2, 3, 3], o: { stride: 1, padding: 1, dilation: 1, groups: 3 }, bias: true },
  { name: 'direct input gradient, 16 channels, padding 1', xs: [6, 16, 7, 9], ws: [12, 16, 3, 3], o: { stride: 1, padding: 1, dilation: 1, groups: 1 }, bias: true },
  { name: 'direct input gradient, dilation 2, padding 2', xs: [3, 8, 9, 8], ws: [24, 8, 3, 3], o: { stride: 1, padding: 2, dilation: 2, groups: 1 }, bias: false },
];

forEachIsa((isa) => {
  describe(`conv2d kernel paths on the ${isa} path`, () => {
    before(() => useIsa(isa));
    for (const s of pathShapes) {
      it(`match a float64 reference and are bitwise equal with 1 and 2 threads (${s.name})`, () => {
        useIsa(isa);
        const xn = s.xs.reduce((a, d) => a * d, 1);
        const wn = s.ws.reduce((a, d) => a * d, 1);
        const fanIn = wn / s.ws[0];
        const xd = sineData(xn, 11);
        const wd = sineData(wn, 12).map((v) => v / Math.sqrt(fanIn));
        const bd = s.bias ? sineData(s.ws[0], 13) : null;
        const run = (threads: number) => {
          setNumThreads(threads);
          const x = new Tensor(xd.slice(), s.xs, { requiresGrad: true });
          const w = new Tensor(wd.slice(), s.ws, { requiresGrad: true });
          const b = bd === null ? null : new Tensor(bd.slice(), [s.ws[0]], { requiresGrad: true });
          const y = F.conv2d(x, w, b, s.o);
          y.backward(new Tensor(sineData(y.size, 14), y.shape));
          return { y: y.data(), gx: x.grad!.data(), gw: w.grad!.data(), gb: b === null ? null : b.grad!.data() };
        };
        const one = run(1);
        const two = run(2);
        setNumThreads(originalThreads);
        assertClose(one.y, refConv(xd, s.xs, wd, s.ws, bd, s.o), `${s.name}: output`);
        const yn = one.y.length;
        const ref = refConvBackward(xd, s.xs, wd, s.ws, sineData(yn, 14), s.o);
        assertClose(one.gx, ref.gx, `${s.name}: input gradient`, { scaleToMax: true });
        assertClose(one.gw, ref.gw, `${s.name}: weight gradient`, { scaleToMax: true });
        if (bd !== null) assertClose(one.gb!, ref.gb, `${s.name}: bias gradient`);
        assert.deepEqual(two.y, one.y);
        assert.deepEqual(two.gx, one.gx);
        assert.deepEqual(two.gw, one.gw);
        assert.deepEqual(two.gb, one.gb);
      });
    }
  });
});

/** Deterministic values in [-1, 1] without a generator. */
function sineData(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7318 + seed * 1.913) * Math.cos(i * 0.1171 + seed));
}

describe('conv2d gradients', () => {
  const shapes: { name: string; xs: number[]; ws: number[]; o: ConvOpts; bias: boolean }[] = [
    { name: 'stride 2, padding 1, groups 2', xs: [2, 4, 5, 6], ws: [4, 2, 3, 3], o: { stride: 2, padding: 1, dilation: 1, groups: 2 }, bias: true },
    { name: 'dilation 2, rectangular kernel', xs: [1, 2, 6, 7], ws: [3, 2, 2, 3], o: { stride: 1, padding: [1, 2], dilation: 2, groups: 1 }, bias: true },
    { name: '1x1 without bias', xs: [2, 3, 3, 4], ws: [2, 3, 1, 1], o: { stride: 1, padding: 0, dilation: 1, groups: 1 }, bias: false },
  ];
  for (const s of shapes) {
    it(`agree with finite differences of a float64 reference (${s.name})`, () => {
      const inputs = [
        { data: sineData(s.xs.reduce((a, d) => a * d, 1), 5), shape: s.xs },
        { data: sineData(s.ws.reduce((a, d) => a * d, 1), 6), shape: s.ws },
      ];
      if (s.bias) inputs.push({ data: sineData(s.ws[0], 7), shape: [s.ws[0]] });
      gradcheck(
        `conv2d ${s.name}`,
        (t) => F.conv2d(t[0], t[1], t[2] ?? null, s.o),
        (v) => refConv(v[0], s.xs, v[1], s.ws, v[2] ?? null, s.o),
        inputs,
      );
    });
  }

});

describe('conv2d argument errors', () => {
  const x = new Tensor(new Float32Array(2 * 4 * 5 * 5), [2, 4, 5, 5]);
  const w = new Tensor(new Float32Array(6 * 4 * 3 * 3), [6, 4, 3, 3]);

  it('rejects an input that is not 4-D', () => {
    assert.throws(() => F.conv2d(new Tensor(new Float32Array(100), [4, 5, 5]), w), /conv2d: input must have rank 4, got rank 3 \(shape \[4, 5, 5\]\)/);
  });
  it('rejects a weight that is not 4-D', () => {
    assert.throws(() => F.conv2d(x, new Tensor(new Float32Array(24), [6, 4])), /conv2d: weight must have rank 4, got rank 2/);
  });
  it('rejects a channel mismatch between input and weight', () => {
    const w3 = new Tensor(new Float32Array(6 * 3 * 9), [6, 3, 3, 3]);
    assert.throws(() => F.conv2d(x, w3), /conv2d: input has 4 channels but weight \[6, 3, 3, 3\] with groups=1 expects 3/);
  });
  it('rejects groups that do not divide the channels', () => {
    assert.throws(() => F.conv2d(x, w, null, { groups: 3 }), /conv2d: groups \(3\) must divide the input channels, got 4/);
    const w2 = new Tensor(new Float32Array(5 * 2 * 9), [5, 2, 3, 3]);
    assert.throws(() => F.conv2d(x, w2, null, { groups: 2 }), /conv2d: groups \(2\) must divide the output channels, got 5/);
    assert.throws(() => F.conv2d(x, w, null, { groups: 0 }), /conv2d: groups must be an integer >= 1, got 0/);
  });
  it('rejects a kernel larger than the padded input', () => {
    const big = new Tensor(new Float32Array(6 * 4 * 49), [6, 4, 7, 7]);
    assert.throws(() => F.conv2d(x, big, null, { padding: 0 }), /conv2d: kernel \(extent 7 with dilation\) is larger than the padded input \(5\)/);
    assert.throws(() => F.conv2d(x, w, null, { dilation: 3 }), /conv2d: kernel \(extent 7 with dilation\) is larger than the padded input \(5\)/);
  });
  it('rejects negative padding', () => {
    assert.throws(() => F.conv2d(x, w, null, { padding: -1 }), /conv2d: padding must be an integer >= 0 or a pair \[h, w\] of them, got -1/);
    assert.throws(() => F.conv2d(x, w, null, { padding: [0, -2] }), /conv2d: padding must be an integer >= 0 .*got \[0, -2\]/);
  });
  it('rejects a non-positive stride or dilation', () => {
    assert.throws(() => F.conv2d(x, w, null, { stride: 0 }), /conv2d: stride must be an integer >= 1 .*got 0/);
    assert.throws(() => F.conv2d(x, w, null, { stride: [1, -1] }), /conv2d: stride must be an integer >= 1 .*got \[1, -1\]/);
    assert.throws(() => F.conv2d(x, w, null, { dilation: 0 }), /conv2d: dilation must be an integer >= 1 .*got 0/);
  });
  it('rejects a bias of the wrong shape', () => {
    assert.throws(() => F.conv2d(x, w, new Tensor(new Float32Array(5), [5])), /conv2d: bias must have shape \[6\] .*got \[5\]/);
    assert.throws(() => F.conv2d(x, w, new Tensor(new Float32Array(6), [1, 6])), /conv2d: bias must have shape \[6\] .*got \[1, 6\]/);
  });
});

describe('conv2d kernels', () => {
  it('refuse storage shorter than the shapes need, naming the kernel and the argument', () => {
    const x = backend.zeros(1 * 2 * 5 * 5);
    const weight = backend.zeros(3 * 2 * 3 * 3);
    const geometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
    assert.throws(
      () => backend.conv2dForward({ x, xShape: [1, 2, 5, 5], weight, wShape: [3, 2, 3, 3], bias: null, y: backend.zeros(26), ...geometry }),
      /conv2dForward: y \(argument 5\) must hold at least 27 floats, got 26/,
    );
    assert.throws(
      () => backend.conv2dBackwardWeight({ x, xShape: [1, 2, 5, 5], dy: backend.zeros(27), dw: backend.zeros(17), wShape: [3, 2, 3, 3], dbias: null, ...geometry }),
      /conv2dBackwardWeight: dw \(argument 3\) must hold at least 54 floats, got 17/,
    );
    assert.throws(
      () => backend.conv2dBackwardInput({ dy: backend.zeros(27), weight, wShape: [3, 2, 3, 3], dx: x, xShape: [1, 2, 5, 5], ...geometry, groups: 2 }),
      /conv2dBackwardInput: groups \(argument 8\) must be >= 1 and divide the input and output channels/,
    );
  });

  it('refuse a handle that was released', () => {
    const y = backend.empty(27);
    backend.release(y);
    assert.throws(
      () => backend.conv2dForward({ x: backend.zeros(50), xShape: [1, 2, 5, 5], weight: backend.zeros(54), wShape: [3, 2, 3, 3], bias: null, y, stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 }),
      /conv2dForward: this tensor's memory was released/,
    );
  });
});

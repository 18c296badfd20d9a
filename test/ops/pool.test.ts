import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, functional as F, setNumThreads, getNumThreads } from '../../src/index.js';
import { backend } from '../../src/backend/index.js';
import { loadFixtures, type FixtureCase } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/assert.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { forEachIsa, useIsa } from '../helpers/isa.js';
import { forEachDevice, type DeviceTools } from '../helpers/device.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/**
 * Float64 reference of windowed pooling: max (padding is -inf) or average (padding counts as
 * zeros in a KH*KW divisor), out = floor((in + 2p - k) / s) + 1.
 */
function refPool(op: 'max' | 'avg', x: ArrayLike<number>, xs: number[], k: Pair, s: Pair, p: Pair): Float64Array {
  const [N, C, H, W] = xs;
  const [KH, KW] = pair(k);
  const [SH, SW] = pair(s);
  const [PH, PW] = pair(p);
  const OH = Math.floor((H + 2 * PH - KH) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - KW) / SW) + 1;
  const y = new Float64Array(N * C * OH * OW);
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let acc = op === 'max' ? -Infinity : 0;
        for (let i = 0; i < KH; i++)
          for (let j = 0; j < KW; j++) {
            const ih = oh * SH - PH + i;
            const iw = ow * SW - PW + j;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const v = x[(pl * H + ih) * W + iw];
            acc = op === 'max' ? Math.max(acc, v) : acc + v;
          }
        y[(pl * OH + oh) * OW + ow] = op === 'max' ? acc : acc / (KH * KW);
      }
  return y;
}

/** Float64 reference of adaptive average pooling: bin i covers [floor(i*L/OL), ceil((i+1)*L/OL)). */
function refAdaptive(x: ArrayLike<number>, xs: number[], size: Pair): Float64Array {
  const [N, C, H, W] = xs;
  const [OH, OW] = pair(size);
  const y = new Float64Array(N * C * OH * OW);
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const h0 = Math.floor((oh * H) / OH);
        const h1 = Math.ceil(((oh + 1) * H) / OH);
        const w0 = Math.floor((ow * W) / OW);
        const w1 = Math.ceil(((ow + 1) * W) / OW);
        let s = 0;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s += x[(pl * H + h) * W + w];
        y[(pl * OH + oh) * OW + ow] = s / ((h1 - h0) * (w1 - w0));
      }
  return y;
}

function runCase(c: FixtureCase) {
  const t = c.tensors;
  const p = c.params as {
    op: string; kernel: Pair; stride: Pair | null; padding: Pair; outputSize: Pair; dilation?: Pair; ceilMode?: boolean; countIncludePad?: boolean;
  };
  const x = new Tensor(t.x.data.slice(), t.x.shape, { requiresGrad: true });
  const opts = { stride: p.stride ?? undefined, padding: p.padding, ceilMode: p.ceilMode };
  let y: Tensor;
  if (p.op === 'max') y = F.maxPool2d(x, p.kernel, { ...opts, dilation: p.dilation });
  else if (p.op === 'avg') y = F.avgPool2d(x, p.kernel, { ...opts, countIncludePad: p.countIncludePad });
  else y = F.adaptiveAvgPool2d(x, p.outputSize);
  y.backward(new Tensor(t.gy.data.slice(), t.gy.shape));
  return { y: y.data(), gx: x.grad!.data(), shape: y.shape };
}

const cases = loadFixtures('pool');
const originalThreads = getNumThreads();
after(() => setNumThreads(originalThreads));

/** One fixture case on a device: the output and the input gradient, read back. */
async function runCaseOn(c: FixtureCase, { t, read }: DeviceTools) {
  const f = c.tensors;
  const p = c.params as {
    op: string; kernel: Pair; stride: Pair | null; padding: Pair; outputSize: Pair; dilation?: Pair; ceilMode?: boolean; countIncludePad?: boolean;
  };
  const x = t(f.x.data.slice(), f.x.shape, true);
  const opts = { stride: p.stride ?? undefined, padding: p.padding, ceilMode: p.ceilMode };
  let y: Tensor;
  if (p.op === 'max') y = F.maxPool2d(x, p.kernel, { ...opts, dilation: p.dilation });
  else if (p.op === 'avg') y = F.avgPool2d(x, p.kernel, { ...opts, countIncludePad: p.countIncludePad });
  else y = F.adaptiveAvgPool2d(x, p.outputSize);
  y.backward(t(f.gy.data.slice(), f.gy.shape));
  return { y: await read(y), gx: await read(x.grad!), shape: y.shape, device: y.device };
}

forEachDevice('pooling', (device, tools) => {
  for (const c of cases) {
    it(`matches PyTorch for "${c.name}" in output and input gradient`, async () => {
      const r = await runCaseOn(c, tools);
      assert.equal(r.device, device);
      assert.deepEqual(r.shape, c.tensors.y.shape);
      assertClose(r.y, c.tensors.y.data, `${c.name}: output`);
      assertClose(r.gx, c.tensors.gx.data, `${c.name}: input gradient`);
    });
  }

  it('propagates NaN through max pooling, also without a gradient', async () => {
    const y = F.maxPool2d(tools.t([1, NaN, 3, 4], [1, 1, 2, 2]), 2);
    assert.ok(Number.isNaN((await tools.read(y))[0]));
  });

  it('averages a constant to itself, with and without counting the padding', async () => {
    const x = tools.t(new Float32Array(16).fill(2), [1, 1, 4, 4]);
    assertClose(await tools.read(F.avgPool2d(x, 3, { stride: 1, padding: 1, countIncludePad: false })), new Float32Array(16).fill(2), 'countIncludePad false');
    // A corner window holds 4 of 9 values inside the input: 4 * 2 / 9.
    assert.ok(Math.abs((await tools.read(F.avgPool2d(x, 3, { stride: 1, padding: 1 })))[0] - 8 / 9) < 1e-6);
    assertClose(await tools.read(F.adaptiveAvgPool2d(x, 1)), [2], 'global average');
  });
});

function sineData(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7318 + seed * 1.913) * Math.cos(i * 0.1171 + seed));
}

forEachIsa((isa) => {
  describe(`pooling on the ${isa} path`, () => {
    before(() => useIsa(isa));

    for (const c of cases) {
      it(`matches PyTorch for "${c.name}" with 1 and 2 threads`, () => {
        useIsa(isa);
        setNumThreads(1);
        const one = runCase(c);
        setNumThreads(2);
        const two = runCase(c);
        setNumThreads(originalThreads);
        assert.deepEqual(one.shape, c.tensors.y.shape);
        assertClose(one.y, c.tensors.y.data, `${c.name}: output`);
        assertClose(one.gx, c.tensors.gx.data, `${c.name}: input gradient`);
        assert.deepEqual(two.y, one.y);
        assert.deepEqual(two.gx, one.gx);
      });
    }

    it('2x2 max pool: values and indices by the scan-order rule for every row-tail length, with ties and NaNs', () => {
      useIsa(isa);
      // W = 2..41 gives output widths 1..20 (every remainder mod 8 of the 8-wide SIMD blocks),
      // odd W and H leave an unused last column / row; values from a small set make ties common.
      for (let W = 2; W <= 41; W++) {
        const H = 5;
        const xs = [2, 3, H, W];
        const n = 2 * 3 * H * W;
        const x = Float32Array.from({ length: n }, (_, i) => (i % 23 === 7 ? NaN : Math.round(Math.sin(i * 1.7 + W) * 3)));
        const OH = Math.floor(H / 2), OW = Math.floor(W / 2);
        const m = 2 * 3 * OH * OW;
        const ys = backend.empty(m);
        const indices = backend.emptyIndex(m);
        backend.maxPool2dForward({ x: backend.upload(x), xShape: xs, y: ys, indices, kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
        const y = backend.downloadSync(ys);
        const idx = backend.downloadIndexSync(indices);
        for (let pl = 0; pl < 6; pl++)
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              let best = -Infinity;
              let bi = -1;
              for (const [dh, dw] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
                const at = (2 * oh + dh) * W + 2 * ow + dw;
                const v = x[pl * H * W + at];
                if (bi < 0 || v > best || Number.isNaN(v)) {
                  best = v;
                  bi = at;
                }
              }
              const o = (pl * OH + oh) * OW + ow;
              assert.equal(idx[o], bi, `W ${W}, plane ${pl}, output (${oh}, ${ow}): index`);
              assert.ok(Object.is(y[o], best) || (Number.isNaN(y[o]) && Number.isNaN(best)), `W ${W}, plane ${pl}, output (${oh}, ${ow}): ${y[o]} != ${best}`);
            }
      }
    });

    it('saves the same max-pool indices as PyTorch', () => {
      useIsa(isa);
      for (const c of cases.filter((k) => k.tensors.indices !== undefined)) {
        const p = c.params as { kernel: Pair; stride: Pair | null; padding: Pair; dilation?: Pair; ceilMode?: boolean };
        const k = pair(p.kernel);
        const xs = c.tensors.x.shape;
        const outShape = c.tensors.y.shape;
        const n = outShape.reduce((a, d) => a * d, 1);
        const indices = backend.emptyIndex(n);
        backend.maxPool2dForward({
          x: backend.upload(c.tensors.x.data), xShape: xs, y: backend.empty(n), indices,
          kernel: k, stride: pair(p.stride ?? p.kernel), padding: pair(p.padding), dilation: pair(p.dilation ?? 1), ceilMode: p.ceilMode ?? false,
        });
        assert.deepEqual([...backend.downloadIndexSync(indices)], [...c.tensors.indices.data], `${c.name}: indices`);
      }
    });
  });
});

describe('pooling gradients', () => {
  const xs = [2, 2, 5, 6];
  const x = () => [{ data: sineData(2 * 2 * 5 * 6, 3), shape: xs }];
  it('of maxPool2d agree with finite differences of a float64 reference', () => {
    gradcheck('maxPool2d', (t) => F.maxPool2d(t[0], 3, { stride: 2, padding: 1 }), (v) => refPool('max', v[0], xs, 3, 2, 1), x());
  });
  it('of avgPool2d agree with finite differences of a float64 reference', () => {
    gradcheck('avgPool2d', (t) => F.avgPool2d(t[0], [3, 2], { stride: [1, 2], padding: 1 }), (v) => refPool('avg', v[0], xs, [3, 2], [1, 2], 1), x());
  });
  it('of adaptiveAvgPool2d agree with finite differences of a float64 reference', () => {
    gradcheck('adaptiveAvgPool2d', (t) => F.adaptiveAvgPool2d(t[0], [3, 4]), (v) => refAdaptive(v[0], xs, [3, 4]), x());
  });
});

describe('pooling semantics', () => {
  it('defaults the stride to the kernel size', () => {
    const x = new Tensor(sineData(1 * 1 * 6 * 6, 1), [1, 1, 6, 6]);
    assert.deepEqual(F.maxPool2d(x, 2).shape, [1, 1, 3, 3]);
    assert.deepEqual(F.avgPool2d(x, 3).shape, [1, 1, 2, 2]);
  });
  it('sizes ceil-mode outputs as PyTorch, dropping a last window that would start in the right padding', () => {
    // torch 1.13: max_pool2d(ones(1,1,5,5), 2, ceil_mode=True) -> 3x3; with stride 2 and padding 1
    // -> 3x3, not 4x4: a 4th window would start at 3 * 2 = 6 >= in + pad = 6, so it is dropped;
    // max_pool2d(ones(1,1,6,6), 3, 2, 1, ceil_mode=True) -> 4x4 (its 4th window starts at 6 < 7).
    const ones = (n: number): Tensor => new Tensor(new Float32Array(n * n).fill(1), [1, 1, n, n]);
    assert.deepEqual(F.maxPool2d(ones(5), 2, { ceilMode: true }).shape, [1, 1, 3, 3]);
    assert.deepEqual(F.maxPool2d(ones(5), 2, { stride: 2, padding: 1, ceilMode: true }).shape, [1, 1, 3, 3]);
    assert.deepEqual(F.maxPool2d(ones(6), 3, { stride: 2, padding: 1, ceilMode: true }).shape, [1, 1, 4, 4]);
  });
  it('rejects dilation for average pooling, which PyTorch does not have', () => {
    const x = new Tensor(new Float32Array(36), [1, 1, 6, 6]);
    assert.throws(() => F.avgPool2d(x, 2, { dilation: 2 } as never), /avgPool2d: options.dilation is not supported/);
  });
  it('propagates NaN through max pooling', () => {
    const x = new Tensor(new Float32Array([1, NaN, 3, 4]), [1, 1, 2, 2]);
    assert.ok(Number.isNaN(F.maxPool2d(x, 2).item()));
  });
});

describe('pooling kernels', () => {
  it('name the parameter field of a bad argument', () => {
    const dy = backend.upload(new Float32Array([1, 2]));
    const indices = backend.uploadIndex(new Int32Array([0, 9]));
    assert.throws(
      () => backend.maxPool2dBackward({ dy, indices, outShape: [1, 2, 1, 1], dx: backend.empty(8), xShape: [1, 2, 2, 2] }),
      /maxPool2dBackward: indices \(argument 1\) holds an index outside the input plane/,
    );
    assert.throws(
      () => backend.avgPool2dForward({ x: backend.zeros(8), xShape: [1, 2, 2, 2], y: backend.empty(1), kernel: [2, 2], stride: [2, 2], padding: [0, 0] }),
      /avgPool2dForward: y \(argument 2\) must hold at least 2 floats, got 1/,
    );
  });
});

describe('pooling argument errors', () => {
  const x = new Tensor(new Float32Array(2 * 3 * 5 * 5), [2, 3, 5, 5]);
  it('rejects an input that is not 4-D', () => {
    const x3 = new Tensor(new Float32Array(75), [3, 5, 5]);
    assert.throws(() => F.maxPool2d(x3, 2), /maxPool2d: input must have rank 4, got rank 3 \(shape \[3, 5, 5\]\)/);
    assert.throws(() => F.avgPool2d(x3, 2), /avgPool2d: input must have rank 4, got rank 3/);
    assert.throws(() => F.adaptiveAvgPool2d(x3, 2), /adaptiveAvgPool2d: input must have rank 4, got rank 3/);
  });
  it('rejects padding larger than half the kernel, and negative padding', () => {
    assert.throws(() => F.maxPool2d(x, 3, { padding: 2 }), /maxPool2d: padding must be at most half of kernelSize, got padding \[2, 2\] for kernelSize \[3, 3\]/);
    assert.throws(() => F.avgPool2d(x, 2, { padding: -1 }), /avgPool2d: padding must be an integer >= 0 .*got -1/);
  });
  it('rejects a non-positive kernel size or stride', () => {
    assert.throws(() => F.maxPool2d(x, 0), /maxPool2d: kernelSize must be an integer >= 1 .*got 0/);
    assert.throws(() => F.avgPool2d(x, 2, { stride: [1, 0] }), /avgPool2d: stride must be an integer >= 1 .*got \[1, 0\]/);
    assert.throws(() => F.adaptiveAvgPool2d(x, [2, 0]), /adaptiveAvgPool2d: outputSize must be an integer >= 1 .*got \[2, 0\]/);
  });
  it('rejects a kernel larger than the padded input', () => {
    assert.throws(() => F.maxPool2d(x, 6), /maxPool2d: kernel \(extent 6 with dilation\) is larger than the padded input \(5\)/);
  });
});

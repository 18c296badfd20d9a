// The fused kernels of native/channel_norm.cc (LayerNorm2d and RmsNorm2d per position, FRN + TLU
// per row, EvoNorm-S0 per group, EvoNorm-B0 per row), on every supported ISA: against float64 references across position blocks,
// and bitwise equal with 1 and 2 threads.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, randn, tensor, setNumThreads, getNumThreads, functional as F } from '../../src/index.js';
import { forEachDevice } from '../helpers/device.js';
import { forEachIsa, useIsa } from '../helpers/isa.js';
import { assertClose } from '../helpers/assert.js';
import { gradcheck } from '../helpers/gradcheck.js';

const [N, C, H, W] = [3, 5, 13, 23]; // S = 299: with N = 3, LayerNorm2d/RmsNorm2d cut each sample into four 64-position blocks and a partial one.
const S = H * W;

/** float64 forward and gradients of sum(gy * y) for x, weight, bias. */
function reference(x: Float32Array, w: Float32Array, b: Float32Array, gy: Float32Array, eps: number, center: boolean) {
  const y = new Float64Array(x.length);
  const gx = new Float64Array(x.length);
  const gw = new Float64Array(C);
  const gb = new Float64Array(C);
  for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
    const idx = (c: number): number => (n * C + c) * S + s;
    let mu = 0;
    if (center) for (let c = 0; c < C; c++) mu += x[idx(c)] / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[idx(c)] - mu) ** 2 / C;
    const r = 1 / Math.sqrt(v + eps);
    let sa = 0;
    let sb = 0;
    for (let c = 0; c < C; c++) {
      const xh = (x[idx(c)] - mu) * r;
      y[idx(c)] = xh * w[c] + b[c];
      gw[c] += gy[idx(c)] * xh;
      gb[c] += gy[idx(c)];
      sa += w[c] * gy[idx(c)];
      sb += w[c] * gy[idx(c)] * xh;
    }
    for (let c = 0; c < C; c++) {
      const xh = (x[idx(c)] - mu) * r;
      gx[idx(c)] = r * (w[c] * gy[idx(c)] - (center ? sa / C : 0) - (xh * sb) / C);
    }
  }
  return { y, gx, gw, gb };
}

function run(center: boolean) {
  const x = new Tensor(randn([N, C, H, W], { seed: 1 }).buffer.map((v) => 2 * v + 0.5), [N, C, H, W], { requiresGrad: true });
  const w = new Tensor(randn([C], { seed: 2 }).buffer.map((v) => 1 + 0.3 * v), [C], { requiresGrad: true });
  const b = new Tensor(randn([C], { seed: 3 }).buffer, [C], { requiresGrad: true });
  const gy = randn([N, C, H, W], { seed: 4 });
  const y = center ? F.layerNorm2d(x, w, b, 1e-6) : F.rmsNorm2d(x, w, 1e-6);
  y.backward(gy);
  return { x, w, b, gy, y, outputs: [y.buffer, x.grad!.buffer, w.grad!.buffer, ...(center ? [b.grad!.buffer] : [])] };
}

/** float64 FRN + TLU and the gradients of sum(gy * y) for x, weight, bias, tau. */
function frnReference(x: Float32Array, w: Float32Array, b: Float32Array, tau: Float32Array, gy: Float32Array, eps: number) {
  const y = new Float64Array(x.length);
  const gx = new Float64Array(x.length);
  const gw = new Float64Array(C);
  const gb = new Float64Array(C);
  const gt = new Float64Array(C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const o = (n * C + c) * S;
    let q = 0;
    for (let s = 0; s < S; s++) q += x[o + s] ** 2 / S;
    const r = 1 / Math.sqrt(q + eps);
    let sx = 0;
    const dz = new Float64Array(S);
    for (let s = 0; s < S; s++) {
      const z = x[o + s] * r * w[c] + b[c];
      y[o + s] = Math.max(z, tau[c]);
      dz[s] = z > tau[c] ? gy[o + s] : 0;
      gt[c] += gy[o + s] - dz[s];
      sx += dz[s] * x[o + s];
      gb[c] += dz[s];
    }
    gw[c] += r * sx;
    for (let s = 0; s < S; s++) gx[o + s] = w[c] * r * (dz[s] - (x[o + s] * r * r * sx) / S);
  }
  return { y, gx, gw, gb, gt };
}

function runFrn() {
  const x = new Tensor(randn([N, C, H, W], { seed: 5 }).buffer.map((v) => 2 * v + 0.5), [N, C, H, W], { requiresGrad: true });
  const w = new Tensor(randn([C], { seed: 6 }).buffer.map((v) => 1 + 0.3 * v), [C], { requiresGrad: true });
  const b = new Tensor(randn([C], { seed: 7 }).buffer.map((v) => 0.3 * v), [C], { requiresGrad: true });
  const tau = new Tensor(randn([C], { seed: 8 }).buffer.map((v) => 0.3 * v), [C], { requiresGrad: true });
  const gy = randn([N, C, H, W], { seed: 9 });
  const y = F.filterResponseNorm(x, w, b, tau, 1e-5);
  y.backward(gy);
  return { x, w, b, tau, gy, y, outputs: [y.buffer, x.grad!.buffer, w.grad!.buffer, b.grad!.buffer, tau.grad!.buffer] };
}

describe('Filter Response Normalization kernel on every supported ISA', () => {
  forEachIsa((isa) => {
    it(`computes FRN + TLU and its four gradients as the float64 formula on ${isa}`, () => {
      useIsa(isa);
      const r = runFrn();
      const ref = frnReference(r.x.buffer, r.w.buffer, r.b.buffer, r.tau.buffer, r.gy.buffer, 1e-5);
      assertClose(r.y.buffer, ref.y, 'FRN forward');
      assertClose(r.x.grad!.buffer, ref.gx, 'FRN input gradient', { atol: 1e-4 });
      for (const [name, t, e] of [['weight', r.w, ref.gw], ['bias', r.b, ref.gb], ['tau', r.tau, ref.gt]] as const) {
        assertClose(t.grad!.buffer, e, `FRN ${name} gradient`, { atol: 1e-3, scaleToMax: true });
      }
      assert.ok(ref.gt.some((v) => v !== 0) && ref.gb.some((v) => v !== 0), 'both sides of the TLU are exercised');
    });

    it(`gives bitwise-identical FRN results with 1 and 2 threads on ${isa}`, () => {
      useIsa(isa);
      const threads = getNumThreads();
      after(() => setNumThreads(threads));
      setNumThreads(1);
      const one = runFrn().outputs;
      setNumThreads(2);
      const two = runFrn().outputs;
      one.forEach((a, i) => assert.deepEqual(two[i], a, `output ${i}`));
    });
  });
});

describe('channels-first norm kernel on every supported ISA', () => {
  forEachIsa((isa) => {
    for (const center of [true, false]) {
      const name = center ? 'LayerNorm2d' : 'RmsNorm2d';
      it(`computes ${name} and its gradients as the float64 formula across position blocks on ${isa}`, () => {
        useIsa(isa);
        const r = run(center);
        const ref = reference(r.x.buffer, r.w.buffer, center ? r.b.buffer : new Float32Array(C), r.gy.buffer, 1e-6, center);
        assertClose(r.y.buffer, ref.y, `${name} forward`);
        assertClose(r.x.grad!.buffer, ref.gx, `${name} input gradient`, { atol: 1e-4 });
        assertClose(r.w.grad!.buffer, ref.gw, `${name} weight gradient`, { atol: 1e-3, scaleToMax: true });
        if (center) assertClose(r.b.grad!.buffer, ref.gb, `${name} bias gradient`, { atol: 1e-3, scaleToMax: true });
      });

      it(`gives bitwise-identical ${name} results with 1 and 2 threads on ${isa}`, () => {
        useIsa(isa);
        const threads = getNumThreads();
        after(() => setNumThreads(threads));
        setNumThreads(1);
        const one = run(center).outputs;
        setNumThreads(2);
        const two = run(center).outputs;
        one.forEach((a, i) => assert.deepEqual(two[i], a, `output ${i}`));
      });
    }
  });
});

describe('per-sample norms on tensors beyond the caches, on every supported ISA', () => {
  // [2, 64, 128, 256] is 16 MiB: its y and dx rows are written with streaming stores, while one
  // sample (8 MiB) takes the plain stores (LayerNorm2d with the same position blocks).
  const shape = [2, 64, 128, 256];
  const per = shape[1] * shape[2] * shape[3];
  const param = (seed: number, shift: number) => new Tensor(randn([64], { seed }).buffer.map((v) => shift + 0.3 * v), [64]);
  const w = param(7, 1);
  const b = param(8, 0);
  const v = param(9, 0.5);
  const runningVar = param(10, 1.5);
  const tau = param(11, -0.2);
  const ops: [string, (x: Tensor) => Tensor][] = [
    ['LayerNorm2d', (x) => F.layerNorm2d(x, w, b, 1e-6)],
    ['FRN + TLU', (x) => F.filterResponseNorm(x, w, b, tau, 1e-5)],
    ['EvoNorm-S0', (x) => F.evoNormS0(x, 2, v, w, b)],
    ['EvoNorm-B0 in eval', (x) => F.evoNormB0(x, runningVar, v, w, b, { training: false })],
  ];
  forEachIsa((isa) => {
    for (const [name, op] of ops) {
      it(`gives bitwise the same ${name} output and input gradient as one sample at a time on ${isa}`, () => {
        useIsa(isa);
        const xs = randn(shape, { seed: 5 }).buffer;
        const gys = randn(shape, { seed: 6 }).buffer;
        const once = (sample: number | null) => {
          const part = (a: Float32Array) => (sample === null ? a : a.subarray(sample * per, (sample + 1) * per));
          const sh = sample === null ? shape : [1, ...shape.slice(1)];
          const x = new Tensor(part(xs).slice(), sh, { requiresGrad: true });
          const y = op(x);
          y.backward(new Tensor(part(gys).slice(), sh));
          return { y: y.buffer, gx: x.grad!.buffer };
        };
        const all = once(null);
        for (const sample of [0, 1]) {
          const one = once(sample);
          assert.deepEqual(all.y.subarray(sample * per, (sample + 1) * per), one.y, `output of sample ${sample}`);
          assert.deepEqual(all.gx.subarray(sample * per, (sample + 1) * per), one.gx, `input gradient of sample ${sample}`);
        }
      });
    }
  });
});

/** float64 EvoNorm-S0 of x [n, c, s] with g groups. */
function s0Reference(x: Float64Array, v: Float64Array, w: Float64Array, b: Float64Array, n: number, c: number, s: number, g: number): Float64Array {
  const y = new Float64Array(x.length);
  const cg = c / g;
  for (let i = 0; i < n * g; i++) {
    const o = i * cg * s;
    let m = 0;
    for (let k = 0; k < cg * s; k++) m += x[o + k] / (cg * s);
    let q = 0;
    for (let k = 0; k < cg * s; k++) q += (x[o + k] - m) ** 2 / (cg * s);
    const sd = Math.sqrt(q + 1e-5);
    for (let k = 0; k < cg * s; k++) {
      const ch = (i % g) * cg + Math.floor(k / s);
      const xv = x[o + k];
      y[o + k] = ((xv / (1 + Math.exp(-v[ch] * xv))) / sd) * w[ch] + b[ch];
    }
  }
  return y;
}

describe('EvoNorm-S0 kernel on every supported ISA', () => {
  forEachIsa((isa) => {
    it(`matches the float64 formula and finite differences for x, v, weight and bias on ${isa}`, () => {
      useIsa(isa);
      const [n, c, h, w, g] = [2, 6, 2, 5, 3];
      const data = (shape: number[], seed: number, scale: number, shift: number) => ({ data: randn(shape, { seed }).buffer.map((e) => e * scale + shift), shape });
      gradcheck(
        `evoNormS0 ${isa}`, ([x, v, wt, b]) => F.evoNormS0(x, g, v, wt, b, 1e-5),
        ([x, v, wt, b]) => s0Reference(x, v, wt, b, n, c, h * w, g),
        [data([n, c, h, w], 11, 1.5, 0.2), data([c], 12, 0.5, 1), data([c], 13, 0.5, 1), data([c], 14, 0.3, 0)],
      );
    });

    it(`gives bitwise-identical EvoNorm-S0 results with 1 and 2 threads on ${isa}`, () => {
      useIsa(isa);
      const threads = getNumThreads();
      after(() => setNumThreads(threads));
      const once = (): Float32Array[] => {
        const x = new Tensor(randn([N, C + 1, H, W], { seed: 15 }).buffer, [N, C + 1, H, W], { requiresGrad: true });
        const v = new Tensor(new Float32Array(C + 1).fill(0.7), [C + 1], { requiresGrad: true });
        const wt = new Tensor(new Float32Array(C + 1).fill(1.2), [C + 1], { requiresGrad: true });
        const b = new Tensor(new Float32Array(C + 1).fill(0.1), [C + 1], { requiresGrad: true });
        const y = F.evoNormS0(x, 3, v, wt, b, 1e-5);
        y.backward(randn([N, C + 1, H, W], { seed: 16 }));
        return [y.buffer, x.grad!.buffer, v.grad!.buffer, wt.grad!.buffer, b.grad!.buffer];
      };
      setNumThreads(1);
      const one = once();
      setNumThreads(2);
      const two = once();
      one.forEach((a, i) => assert.deepEqual(two[i], a, `output ${i}`));
    });
  });
});

/** float64 EvoNorm-B0 in training (batch variance over n and s) of x [n, c, s]. */
function b0Reference(x: Float64Array, v: Float64Array, w: Float64Array, b: Float64Array, n: number, c: number, s: number): Float64Array {
  const y = new Float64Array(x.length);
  const eps = 1e-3;
  for (let ch = 0; ch < c; ch++) {
    let m = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < s; k++) m += x[(i * c + ch) * s + k] / (n * s);
    let q = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < s; k++) q += (x[(i * c + ch) * s + k] - m) ** 2 / (n * s);
    const left = Math.sqrt(q + eps);
    for (let i = 0; i < n; i++) {
      const o = (i * c + ch) * s;
      let mi = 0;
      for (let k = 0; k < s; k++) mi += x[o + k] / s;
      let qi = 0;
      for (let k = 0; k < s; k++) qi += (x[o + k] - mi) ** 2 / s;
      const sd = Math.sqrt(qi + eps);
      for (let k = 0; k < s; k++) y[o + k] = (x[o + k] / Math.max(left, v[ch] * x[o + k] + sd)) * w[ch] + b[ch];
    }
  }
  return y;
}

describe('EvoNorm-B0 kernel on every supported ISA', () => {
  forEachIsa((isa) => {
    it(`matches the float64 formula and finite differences in training for x, v, weight and bias on ${isa}`, () => {
      useIsa(isa);
      const [n, c, h, w] = [3, 2, 2, 5];
      const data = (shape: number[], seed: number, scale: number, shift: number) => ({ data: randn(shape, { seed }).buffer.map((e) => e * scale + shift), shape });
      gradcheck(
        `evoNormB0 ${isa}`, ([x, v, wt, b]) => F.evoNormB0(x, null, v, wt, b, { training: true }),
        ([x, v, wt, b]) => b0Reference(x, v, wt, b, n, c, h * w),
        [data([n, c, h, w], 21, 1.5, 0.2), data([c], 22, 0.5, 0.5), data([c], 23, 0.5, 1), data([c], 24, 0.3, 0)],
      );
    });

    it(`gives bitwise-identical EvoNorm-B0 results with 1 and 2 threads on ${isa}`, () => {
      useIsa(isa);
      const threads = getNumThreads();
      after(() => setNumThreads(threads));
      const once = (): Float32Array[] => {
        const x = new Tensor(randn([N, C, H, W], { seed: 25 }).buffer, [N, C, H, W], { requiresGrad: true });
        const v = new Tensor(new Float32Array(C).fill(0.7), [C], { requiresGrad: true });
        const wt = new Tensor(new Float32Array(C).fill(1.2), [C], { requiresGrad: true });
        const b = new Tensor(new Float32Array(C).fill(0.1), [C], { requiresGrad: true });
        const y = F.evoNormB0(x, null, v, wt, b, { training: true });
        y.backward(randn([N, C, H, W], { seed: 26 }));
        return [y.buffer, x.grad!.buffer, v.grad!.buffer, wt.grad!.buffer, b.grad!.buffer];
      };
      setNumThreads(1);
      const one = once();
      setNumThreads(2);
      const two = once();
      one.forEach((a, i) => assert.deepEqual(two[i], a, `output ${i}`));
    });
  });
});

forEachDevice('the channel norm ops (LayerNorm2d, RmsNorm2d, FRN, EvoNorm)', (device, { t, read }) => {
  const host = (shape: number[], seed: number, scale: number, shift: number): Float32Array => randn(shape, { seed }).data().map((v) => v * scale + shift);
  const X = [N, C, H, W];

  for (const center of [true, false]) {
    const name = center ? 'LayerNorm2d' : 'RmsNorm2d';
    it(`computes ${name} and its gradients as the float64 formula`, async () => {
      const xs = host(X, 1, 2, 0.5), ws = host([C], 2, 0.3, 1), bs = host([C], 3, 1, 0), gys = host(X, 4, 1, 0);
      const x = t(xs, X, true), w = t(ws, [C], true), b = t(bs, [C], true);
      const y = center ? F.layerNorm2d(x, w, b, 1e-6) : F.rmsNorm2d(x, w, 1e-6);
      y.backward(t(gys, X));
      const ref = reference(xs, ws, center ? bs : new Float32Array(C), gys, 1e-6, center);
      assert.equal(y.device, device);
      assertClose(await read(y), ref.y, `${name} forward`);
      assertClose(await read(x.grad!), ref.gx, `${name} input gradient`, { atol: 1e-4 });
      assertClose(await read(w.grad!), ref.gw, `${name} weight gradient`, { atol: 1e-3, scaleToMax: true });
      if (center) assertClose(await read(b.grad!), ref.gb, `${name} bias gradient`, { atol: 1e-3, scaleToMax: true });
    });
  }

  it('computes FRN + TLU and its four gradients as the float64 formula', async () => {
    const xs = host(X, 5, 2, 0.5), ws = host([C], 6, 0.3, 1), bs = host([C], 7, 0.3, 0), taus = host([C], 8, 0.3, 0), gys = host(X, 9, 1, 0);
    const x = t(xs, X, true), w = t(ws, [C], true), b = t(bs, [C], true), tau = t(taus, [C], true);
    const y = F.filterResponseNorm(x, w, b, tau, 1e-5);
    y.backward(t(gys, X));
    const ref = frnReference(xs, ws, bs, taus, gys, 1e-5);
    assertClose(await read(y), ref.y, 'FRN forward');
    assertClose(await read(x.grad!), ref.gx, 'FRN input gradient', { atol: 1e-4 });
    for (const [n, p, e] of [['weight', w, ref.gw], ['bias', b, ref.gb], ['tau', tau, ref.gt]] as const) {
      assertClose(await read(p.grad!), e, `FRN ${n} gradient`, { atol: 1e-3, scaleToMax: true });
    }
  });

  /** The op on the device and on the CPU (whose gradients the finite-difference suites above check). */
  async function againstCpu(name: string, op: (x: Tensor, v: Tensor, w: Tensor, b: Tensor) => Tensor, ref: ((x: Float64Array, v: Float64Array, w: Float64Array, b: Float64Array) => Float64Array) | null): Promise<void> {
    const [n, c, h, w] = [2, 6, 2, 5];
    const vals = [host([n, c, h, w], 11, 1.5, 0.2), host([c], 12, 0.5, 1), host([c], 13, 0.5, 1), host([c], 14, 0.3, 0)];
    const shapes = [[n, c, h, w], [c], [c], [c]];
    const gys = host([n, c, h, w], 15, 1, 0);
    const onDev = vals.map((v, i) => t(v, shapes[i], true));
    const onCpu = vals.map((v, i) => tensor(v, shapes[i], { device: 'cpu', requiresGrad: true }));
    const y = op(onDev[0], onDev[1], onDev[2], onDev[3]);
    const yc = op(onCpu[0], onCpu[1], onCpu[2], onCpu[3]);
    y.backward(t(gys, [n, c, h, w]));
    yc.backward(tensor(gys, [n, c, h, w], { device: 'cpu' }));
    if (ref !== null) assertClose(await read(y), ref(...(vals.map((v) => Float64Array.from(v)) as [Float64Array, Float64Array, Float64Array, Float64Array])), `${name} forward`, { atol: 1e-4 });
    assertClose(await read(y), yc.data(), `${name} forward as on the CPU`);
    for (let i = 0; i < 4; i++) assertClose(await read(onDev[i].grad!), onCpu[i].grad!.data(), `${name} gradient ${i} as on the CPU`, { atol: 1e-5 });
  }

  it('computes EvoNorm-S0 as the float64 formula, with the CPU gradients', async () => {
    await againstCpu('evoNormS0', (x, v, w, b) => F.evoNormS0(x, 3, v, w, b, 1e-5), (x, v, w, b) => s0Reference(x, v, w, b, 2, 6, 10, 3));
  });

  it('computes EvoNorm-B0 in training as the float64 formula, with the CPU gradients', async () => {
    await againstCpu('evoNormB0', (x, v, w, b) => F.evoNormB0(x, null, v, w, b, { training: true }), (x, v, w, b) => b0Reference(x, v, w, b, 2, 6, 10));
  });

  it('computes EvoNorm-B0 in eval with the running variance on the device', async () => {
    const rvs = host([6], 16, 0.2, 1);
    await againstCpu('evoNormB0 eval', (x, v, w, b) => F.evoNormB0(x, x.device === 'cpu' ? tensor(rvs, [6], { device: 'cpu' }) : t(rvs, [6]), v, w, b, { training: false }), null);
  });

  if (device !== 'cpu') {
    it(`throws naming the op and both devices when a weight on '${device}' meets a CPU input`, () => {
      const w = t(host([C], 2, 0.3, 1), [C]);
      assert.throws(() => F.layerNorm2d(randn(X), w, null), new RegExp(`layerNorm2d: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
      assert.throws(() => F.filterResponseNorm(randn(X), w, null, null), new RegExp(`filterResponseNorm: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
    });
  }
});

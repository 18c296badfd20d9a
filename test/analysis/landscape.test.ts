import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { filterNormalizedDirection, linspace, lossLandscape, type Direction, type LandscapeBatch } from '../../src/analysis/landscape.js';
import { Sequential, Conv2d, BatchNorm2d, FilteredBatchNorm2d, ReLU, Flatten, Linear, Dropout, MaxPool2d } from '../../src/nn/index.js';
import { Generator, Tensor, manualSeed, functional as F } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';

function gaussian(n: number, seed: number): Float32Array {
  const gen = new Generator(seed);
  return Float32Array.from({ length: n }, () => gen.normal());
}

/**
 * Linear(3 -> 2, no bias) with mseLoss against targets X W*^T: the loss at W is the exact
 * quadratic ||X (W - W*)^T||^2 / (2N), evaluated here in float64.
 */
function quadratic(): { model: Linear; batch: LandscapeBatch; target: Tensor; loss: (w: Float64Array) => number; grad: (w: Float64Array) => Float64Array } {
  const N = 6;
  const model = new Linear(3, 2, { bias: false });
  model.weight.buffer.set(gaussian(6, 1));
  const x = gaussian(N * 3, 2);
  const wStar = gaussian(6, 3);
  const y = new Float32Array(N * 2);
  for (let n = 0; n < N; n++) for (let o = 0; o < 2; o++) for (let i = 0; i < 3; i++) y[n * 2 + o] += x[n * 3 + i] * wStar[o * 3 + i];
  const residual = (w: Float64Array): Float64Array => {
    const r = new Float64Array(N * 2);
    for (let n = 0; n < N; n++) for (let o = 0; o < 2; o++) for (let i = 0; i < 3; i++) r[n * 2 + o] += x[n * 3 + i] * (w[o * 3 + i] - wStar[o * 3 + i]);
    return r;
  };
  return {
    model,
    batch: { x: new Tensor(x, [N, 3]), y: new Int32Array(N) },
    target: new Tensor(y, [N, 2]),
    loss: (w) => residual(w).reduce((a, v) => a + v * v, 0) / (2 * N),
    // dL/dW[o, i] = 2 / (2N) * sum_n r[n, o] x[n, i].
    grad: (w) => {
      const r = residual(w);
      const g = new Float64Array(6);
      for (let n = 0; n < N; n++) for (let o = 0; o < 2; o++) for (let i = 0; i < 3; i++) g[o * 3 + i] += (r[n * 2 + o] * x[n * 3 + i]) / N;
      return g;
    },
  };
}

const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));

describe('filterNormalizedDirection', () => {
  it('gives each filter of a weight the norm of the matching filter, and biases and BN parameters a zero direction', () => {
    manualSeed(1);
    const model = new Sequential(new Conv2d(2, 4, 3), new BatchNorm2d(4), new Flatten(), new Linear(4, 3));
    const d = filterNormalizedDirection(model, { seed: 5 });
    const params = model.namedParameters();
    assert.deepEqual(Object.keys(d), params.map(([n]) => n));
    for (const [name, p] of params) {
      if (p.ndim <= 1) {
        assert.ok(d[name].every((v) => v === 0), `${name} has a zero direction`);
        continue;
      }
      const per = p.size / p.shape[0];
      for (let f = 0; f < p.shape[0]; f++) {
        const slice = (a: Float32Array): Float32Array => a.subarray(f * per, (f + 1) * per);
        assertClose([norm(slice(d[name]))], [norm(slice(p.buffer))], `${name} filter ${f}`, { rtol: 1e-5 });
      }
      assert.ok(d[name].some((v, i) => Math.abs(v / p.buffer[i] - d[name][0] / p.buffer[0]) > 1e-3), `${name} is not a multiple of theta`);
    }
    const again = filterNormalizedDirection(model, { seed: 5, ignoreBiasBn: false });
    assert.deepEqual(again['0.weight'], d['0.weight'], 'the weights do not depend on ignoreBiasBn');
    assert.deepEqual(again['1.weight'], model.namedParameters()[2][1].buffer, 'd = theta for BN gamma without ignoreBiasBn');
    assert.notDeepEqual(filterNormalizedDirection(model, { seed: 6 })['0.weight'], d['0.weight']);
  });
});

describe('lossLandscape', () => {
  it('traces the analytic parabola and its gradient norm along a direction of a quadratic loss', () => {
    const q = quadratic();
    const d = filterNormalizedDirection(q.model, { seed: 2 });
    const theta = Float64Array.from(q.model.weight.buffer);
    const alphas = linspace(-2, 2, 9);
    const r = lossLandscape(q.model, [q.batch], { alphas, directions: [d], loss: (out) => F.mseLoss(out, q.target) });
    assert.deepEqual(r.alphas, alphas);
    assert.equal(r.betas, undefined);
    assert.equal(r.loss.length, 1);
    const at = (a: number): Float64Array => Float64Array.from(theta, (t, i) => Math.fround(t + a * d.weight[i]));
    assertClose(r.loss[0], alphas.map((a) => q.loss(at(a))), 'loss', { rtol: 1e-4 });
    assertClose(r.gradNorm![0], alphas.map((a) => norm(q.grad(at(a)))), 'gradient norm', { rtol: 1e-4 });
    // A non-degenerate parabola: X d^T != 0.
    const [l0, l1, l2] = [q.loss(at(-1)), q.loss(at(0)), q.loss(at(1))];
    assert.ok(l0 + l2 - 2 * l1 > 0, 'convex along d');
  });

  it('evaluates theta + alpha d1 + beta d2 on a 2-D grid, one row per beta', () => {
    const q = quadratic();
    const theta = Float64Array.from(q.model.weight.buffer);
    const d1: Direction = { weight: gaussian(6, 8) };
    const d2: Direction = { weight: gaussian(6, 9) };
    const alphas = [-1, 0, 0.5];
    const betas = [-0.5, 1];
    const r = lossLandscape(q.model, [q.batch], { dims: 2, alphas, betas, directions: [d1, d2], loss: (out) => F.mseLoss(out, q.target), gradNorm: false });
    assert.deepEqual(r.betas, betas);
    assert.equal(r.gradNorm, undefined);
    assert.equal(r.loss.length, 2);
    betas.forEach((b, j) => {
      const expected = alphas.map((a) => q.loss(Float64Array.from(theta, (t, i) => Math.fround(t + a * d1.weight[i] + b * d2.weight[i]))));
      assertClose(r.loss[j], expected, `row beta=${b}`, { rtol: 1e-4 });
    });
  });

  /** Conv -> BN -> ReLU -> pool -> FBN -> Linear -> Dropout with trained-looking running stats, and two batches. */
  function convModel(): { model: Sequential; batches: LandscapeBatch[] } {
    manualSeed(3);
    const model = new Sequential(
      new Conv2d(1, 3, 3, { padding: 1 }), new BatchNorm2d(3), new ReLU(), new MaxPool2d(2),
      new FilteredBatchNorm2d(3, { threshold: 2 }), new Flatten(), new Linear(12, 3), new Dropout(0.5));
    const batches = [5, 3].map((n, k) => ({ x: new Tensor(gaussian(n * 16, 10 + k), [n, 1, 4, 4]), y: Int32Array.from({ length: n }, (_, i) => (i + k) % 3) }));
    model.train();
    for (const b of batches) model.call(b.x);
    return { model, batches };
  }

  /** Loss and gradient norm over the batches, weighted by batch size, computed directly. */
  function direct(model: Sequential, batches: LandscapeBatch[]): { loss: number; gradNorm: number } {
    model.zeroGrad();
    let loss = 0;
    for (const b of batches) {
      const l = F.crossEntropy(model.call(b.x), b.y).mul(b.x.shape[0] / 8);
      loss += l.item();
      l.backward();
    }
    const g = model.parameters().map((p) => (p.grad === null ? 0 : p.grad.buffer.reduce((a, v) => a + v * v, 0)));
    return { loss, gradNorm: Math.sqrt(g.reduce((a, v) => a + v, 0)) };
  }

  for (const mode of ['eval', 'train'] as const) {
    it(`matches the directly computed loss and gradient norm at alpha = 0 in ${mode} mode`, () => {
      const { model, batches } = convModel();
      const r = lossLandscape(model, batches, { alphas: [-0.5, 0, 0.5], mode, seed: 4 });
      // Direct reference: the same module modes lossLandscape uses (Dropout stays in eval).
      model.eval();
      if (mode === 'train') for (const m of model.modules()) m.training = !(m instanceof Dropout);
      const buffers = model.namedBuffers().map(([, b]) => b.data());
      const ref = direct(model, batches);
      model.namedBuffers().forEach(([, b], k) => b.buffer.set(buffers[k]));
      assertClose([r.loss[0][1]], [ref.loss], 'loss at alpha = 0', { rtol: 1e-5 });
      assertClose([r.gradNorm![0][1]], [ref.gradNorm], 'gradient norm at alpha = 0', { rtol: 1e-5 });
      assert.ok(r.loss[0][0] !== r.loss[0][1] && r.loss[0][2] !== r.loss[0][1], 'the loss moves along d');
      for (const a of r.acc[0]) assert.ok(a >= 0 && a <= 1);
    });
  }

  it('restores parameters, buffers, modes and gradients bitwise', () => {
    const { model, batches } = convModel();
    const before = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.data()]));
    const lin = model.children()[6] as Linear;
    lin.weight.grad = new Tensor(new Float32Array(36).fill(7), [3, 12]);
    const grad = lin.weight.grad;
    model.children()[1].training = false;
    const modes = model.modules().map((m) => m.training);
    for (const mode of ['eval', 'train'] as const) {
      lossLandscape(model, batches, { dims: 2, alphas: [-1, 1], betas: [0.5], mode });
      for (const [k, v] of Object.entries(model.stateDict())) assert.deepEqual(v.data(), before[k], `${mode}: ${k} is restored`);
      assert.deepEqual(model.modules().map((m) => m.training), modes, `${mode}: modes are restored`);
      assert.equal(lin.weight.grad, grad, `${mode}: gradients are restored`);
    }
  });

  it('rejects directions that do not fit the model', () => {
    const q = quadratic();
    assert.throws(() => lossLandscape(q.model, [q.batch], { directions: [{ bias: new Float32Array(2) }] }), /direction 1 has no entry for parameter 'weight'/);
    assert.throws(() => lossLandscape(q.model, [q.batch], { directions: [{ weight: new Float32Array(5) }] }), /has 5 values, the parameter has 6/);
    assert.throws(() => lossLandscape(q.model, [q.batch], { dims: 2, directions: [{ weight: new Float32Array(6) }] }), /dims 2 needs 2 directions/);
    assert.deepEqual(q.model.weight.data(), quadratic().model.weight.data(), 'a failed call leaves the weights alone');
  });
});

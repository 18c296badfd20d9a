import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamingStats, type DistributionSummary } from '../../src/analysis/stats.js';
import { captureLayerInputs, normLayers } from '../../src/analysis/capture.js';
import { Module, Sequential, Linear, ReLU } from '../../src/nn/index.js';
import { randn, tensor } from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/assert.js';

type Expected = Record<string, number>;

/** Exact statistics match to float64 rounding; approximate ones lie within their stated bounds. */
function checkSummary(s: DistributionSummary, e: Expected, what: string): void {
  assert.equal(s.count, e.count, `${what}: count`);
  assertClose([s.min, s.max], [e.min, e.max], `${what}: min, max`, { rtol: 1e-12, atol: 0 });
  assertClose([s.mean, s.std, s.kurtosis], [e.mean, e.std, e.kurtosis], `${what}: mean, std, kurtosis`, { rtol: 1e-9, atol: 1e-12 });
  for (const q of ['p1', 'q1', 'median', 'q3', 'p99'] as const) {
    const err = Math.abs(s[q] - e[q]);
    assert.ok(err <= s.quantileError, `${what}: ${q} is ${s[q]}, numpy says ${e[q]}: error ${err} > stated bound ${s.quantileError}`);
  }
  assert.ok(Math.abs(s.beyondK - e.beyond_k) <= s.beyondKError + 1e-12, `${what}: beyond 3 sigma ${s.beyondK} vs ${e.beyond_k} (bound ${s.beyondKError})`);
}

/** Feeds x [N, C, ...] to the stats in batches of the given sizes along N. */
function feed(stats: StreamingStats, x: Float32Array, shape: number[], sizes: number[]): void {
  const per = x.length / shape[0];
  let n0 = 0;
  for (const n of sizes) {
    stats.add(x.subarray(n0 * per, (n0 + n) * per), [n, ...shape.slice(1)]);
    n0 += n;
  }
  assert.equal(n0, shape[0]);
}

function exactQuantile(sorted: Float64Array, q: number): number {
  const h = q * (sorted.length - 1);
  const j = Math.floor(h);
  return j + 1 < sorted.length ? sorted[j] + (h - j) * (sorted[j + 1] - sorted[j]) : sorted[j];
}

describe('StreamingStats', () => {
  for (const c of loadFixtures('stats')) {
    it(`matches numpy and scipy per channel, pooled and standardized on ${c.name}`, () => {
      const { data, shape } = c.tensors.x;
      const stats = new StreamingStats({ bins: 64, k: 3 });
      const n = shape[0];
      feed(stats, data, shape, [Math.floor(n / 2), 1, n - Math.floor(n / 2) - 1]);
      const channels = c.params.channels as Expected[];
      assert.equal(stats.channels, channels.length);
      channels.forEach((e, ch) => checkSummary(stats.channelSummary(ch), e, `channel ${ch}`));
      checkSummary(stats.summary(), c.params.pooled as Expected, 'pooled');
      const z = stats.summary({ standardized: true });
      checkSummary(z, c.params.standardized as Expected, 'standardized');
      assertClose([z.mean, z.std], [0, 1], 'standardized mean and std', { atol: 1e-12 });
    });

    it(`gives fixed-bin histograms that keep every value and follow numpy.histogram on ${c.name}`, () => {
      const { data, shape } = c.tensors.x;
      const stats = new StreamingStats({ bins: 1024 });
      stats.add(data, shape);
      const h = stats.histogram(10);
      assertClose(h.edges, c.params.hist_edges as number[], 'edges', { rtol: 1e-6 });
      const total = h.counts.reduce((a, b) => a + b, 0);
      assertClose([total], [data.length], 'total count', { rtol: 1e-12 });
      const expected = c.params.hist_counts as number[];
      const width = h.edges[1] - h.edges[0];
      // Each value's mass moves by at most one dyadic bin (quantileError), a small part of a bin here.
      const slack = Math.ceil(data.length * 0.02);
      h.counts.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= slack, `bin ${i}: ${v} vs numpy ${expected[i]} (width ${width})`));
    });
  }

  it('keeps quantiles within the stated bound, itself below 2 range/(B - 2), on random data whose range grows', () => {
    const stats = new StreamingStats({ bins: 256 });
    const all: number[] = [];
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed + 0.5) / 4294967296;
    };
    for (let b = 0; b < 40; b++) {
      const scale = b < 5 ? 0.01 : 1 + b;
      const x = new Float32Array(2 * 50);
      for (let i = 0; i < x.length; i++) {
        const g = Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
        x[i] = g * g * g * scale + 3;
      }
      stats.add(x, [50, 2]);
      for (let i = 0; i < 50; i++) all.push(x[2 * i]);
    }
    const s = stats.channelSummary(0);
    const sorted = Float64Array.from(all).sort();
    const range = sorted[sorted.length - 1] - sorted[0];
    assert.ok(s.quantileError < (2 * range) / (256 - 2), `bin width ${s.quantileError} vs range ${range}`);
    for (const [q, key] of [[0.01, 'p1'], [0.25, 'q1'], [0.5, 'median'], [0.75, 'q3'], [0.99, 'p99']] as const) {
      const exact = exactQuantile(sorted, q);
      assert.ok(Math.abs(s[key] - exact) <= s.quantileError, `${key}: ${s[key]} vs exact ${exact}, bound ${s.quantileError}`);
    }
    assert.ok(s.kurtosis > 3, `cubed Gaussians are heavy-tailed, kurtosis ${s.kurtosis}`);
  });

  it('gives the same exact statistics whatever the batch split', () => {
    const x = randn([30, 3, 2, 2], { seed: 9 });
    const one = new StreamingStats();
    one.add(x.buffer, x.shape);
    const many = new StreamingStats();
    feed(many, x.buffer, x.shape, [1, 7, 2, 20]);
    for (const k of ['count', 'mean', 'std', 'min', 'max', 'kurtosis', 'median'] as const) {
      assertClose([many.summary()[k]], [one.summary()[k]], k, { rtol: 1e-12, atol: 1e-15 });
    }
  });

  it('reports NaN kurtosis for a constant channel and leaves it out of standardized statistics', () => {
    const stats = new StreamingStats();
    stats.add(new Float32Array([2, 0, 2, 1, 2, 5, 2, 7]), [4, 2]);
    const c0 = stats.channelSummary(0);
    assert.equal(c0.std, 0);
    assert.ok(Number.isNaN(c0.kurtosis));
    assert.equal(c0.median, 2);
    assert.equal(stats.summary({ standardized: true }).count, 4);
  });

  it('names the problem for bad shapes, channel counts and non-finite values', () => {
    const stats = new StreamingStats();
    assert.throws(() => stats.summary(), /no values yet/);
    assert.throws(() => stats.add(new Float32Array(4), [4]), /shape \[N, C, \.\.\.\], got rank 1/);
    assert.throws(() => stats.add(new Float32Array(5), [2, 2]), /needs 4 values, got 5/);
    stats.add(new Float32Array(4), [2, 2]);
    assert.throws(() => stats.add(new Float32Array(6), [2, 3]), /3 channels, earlier batches had 2/);
    assert.throws(() => stats.add(new Float32Array([0, NaN, 0, 0]), [2, 2]), /channel 1 holds a non-finite value/);
    assert.throws(() => stats.channelSummary(2), /channel must be in \[0, 2\)/);
  });
});

/** A stand-in normalization layer (identity) whose class name contains 'Norm'. */
class TestNorm extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

describe('captureLayerInputs', () => {
  it('feeds the inputs of every Norm layer to streaming statistics and removes its hooks', () => {
    const lin = new Linear(4, 3);
    const model = new Sequential(lin, new TestNorm(), new ReLU(), new Linear(3, 2), new TestNorm());
    const batches = [0, 1, 2].map((i) => randn([5, 4], { seed: 20 + i }));
    model.train();
    const stats = captureLayerInputs(model, normLayers, batches, { maxBatches: 2 });
    assert.deepEqual(stats.names(), ['1', '4']);
    assert.equal(model.training, true);
    const direct = new StreamingStats();
    for (const b of batches.slice(0, 2)) {
      const y = lin.forward(b);
      direct.add(y.buffer, y.shape);
    }
    const s = stats.get('1').summary();
    assert.equal(s.count, 10 * 3);
    assertClose([s.mean, s.std, s.min, s.max], [direct.summary().mean, direct.summary().std, direct.summary().min, direct.summary().max], 'layer 1 input');
    assert.equal(stats.get('4').channels, 2);
    model.call(batches[2]);
    assert.equal(stats.get('1').count, 10, 'hooks are removed after the capture');
  });

  it('accepts trainer batches and names the layers when the filter selects none', () => {
    const model = new Sequential(new Linear(2, 2));
    assert.throws(() => captureLayerInputs(model, normLayers, [tensor([1, 2], [1, 2])]), /selects no layer \(layers: .*0 \(Linear\)/);
    const batches: { x: Tensor; y: Int32Array }[] = [{ x: tensor([1, 2, 3, 4], [2, 2]), y: new Int32Array(2) }];
    const stats = captureLayerInputs(model, (name) => name === '0', batches);
    assert.equal(stats.get('0').summary().count, 4);
    assert.throws(() => stats.get('1'), /no statistics for layer '1' \(have: 0\)/);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { batchStatsComparison, captureLayerInput, compareBatchStatistics, type CapturedActivations } from '../../src/analysis/batchStats.js';
import { Sequential, Conv2d, BatchNorm2d, FilteredBatchNorm2d, ReLU, Flatten, Linear } from '../../src/nn/index.js';
import { Generator, Tensor, manualSeed } from '../../src/index.js';
import { fromArrays } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { assertClose } from '../helpers/assert.js';

/**
 * n samples of C channels x S positions: channel c ~ N(c, (c + 1)^2), and with probability p
 * per value an outlier of +A standard deviations added.
 */
function synthetic(n: number, C: number, S: number, seed: number, p = 0, A = 0): CapturedActivations {
  const gen = new Generator(seed);
  const samples: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = new Float32Array(C * S);
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < S; k++) {
        let v = gen.normal();
        if (p > 0 && gen.uniform() < p) v += A;
        s[c * S + k] = c + (c + 1) * v;
      }
    }
    samples.push(s);
  }
  return { samples, sampleShape: [C, S] };
}

describe('compareBatchStatistics', () => {
  it('gives BN errors that shrink as 1/sqrt(b) with the Gaussian constants on clean data', () => {
    const S = 16;
    const r = compareBatchStatistics(synthetic(2048, 2, S, 1), { batchSizes: [2, 8, 32, 128], thresholds: [3], repeats: 60, seed: 5 });
    assert.deepEqual(r.batchSizes, [2, 8, 32, 128]);
    assert.deepEqual(Object.keys(r.fbn), ['3']);
    r.batchSizes.forEach((b, i) => {
      const m = b * S;
      // E|mean_b - mu| / sigma = sqrt(2 / pi) / sqrt(m); E|var_b - var| / var ~ sqrt(2 / pi) * sqrt(2 / m).
      const meanExpected = Math.sqrt(2 / Math.PI / m);
      const varExpected = Math.sqrt(2 / Math.PI) * Math.sqrt(2 / m);
      assert.ok(Math.abs(r.bn.meanErr[i] / meanExpected - 1) < 0.25, `b=${b}: mean error ${r.bn.meanErr[i]} vs ${meanExpected}`);
      assert.ok(Math.abs(r.bn.varErr[i] / varExpected - 1) < 0.25, `b=${b}: variance error ${r.bn.varErr[i]} vs ${varExpected}`);
      assert.ok(r.bn.meanErrStd[i] > 0 && r.bn.varErrStd[i] > 0);
    });
    // Clean Gaussian data: T = 3 keeps ~99.7% of the values.
    for (const k of r.fbn['3'].keptFraction) assert.ok(k > 0.98 && k <= 1, `kept ${k}`);
    assertClose(r.population.mean, [0, 1], 'population mean', { atol: 0.05 });
    assertClose(r.population.var, [1, 4], 'population variance', { rtol: 0.05 });
  });

  it('gives FBN a smaller variance error than BN at small batches when outliers are planted', () => {
    // Rare, large outliers (p = 2e-4, +50 sigma): a small batch either misses them (BN and FBN
    // both estimate the Gaussian part) or holds one, which inflates BN's variance many times
    // over while FBN filters it out.
    const r = compareBatchStatistics(synthetic(2048, 2, 64, 2, 2e-4, 50), { batchSizes: [2, 4], thresholds: [3], repeats: 200, seed: 3 });
    for (let i = 0; i < 2; i++) {
      assert.ok(r.fbn['3'].varErr[i] < 0.8 * r.bn.varErr[i], `b=${r.batchSizes[i]}: FBN ${r.fbn['3'].varErr[i]} vs BN ${r.bn.varErr[i]}`);
      assert.ok(r.fbn['3'].varErrStd[i] < r.bn.varErrStd[i], 'FBN varies less from batch to batch');
    }
  });

  it('computes the FBN statistics FilteredBatchNorm2d normalizes with', () => {
    // One batch of every sample: the filtered stats of the whole set, against the layer's
    // running statistics after one training step with momentum 1 (running_var is unbiased).
    const acts = synthetic(64, 3, 9, 4, 0.02, 8);
    const r = compareBatchStatistics(acts, { batchSizes: [64], thresholds: [2.5], repeats: 1 });
    const x = new Tensor(new Float32Array(64 * 27), [64, 3, 3, 3]);
    acts.samples.forEach((s, i) => x.buffer.set(s, i * 27));
    const fbn = new FilteredBatchNorm2d(3, { threshold: 2.5, momentum: 1 });
    fbn.forward(x);
    const kept = fbn.lastKeptFraction!;
    let meanErr = 0;
    let varErr = 0;
    for (let c = 0; c < 3; c++) {
      assert.ok(kept[c] < 1, `channel ${c}: the planted outliers are filtered`);
      const k = Math.round(kept[c] * 64 * 9);
      const popVar = r.population.var[c];
      meanErr += Math.abs(fbn.runningMean!.buffer[c] - r.population.mean[c]) / Math.sqrt(popVar) / 3;
      varErr += Math.abs((fbn.runningVar!.buffer[c] * (k - 1)) / k - popVar) / popVar / 3;
    }
    assertClose([r.fbn['2.5'].meanErr[0], r.fbn['2.5'].varErr[0]], [meanErr, varErr], 'FBN errors vs the layer', { rtol: 1e-4, atol: 1e-6 });
    assertClose(r.fbn['2.5'].keptFraction, [(kept[0] + kept[1] + kept[2]) / 3], 'kept fraction', { atol: 1e-6 });
    assertClose([r.bn.meanErr[0], r.bn.varErr[0]], [0, 0], 'BN error of the whole set', { atol: 1e-12 });
  });

  it('rejects batch sizes larger than the sample count', () => {
    assert.throws(() => compareBatchStatistics(synthetic(10, 1, 4, 0), { batchSizes: [4, 16, 32] }), /batch sizes 16, 32 exceed the 10 captured samples/);
  });
});

describe('batchStatsComparison', () => {
  /** Conv(1 -> 3, 3x3) -> BN -> ReLU -> Linear on 1x6x6 images; the dataset has n images. */
  function setup(n: number): { model: Sequential; loader: DataLoader; images: Float32Array } {
    manualSeed(7);
    const model = new Sequential(new Conv2d(1, 3, 3, { padding: 1 }), new BatchNorm2d(3), new ReLU(), new Flatten(), new Linear(3 * 36, 2));
    const gen = new Generator(9);
    const images = Float32Array.from({ length: n * 36 }, () => gen.uniform());
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const ds = fromArrays(images, labels, { channels: 1, height: 6, width: 6, numClasses: 2 });
    return { model, loader: new DataLoader(ds, { batchSize: 8 }), images };
  }

  it('analyses the input of a named layer of a real model and changes nothing in it', () => {
    const { model, loader, images } = setup(40);
    model.train();
    const before = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.data()]));
    const r = batchStatsComparison(model, '1', loader.batches(), { batchSizes: [2, 4, 16], thresholds: [2, 3], repeats: 4, maxSamples: 30 });
    assert.equal(r.layer, '1');
    assert.equal(r.samples, 30);
    assert.deepEqual(r.sampleShape, [3, 6, 6]);
    assert.deepEqual(Object.keys(r.fbn), ['2', '3']);
    for (const curve of [r.bn, r.fbn['2'], r.fbn['3']]) {
      for (const v of [...curve.meanErr, ...curve.varErr]) assert.ok(Number.isFinite(v) && v >= 0);
      assert.equal(curve.meanErr.length, 3);
    }
    // The population statistics are those of the conv output over the first 30 images.
    const conv = model.children()[0];
    const out = conv.forward(new Tensor(images.slice(0, 30 * 36), [30, 1, 6, 6])).buffer;
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let i = 0; i < 30; i++) for (let k = 0; k < 36; k++) s += out[i * 108 + c * 36 + k];
      assertClose([r.population.mean[c]], [s / (30 * 36)], `channel ${c} mean`);
    }
    assert.ok(model.training, 'the training mode is restored');
    for (const [k, v] of Object.entries(model.stateDict())) assert.deepEqual(v.data(), before[k], `${k} is unchanged`);
    assert.throws(() => batchStatsComparison(model, 'bn', loader.batches()), /no layer named 'bn'/);
  });

  it('captures up to maxSamples samples, stopping the batches early', () => {
    const { model, loader } = setup(40);
    let seen = 0;
    const counted = (function* () {
      for (const b of loader.batches()) {
        seen++;
        yield b;
      }
    })();
    const acts = captureLayerInput(model, '1', counted, { maxSamples: 12 });
    assert.equal(acts.samples.length, 12);
    assert.equal(seen, 2, 'two batches of 8 hold 12 samples');
  });
});

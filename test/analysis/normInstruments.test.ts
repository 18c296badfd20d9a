// The normalization instruments on cases with known answers: running-statistics drift under a
// fixed batch, Filtered BN's kept fraction, γ/β quantiles, train/eval-mode accuracy, precise BN.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nn, Tensor, noGrad } from '../../src/index.js';
import { NormMonitor, normScalars, preciseBn, quantiles, trainEvalAccuracy } from '../../src/analysis/index.js';
import { assertClose } from '../helpers/assert.js';
import { writeInstrumentEvents } from '../../src/experiments/instruments.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Channel 0 alternates 0 and 4 (mean 2, biased variance 4); channel 1 alternates -1 and 1
// (mean 0, variance 1); 8 values per channel.
const fixedBatch = (): Tensor => {
  const d = new Float32Array(4 * 2 * 2);
  for (let n = 0; n < 4; n++) for (let s = 0; s < 2; s++) {
    d[(n * 2 + 0) * 2 + s] = s === 0 ? 0 : 4;
    d[(n * 2 + 1) * 2 + s] = s === 0 ? -1 : 1;
  }
  return new Tensor(d, [4, 2, 1, 2]);
};

describe('NormMonitor', () => {
  it('measures the drift between running and batch statistics as the momentum-0.1 recursion predicts', () => {
    const model = new nn.Sequential(new nn.BatchNorm2d(2));
    const mon = new NormMonitor(model);
    model.train();
    for (let k = 0; k < 5; k++) noGrad(() => model.call(fixedBatch()));
    const drift = mon.summary().drift['0'];
    assert.equal(drift.length, 5);
    const eps = 1e-5;
    const mu = [2, 0];
    const v = [4, 1];
    for (let k = 1; k <= 5; k++) {
      const decay = 0.9 ** k;
      let shift = 0;
      let ratio = 0;
      for (let c = 0; c < 2; c++) {
        const runMean = mu[c] * (1 - decay);
        const runVar = decay * 1 + (1 - decay) * v[c] * (8 / 7);
        shift += Math.abs(mu[c] - runMean) / Math.sqrt(runVar + eps);
        ratio += Math.abs(Math.log((v[c] + eps) / (runVar + eps)));
      }
      assert.equal(drift[k - 1].step, k);
      assertClose([drift[k - 1].meanShift, drift[k - 1].varLogRatio], [shift / 2, ratio / 2], `step ${k}`, { rtol: 1e-5 });
    }
    assert.equal(mon.summary().steps, 5);
    model.eval();
    noGrad(() => model.call(fixedBatch()));
    assert.equal(mon.summary().drift['0'].length, 5, 'eval forwards record nothing');
  });

  it("records Filtered BN's kept fraction: one outlier of eight beyond T = 1 leaves 7/8", () => {
    // Values 0 x 7 and 10: mean 1.25, unbiased std sqrt(12.5) = 3.54; z(0) = -0.35 kept, z(10) = 2.47 dropped.
    const x = new Tensor(Float32Array.of(0, 0, 0, 0, 0, 0, 0, 10), [8, 1]);
    const model = new nn.Sequential(new nn.FilteredBatchNorm1d(1, { threshold: 1 }));
    const mon = new NormMonitor(model);
    noGrad(() => model.call(x));
    assert.deepEqual(mon.summary().keptFraction['0'], [{ step: 1, fraction: 7 / 8 }]);
  });

  it('takes the quantiles of gamma and beta over channels at each recorded epoch', () => {
    const bn = new nn.BatchNorm2d(5);
    const model = new nn.Sequential(bn);
    const mon = new NormMonitor(model);
    bn.weight!.buffer.set([4, 0, 3, 1, 2]);
    bn.bias!.buffer.set([0, 0, 10, 0, 0]);
    mon.recordAffine(1);
    const a = mon.summary().affine['0'];
    assert.deepEqual(a[0], { epoch: 0, weight: [1, 1, 1, 1, 1], bias: [0, 0, 0, 0, 0] });
    assert.deepEqual(a[1], { epoch: 1, weight: [0, 1, 2, 3, 4], bias: [0, 0, 0, 0, 10] });
    assert.deepEqual(quantiles([1, 2]), [1, 1.25, 1.5, 1.75, 2]);
    const tags = normScalars(mon.summary()).map((s) => s.tag);
    assert.ok(tags.includes('norm/gamma_median/0') && tags.includes('norm/beta_median/0'), tags.join(' '));
    mon.detach();
  });
});

describe('trainEvalAccuracy', () => {
  it('scores eval mode with running statistics and train mode with batch statistics, leaving the statistics unchanged', () => {
    // Logits straight through a BN1d: with running stats (0, 1) class 0 always wins (column 0 is
    // near 10); with batch stats each column is centred and the larger deviation wins.
    const x = new Tensor(Float32Array.of(10, 0, 10.2, 0.9, 9.6, -0.1, 10.1, 0.8), [4, 2]);
    const y = Int32Array.of(0, 1, 0, 1);
    const bn = new nn.BatchNorm1d(2);
    const model = new nn.Sequential(bn);
    model.train();
    const col = (c: number): number[] => [0, 1, 2, 3].map((i) => x.buffer[i * 2 + c]);
    const z = (c: number): number[] => {
      const v = col(c);
      const m = v.reduce((a, b) => a + b, 0) / 4;
      const s = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / 4 + 1e-5);
      return v.map((e) => (e - m) / s);
    };
    const z0 = z(0);
    const z1 = z(1);
    const trainCorrect = [0, 1, 2, 3].filter((i) => (z1[i] > z0[i] ? 1 : 0) === y[i]).length;
    const r = trainEvalAccuracy(model, [{ x, y }]);
    assert.equal(r.evalModeAcc, 0.5);
    assert.equal(r.trainModeAcc, trainCorrect / 4);
    assert.notEqual(r.trainModeAcc, r.evalModeAcc);
    assert.deepEqual([...bn.runningMean!.buffer], [0, 0]);
    assert.equal(bn.numBatchesTracked!.item(), 0);
    assert.ok(model.training, 'training flag restored');
  });
});

describe('preciseBn', () => {
  it('sets running statistics to the average of K batch means and unbiased variances and restores the rest', () => {
    const bn = new nn.BatchNorm1d(1);
    const model = new nn.Sequential(bn, new nn.Dropout(0.5));
    bn.numBatchesTracked!.buffer[0] = 7;
    const batches = [[1, 3], [2, 6], [0, 10], [100, 200]].map((v) => ({ x: new Tensor(Float32Array.from(v), [2, 1]) }));
    const used = preciseBn(model, batches, 3);
    assert.equal(used, 3);
    // Means 2, 4, 5 -> 11/3; unbiased variances 2, 8, 50 -> 20.
    assertClose(bn.runningMean!.buffer, [11 / 3], 'running_mean');
    assertClose(bn.runningVar!.buffer, [20], 'running_var');
    assert.equal(bn.momentum, 0.1);
    assert.equal(bn.numBatchesTracked!.item(), 7);
    assert.ok(model.training);
    assert.throws(() => preciseBn(new nn.Sequential(new nn.Linear(2, 2)), batches, 1), /preciseBn: the model has no normalization layer with running statistics/);
    assert.throws(() => preciseBn(model, batches, 0), /preciseBn: batches must be an integer >= 1, got 0/);
  });
});

describe('instrument TensorBoard scalars', () => {
  it('writes drift, kept-fraction, gamma and precise-BN tags into one event file', () => {
    const model = new nn.Sequential(new nn.FilteredBatchNorm1d(1, { threshold: 1 }));
    const mon = new NormMonitor(model);
    noGrad(() => model.call(new Tensor(Float32Array.of(0, 0, 0, 0, 0, 0, 0, 10), [8, 1])));
    const dir = mkdtempSync(join(tmpdir(), 'normlab-tb-'));
    const file = writeInstrumentEvents(dir, { ...mon.summary(), preciseBn: { batches: 3, testAccBefore: 0.5, testAccAfter: 0.6 } }, []);
    const text = readFileSync(file).toString('latin1');
    for (const tag of ['norm/drift_mean/0', 'norm/kept_fraction/0', 'norm/gamma_median/0', 'norm/precise_bn/test_acc_after']) assert.ok(text.includes(tag), tag);
  });
});

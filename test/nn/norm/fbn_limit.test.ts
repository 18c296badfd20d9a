import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { Tensor, nn, randn } from '../../../src/index.js';
import { assertClose } from '../../helpers/assert.js';

/**
 * NormlabWarnings about `layer` emitted while `fn` runs (emitWarning delivers them on a later
 * tick, so warnings of earlier tests can arrive too: they are told apart by the layer name).
 */
async function warningsOf(layer: string, fn: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error): void => {
    if (w.name === 'NormlabWarning' && w.message.startsWith(`${layer}: `)) seen.push(w.message);
  };
  process.on('warning', listener);
  try {
    fn();
    await tick();
    await tick();
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe('the threshold at which Filtered BN stops filtering', () => {
  it('is (N - 1)/sqrt(N): 1.5 for 4 values, 3.75 for 16, 4.8 for 25', () => {
    assert.equal(nn.fbnMaxAbsZ(4), 1.5);
    assert.equal(nn.fbnMaxAbsZ(16), 3.75);
    assert.equal(nn.fbnMaxAbsZ(25), 4.8);
  });

  it('is the |z| of one value apart from n - 1 equal ones under the unbiased std', () => {
    for (const n of [2, 5, 32, 100]) {
      const xs: number[] = Array.from({ length: n }, (_, i) => (i === 0 ? 7 : 0));
      const mu = xs.reduce((a, b) => a + b, 0) / n;
      const s = Math.sqrt(xs.reduce((a, b) => a + (b - mu) ** 2, 0) / (n - 1));
      assert.ok(Math.abs((xs[0] - mu) / s - nn.fbnMaxAbsZ(n)) < 1e-12, `n = ${n}`);
    }
  });

  it('counts N·H·W values per channel, N·L for 1-D inputs and the features too when pooled', () => {
    assert.equal(nn.fbnValuesPerStatistic([8, 3, 5, 5]), 200);
    assert.equal(nn.fbnValuesPerStatistic([8, 50]), 8);
    assert.equal(nn.fbnValuesPerStatistic([8, 4, 6]), 48);
    assert.equal(nn.fbnValuesPerStatistic([8, 50], true), 400);
  });

  it('rejects fewer than two values', () => {
    assert.throws(() => nn.fbnMaxAbsZ(1), /fbnMaxAbsZ: n must be an integer >= 2 \(values per statistic\), got 1/);
  });

  it('makes FBN exactly BN above 1.5 for 4 samples, and filters the outlier below it', () => {
    // Channel 0 holds 10, 0, 0, 0: the outlier's z is (4 - 1)/sqrt(4) = 1.5, the largest possible.
    const xs = new Tensor(Float32Array.from([10, 1, 0, 2, 0, 3, 0, 4]), [4, 2]);
    const bn = new nn.BatchNorm1d(2).forward(xs);
    const at = new nn.FilteredBatchNorm1d(2, { threshold: 1.501 });
    assertClose(at.forward(xs).buffer, bn.buffer, 'FBN with T = 1.501 vs BN');
    assert.deepEqual([...at.lastKeptFraction!], [1, 1]);
    const below = new nn.FilteredBatchNorm1d(2, { threshold: 1.49 });
    below.forward(xs);
    assert.deepEqual([...below.lastKeptFraction!], [0.75, 1]);
  });
});

describe('the Filtered BN warning', () => {
  it('names the layer, N and T once, at the first training batch', async () => {
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.FilteredBatchNorm1d(4, { threshold: 4 }));
    nn.nameFilteredBatchNorms(model);
    const seen = await warningsOf('1', () => {
      model.forward(randn([16, 3], { seed: 1 }));
      model.forward(randn([16, 3], { seed: 2 }));
    });
    assert.equal(seen.length, 1, seen.join('\n'));
    assert.match(seen[0], /^1: Filtered BN cannot filter: with N = 16 values per statistic no \|z\| exceeds \(N - 1\)\/sqrt\(N\) = 3\.750, so threshold T = 4 keeps every value/);
  });

  it('stays silent when the threshold can drop a value', async () => {
    const layer = new nn.FilteredBatchNorm2d(3, { threshold: 4 });
    layer.layerName = 'conv-norm';
    // 2·4·4 = 32 values per channel: the bound is 31/sqrt(32) ≈ 5.48 > 4.
    const seen = await warningsOf('conv-norm', () => layer.forward(randn([2, 3, 4, 4], { seed: 3 })));
    assert.deepEqual(seen, []);
  });

  it('names a lone layer by its class', async () => {
    const seen = await warningsOf('FilteredBatchNorm1d', () => new nn.FilteredBatchNorm1d(2, { threshold: 3 }).forward(randn([4, 2], { seed: 4 })));
    assert.equal(seen.length, 1);
    assert.match(seen[0], /^FilteredBatchNorm1d: .* N = 4 .* T = 3 /);
  });
});

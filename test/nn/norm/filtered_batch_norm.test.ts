import { describe, it } from 'node:test';
import { forEachDevice } from '../../helpers/device.js';
import assert from 'node:assert/strict';
import { Tensor, nn, randn } from '../../../src/index.js';
import { loadFixtures, type FixtureTensor } from '../../helpers/fixtures.js';
import { assertClose } from '../../helpers/assert.js';

function make(shape: number[], opts: nn.FilteredBatchNormOptions): nn.FilteredBatchNorm1d | nn.FilteredBatchNorm2d {
  return shape.length === 4 ? new nn.FilteredBatchNorm2d(shape[1], opts) : new nn.FilteredBatchNorm1d(shape[1], opts);
}

forEachDevice('FilteredBatchNorm against the float64 reference of the seed algorithm', (device, { t, read }) => {
  const ft = (f: FixtureTensor, requiresGrad = false): Tensor => t(f.data, f.shape, requiresGrad);
  const made = (shape: number[], opts: nn.FilteredBatchNormOptions, weight: Float32Array, bias: Float32Array): nn.FilteredBatchNorm1d | nn.FilteredBatchNorm2d => {
    const m = make(shape, opts);
    m.weight!.buffer.set(weight);
    m.bias!.buffer.set(bias);
    return m.to(device);
  };
  for (const c of loadFixtures('fbn')) {
    it(`matches ${c.name}`, async () => {
      const p = c.params as { shape: number[]; threshold: number; pooled: boolean; outliers: number[][] };
      const fbn = made(p.shape, { threshold: p.threshold, pooled: p.pooled }, c.tensors.weight.data, c.tensors.bias.data);
      const x0 = ft(c.tensors.x0, true);
      const y0 = fbn.forward(x0);
      assertClose(await read(y0), c.tensors.y0.data, 'forward', { atol: 1e-4 });
      assert.equal(fbn.lastKeptFractionTensor!.device, device, 'the kept fraction stays on the device');
      assertClose((await fbn.readKeptFraction())!, c.tensors.kept.data, 'kept fraction');
      y0.backward(ft(c.tensors.gy));
      assertClose(await read(x0.grad!), c.tensors.gx.data, 'input gradient (mask constant)', { atol: 2e-4 });
      assertClose(await read(fbn.weight!.grad!), c.tensors.gw.data, 'gamma gradient', { atol: 2e-4 });
      assertClose(await read(fbn.bias!.grad!), c.tensors.gb.data, 'beta gradient', { atol: 2e-4 });
      fbn.forward(ft(c.tensors.x1));
      fbn.forward(ft(c.tensors.x2));
      assertClose(await read(fbn.runningMean!), c.tensors.running_mean.data, 'running_mean');
      assertClose(await read(fbn.runningVar!), c.tensors.running_var.data, 'running_var (unbiased filtered)');
      fbn.eval();
      assertClose(await read(fbn.forward(ft(c.tensors.xe))), c.tensors.ye.data, 'eval output (running statistics)', { atol: 1e-4 });
      const batchEval = made(p.shape, { threshold: p.threshold, pooled: p.pooled, evalMode: 'batch' }, c.tensors.weight.data, c.tensors.bias.data);
      batchEval.eval();
      assertClose(await read(batchEval.forward(ft(c.tensors.xe))), c.tensors.ye_batch.data, "eval output (evalMode 'batch')", { atol: 1e-4 });
      assert.equal(await batchEval.numBatchesTracked!.itemAsync(), 0, "evalMode 'batch' does not touch the running statistics");
    });
  }

  if (device !== 'cpu') {
    it(`throws naming the layer and both devices when a FilteredBatchNorm2d on '${device}' gets a CPU input`, () => {
      const fbn = new nn.FilteredBatchNorm2d(3).to(device);
      assert.throws(() => fbn.forward(randn([2, 3, 2, 2])), new RegExp(`FilteredBatchNorm2d\\.forward: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
      assert.equal(fbn.lastKeptFractionTensor, null);
    });
  }
});

describe('FilteredBatchNorm on planted outliers', () => {
  it('ignores planted outliers: the statistics equal those of the batch without them', () => {
    const shape = [4, 3, 5, 7];
    const x = randn(shape, { seed: 11 });
    const clean = x.buffer.slice();
    const dirty = x.buffer.slice();
    const at = (n: number, c: number, h: number, w: number): number => ((n * 3 + c) * 5 + h) * 7 + w;
    dirty[at(0, 1, 2, 3)] = 500;
    dirty[at(2, 1, 4, 4)] = -400;
    const fbn = new nn.FilteredBatchNorm2d(3, { threshold: 4, momentum: 1 });
    fbn.forward(new Tensor(dirty, shape));
    const mean = [...fbn.runningMean!.buffer];
    // The same statistics from the 138 clean values of channel 1 (BN over them, by hand).
    const vals: number[] = [];
    for (let n = 0; n < 4; n++) for (let h = 0; h < 5; h++) for (let w = 0; w < 7; w++) if (!(n === 0 && h === 2 && w === 3) && !(n === 2 && h === 4 && w === 4)) vals.push(clean[at(n, 1, h, w)]);
    const mu = vals.reduce((a, b) => a + b, 0) / vals.length;
    assert.ok(Math.abs(mean[1] - mu) < 1e-5, `filtered mean ${mean[1]} vs clean mean ${mu}`);
    assertClose(fbn.lastKeptFraction!.subarray(1, 2), [138 / 140], 'kept fraction of channel 1');
  });
});

describe('FilteredBatchNorm truncation statistics on a large Gaussian', () => {
  // 10^6 standard normal values in one channel. The filter uses the sample mean/std, which are
  // within ~1e-3 of the true ones here, so the kept fraction and the truncated std can be
  // compared with the Gaussian's: kept within 0.5% (absolute), std within 1% (relative).
  const x = randn([1, 1, 1000, 1000], { seed: 2020 });
  const cases = [
    { T: 1, kept: 0.6827, std: 0.5396 },
    { T: 3, kept: 0.9973, std: 0.9866 },
  ];
  for (const { T, kept, std } of cases) {
    it(`T = ${T} keeps ${(kept * 100).toFixed(2)}% with std ${std} sigma`, () => {
      const fbn = new nn.FilteredBatchNorm2d(1, { threshold: T, momentum: 1 });
      fbn.forward(x);
      assert.ok(Math.abs(fbn.lastKeptFraction![0] - kept) < 0.005, `kept ${fbn.lastKeptFraction![0]}`);
      const s = Math.sqrt(fbn.runningVar!.buffer[0]);
      assert.ok(Math.abs(s / std - 1) < 0.01, `filtered std ${s}`);
    });
  }
});

describe('FilteredBatchNorm options and errors', () => {
  it('rejects a threshold <= 0 naming the layer', () => {
    assert.throws(() => new nn.FilteredBatchNorm2d(3, { threshold: 0 }), /FilteredBatchNorm2d: threshold must be > 0, got 0/);
    assert.throws(() => new nn.FilteredBatchNorm1d(3, { threshold: -1 }), /FilteredBatchNorm1d: threshold must be > 0, got -1/);
  });

  it('refuses to train on one value per channel', () => {
    assert.throws(() => new nn.FilteredBatchNorm1d(3).forward(randn([1, 3])), /FilteredBatchNorm1d\.forward: Expected more than 1 value per channel when training/);
  });

  it('reports an empty kept set instead of normalizing with undefined statistics', () => {
    const x = new Tensor(new Float32Array([-1, 1]), [2, 1]);
    assert.throws(() => new nn.FilteredBatchNorm1d(1, { threshold: 0.5 }).forward(x), /no value of channel 0 lies within threshold 0.5/);
  });

  it('starts gamma at bnWeight and gives BN state-dict keys', () => {
    const fbn = new nn.FilteredBatchNorm2d(2, { bnWeight: 0.25 });
    assert.equal(fbn.weight!.buffer[0], 0.25);
    assert.deepEqual(Object.keys(fbn.stateDict()).sort(), ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']);
  });

  it('matches BatchNorm2d when the threshold keeps every value', () => {
    const x = randn([4, 3, 5, 7], { seed: 5, requiresGrad: true });
    const gy = randn([4, 3, 5, 7], { seed: 6 });
    const bn = new nn.BatchNorm2d(3);
    const fbn = new nn.FilteredBatchNorm2d(3, { threshold: 100 });
    const y1 = bn.forward(x);
    y1.backward(gy);
    const g1 = x.grad!.data();
    x.zeroGrad();
    const y2 = fbn.forward(x);
    y2.backward(gy);
    assertClose(y2.buffer, y1.buffer, 'forward');
    assertClose(x.grad!.buffer, g1, 'input gradient');
    assertClose(fbn.runningVar!.buffer, bn.runningVar!.buffer, 'running_var');
  });
});

import { describe, it } from 'node:test';
import { forEachDevice } from '../../helpers/device.js';
import assert from 'node:assert/strict';
import { Tensor, nn, tensor, randn, functional as F } from '../../../src/index.js';
import { loadFixtures, type FixtureTensor } from '../../helpers/fixtures.js';
import { assertClose } from '../../helpers/assert.js';

forEachDevice('BatchNorm1d/2d against PyTorch fixtures', (device, { t, read }) => {
  const ft = (f: FixtureTensor, requiresGrad = false): Tensor => t(f.data, f.shape, requiresGrad);
  for (const c of loadFixtures('batchnorm')) {
    it(`matches ${c.name}`, async () => {
      const p = c.params as { shape: number[]; momentum: number | null; affine: boolean; track: boolean; bnWeight: number };
      const C = p.shape[1];
      const opts = { momentum: p.momentum, affine: p.affine, trackRunningStats: p.track, bnWeight: p.bnWeight };
      const made = p.shape.length === 4 ? new nn.BatchNorm2d(C, opts) : new nn.BatchNorm1d(C, opts);
      if (p.affine) {
        assert.equal(made.weight!.buffer[0], Math.fround(p.bnWeight > 0 ? p.bnWeight : 1), 'gamma starts at bnWeight');
        made.weight!.buffer.set(c.tensors.weight.data);
        made.bias!.buffer.set(c.tensors.bias.data);
      }
      const bn = made.to(device);
      const x0 = ft(c.tensors.x0, true);
      const y0 = bn.forward(x0);
      assertClose(await read(y0), c.tensors.y0.data, 'forward');
      y0.backward(ft(c.tensors.gy));
      assertClose(await read(x0.grad!), c.tensors.gx.data, 'input gradient', { atol: 1e-4 });
      if (p.affine) {
        assertClose(await read(bn.weight!.grad!), c.tensors.gw.data, 'gamma gradient', { atol: 1e-4 });
        assertClose(await read(bn.bias!.grad!), c.tensors.gb.data, 'beta gradient', { atol: 1e-4 });
      }
      bn.forward(ft(c.tensors.x1));
      bn.forward(ft(c.tensors.x2));
      const sd = bn.stateDict();
      if (p.track) {
        assertClose(await read(sd.running_mean), c.tensors.running_mean.data, 'running_mean');
        assertClose(await read(sd.running_var), c.tensors.running_var.data, 'running_var');
        assert.deepEqual(sd.num_batches_tracked.shape, []);
        assert.equal(await sd.num_batches_tracked.itemAsync(), c.tensors.num_batches_tracked.data[0]);
      } else {
        assert.equal(sd.running_mean, undefined);
      }
      bn.eval();
      assertClose(await read(bn.forward(ft(c.tensors.xe))), c.tensors.ye.data, 'eval output');
    });
  }

  it('exposes the eval transform as per-channel scale and shift tensors on its device', async () => {
    const bn = new nn.BatchNorm2d(2).to(device);
    bn.forward(t(randn([4, 2, 3, 3], { seed: 3 }).data(), [4, 2, 3, 3]));
    bn.eval();
    const xs = randn([2, 2, 3, 3], { seed: 4 }).data();
    const y = bn.forward(t(xs, [2, 2, 3, 3]));
    const { scale, shift } = bn.evalScaleShiftTensors();
    assert.equal(scale.device, device);
    const sc = await read(scale);
    const sh = await read(shift);
    assertClose(await read(y), xs.map((v, i) => v * sc[Math.floor(i / 9) % 2] + sh[Math.floor(i / 9) % 2]), 'x * scale + shift');
  });

  if (device !== 'cpu') {
    it(`throws naming the layer and both devices when a BatchNorm2d on '${device}' gets a CPU input`, () => {
      const bn = new nn.BatchNorm2d(3).to(device);
      assert.throws(() => bn.forward(randn([2, 3, 2, 2])), new RegExp(`BatchNorm2d\\.forward: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
      assert.throws(() => F.batchNorm(randn([2, 3, 2, 2]), bn.runningMean, bn.runningVar, null, null, { training: false }), new RegExp(`batchNorm: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
    });
  }
});

describe('BatchNorm layers', () => {
  it('uses PyTorch state-dict keys', () => {
    assert.deepEqual(Object.keys(new nn.BatchNorm2d(3).stateDict()).sort(), ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']);
    assert.deepEqual(Object.keys(new nn.BatchNorm1d(3, { affine: false, trackRunningStats: false }).stateDict()), []);
  });

  it('rejects a channel count mismatch, naming the layer, argument and both counts', () => {
    const bn = new nn.BatchNorm2d(3);
    assert.throws(() => bn.forward(randn([2, 4, 3, 3])), /BatchNorm2d\.forward: input must have 3 channels in dim 1, got 4 \(shape \[2, 4, 3, 3\]\)/);
  });

  it('rejects an input of the wrong rank', () => {
    assert.throws(() => new nn.BatchNorm2d(3).forward(randn([2, 3, 4])), /BatchNorm2d\.forward: input must have rank 4, got rank 3/);
    assert.throws(() => new nn.BatchNorm1d(3).forward(randn([2, 3, 4, 4])), /BatchNorm1d\.forward: input must have rank 2 or 3, got rank 4/);
  });

  it('refuses to train on one value per channel but evaluates it', () => {
    const bn = new nn.BatchNorm2d(3);
    assert.throws(() => bn.forward(randn([1, 3, 1, 1])), /Expected more than 1 value per channel when training, got input size \[1, 3, 1, 1\]/);
    assert.equal(bn.numBatchesTracked!.item(), 0, 'a refused batch is not counted');
    bn.eval();
    assert.deepEqual(bn.forward(tensor([1, 2, 3], [1, 3, 1, 1])).shape, [1, 3, 1, 1]);
  });

  it('treats bnWeight <= 0 as 1 and resets parameters to it', () => {
    assert.equal(new nn.BatchNorm2d(2, { bnWeight: -1 }).weight!.buffer[0], 1);
    const bn = new nn.BatchNorm2d(2, { bnWeight: 0.1 });
    bn.weight!.buffer.fill(5);
    bn.resetParameters();
    assert.ok(Math.abs(bn.weight!.buffer[1] - 0.1) < 1e-7);
  });

  it('exposes the eval transform as a per-channel scale and shift', () => {
    const bn = new nn.BatchNorm2d(2);
    bn.forward(randn([4, 2, 3, 3], { seed: 3 }));
    bn.eval();
    const x = randn([2, 2, 3, 3], { seed: 4 });
    const y = bn.forward(x);
    const { scale, shift } = bn.evalScaleShift();
    const manual = x.buffer.map((v, i) => v * scale[Math.floor(i / 9) % 2] + shift[Math.floor(i / 9) % 2]);
    assertClose(y.buffer, manual, 'x * scale + shift');
  });
});

describe('InputNorm', () => {
  it('starts gamma at 0.58 * bnWeight and keeps beta frozen but in the state dict', () => {
    const m = new nn.InputNorm(3, { bnWeight: 0.5 });
    assertClose(m.weight!.buffer, [0.29, 0.29, 0.29], 'gamma');
    assert.deepEqual(m.namedParameters().map(([n]) => n), ['weight']);
    assert.ok('bias' in m.stateDict());
    const x = randn([4, 3, 2, 2], { seed: 1, requiresGrad: true });
    m.forward(x).sum().backward();
    assert.equal(m.bias!.requiresGrad, false);
    assert.equal(m.bias!.grad, null);
    assert.ok(m.weight!.grad !== null);
  });
});

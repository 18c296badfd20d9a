import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, nn, tensor, randn } from '../../../src/index.js';
import { loadFixtures, type FixtureTensor } from '../../helpers/fixtures.js';
import { assertClose } from '../../helpers/assert.js';

const t = (f: FixtureTensor, requiresGrad = false): Tensor => new Tensor(f.data.slice(), f.shape, { requiresGrad });

describe('BatchNorm1d/2d against PyTorch fixtures', () => {
  for (const c of loadFixtures('batchnorm')) {
    it(`matches ${c.name}`, () => {
      const p = c.params as { shape: number[]; momentum: number | null; affine: boolean; track: boolean; bnWeight: number };
      const C = p.shape[1];
      const opts = { momentum: p.momentum, affine: p.affine, trackRunningStats: p.track, bnWeight: p.bnWeight };
      const bn = p.shape.length === 4 ? new nn.BatchNorm2d(C, opts) : new nn.BatchNorm1d(C, opts);
      if (p.affine) {
        assert.equal(bn.weight!.buffer[0], Math.fround(p.bnWeight > 0 ? p.bnWeight : 1), 'gamma starts at bnWeight');
        bn.weight!.buffer.set(c.tensors.weight.data);
        bn.bias!.buffer.set(c.tensors.bias.data);
      }
      const x0 = t(c.tensors.x0, true);
      const y0 = bn.forward(x0);
      assertClose(y0.buffer, c.tensors.y0.data, 'forward');
      y0.backward(t(c.tensors.gy));
      assertClose(x0.grad!.buffer, c.tensors.gx.data, 'input gradient', { atol: 1e-4 });
      if (p.affine) {
        assertClose(bn.weight!.grad!.buffer, c.tensors.gw.data, 'gamma gradient', { atol: 1e-4 });
        assertClose(bn.bias!.grad!.buffer, c.tensors.gb.data, 'beta gradient', { atol: 1e-4 });
      }
      bn.forward(t(c.tensors.x1));
      bn.forward(t(c.tensors.x2));
      const sd = bn.stateDict();
      if (p.track) {
        assertClose(sd.running_mean.buffer, c.tensors.running_mean.data, 'running_mean');
        assertClose(sd.running_var.buffer, c.tensors.running_var.data, 'running_var');
        assert.deepEqual(sd.num_batches_tracked.shape, []);
        assert.equal(sd.num_batches_tracked.item(), c.tensors.num_batches_tracked.data[0]);
      } else {
        assert.equal(sd.running_mean, undefined);
      }
      bn.eval();
      assertClose(bn.forward(t(c.tensors.xe)).buffer, c.tensors.ye.data, 'eval output');
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

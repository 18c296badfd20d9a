import { describe, it } from 'node:test';
import { forEachDevice } from '../../helpers/device.js';
import assert from 'node:assert/strict';
import { Tensor, nn, randn } from '../../../src/index.js';
import { loadFixtures, type FixtureTensor } from '../../helpers/fixtures.js';
import { assertClose } from '../../helpers/assert.js';

forEachDevice('GroupNorm, LayerNorm and InstanceNorm against PyTorch fixtures', (device, { t, read }) => {
  const ft = (f: FixtureTensor, requiresGrad = false): Tensor => t(f.data, f.shape, requiresGrad);
  for (const c of loadFixtures('groupnorm')) {
    it(`matches ${c.name}`, async () => {
      const p = c.params as { kind: string; shape: number[]; affine: boolean; groups?: number; normalizedShape?: number[]; track?: boolean };
      const C = p.shape[1];
      let made: nn.Module;
      if (p.kind === 'gn') made = new nn.GroupNorm(p.groups!, C, { affine: p.affine });
      else if (p.kind === 'ln') made = new nn.LayerNorm(p.normalizedShape!, { elementwiseAffine: p.affine });
      else made = p.shape.length === 4 ? new nn.InstanceNorm2d(C, { affine: p.affine, trackRunningStats: p.track }) : new nn.InstanceNorm1d(C, { affine: p.affine, trackRunningStats: p.track });
      if (p.affine) {
        made.getParameter('weight')!.buffer.set(c.tensors.weight.data);
        made.getParameter('bias')!.buffer.set(c.tensors.bias.data);
      } else {
        assert.equal(made.getParameter('weight'), null);
      }
      const m = made.to(device);
      const w = m.getParameter('weight');
      const b = m.getParameter('bias');
      const x = ft(c.tensors.x, true);
      const y = m.forward(x);
      assertClose(await read(y), c.tensors.y.data, 'forward');
      y.backward(ft(c.tensors.gy));
      assertClose(await read(x.grad!), c.tensors.gx.data, 'input gradient', { atol: 1e-4 });
      if (p.affine) {
        assertClose(await read(w!.grad!), c.tensors.gw.data, 'weight gradient', { atol: 1e-4 });
        assertClose(await read(b!.grad!), c.tensors.gb.data, 'bias gradient', { atol: 1e-4 });
      }
      if (p.kind === 'in') {
        m.forward(ft(c.tensors.x1));
        m.forward(ft(c.tensors.x2));
        if (p.track) {
          const sd = m.stateDict();
          assertClose(await read(sd.running_mean), c.tensors.running_mean.data, 'running_mean');
          assertClose(await read(sd.running_var), c.tensors.running_var.data, 'running_var');
          assert.deepEqual([...(await read(sd.num_batches_tracked))], [...c.tensors.num_batches_tracked.data], 'num_batches_tracked');
        }
        m.eval();
        assertClose(await read(m.forward(ft(c.tensors.xe))), c.tensors.ye.data, 'eval output');
      }
    });
  }

  if (device !== 'cpu') {
    it(`throws naming the op and both devices when a GroupNorm on '${device}' gets a CPU input`, () => {
      const gn = new nn.GroupNorm(2, 4).to(device);
      assert.throws(() => gn.forward(randn([2, 4, 3, 3])), new RegExp(`groupNorm: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
      const ln = new nn.LayerNorm([3, 3]).to(device);
      assert.throws(() => ln.forward(randn([2, 4, 3, 3])), new RegExp(`layerNorm: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
    });
  }
});

describe('per-sample norm layers', () => {
  it('rejects groups that do not divide the channels', () => {
    assert.throws(() => new nn.GroupNorm(4, 6), /GroupNorm: numChannels \(6\) must be divisible by numGroups \(4\)/);
  });

  it('rejects an input whose channels differ from GroupNorm numChannels', () => {
    assert.throws(() => new nn.GroupNorm(2, 4).forward(randn([2, 6, 3, 3])), /GroupNorm\.forward: input must be \(N, 4, \*\), got shape \[2, 6, 3, 3\]/);
  });

  it('rejects a LayerNorm input that does not end with the normalized shape', () => {
    assert.throws(() => new nn.LayerNorm([4, 5]).forward(randn([2, 4, 6])), /layerNorm: input must end with the normalized shape \[4, 5\], got shape \[2, 4, 6\]/);
  });

  it('refuses instance statistics over one spatial value', () => {
    assert.throws(() => new nn.InstanceNorm2d(3).forward(randn([2, 3, 1, 1])), /InstanceNorm2d\.forward: Expected more than 1 spatial element when training, got input size \[2, 3, 1, 1\]/);
  });

  it('defaults InstanceNorm to no affine and no running statistics, as PyTorch', () => {
    const m = new nn.InstanceNorm2d(3);
    assert.deepEqual(Object.keys(m.stateDict()), []);
    assert.equal(m.parameters().length, 0);
  });

  it('rejects a null momentum for InstanceNorm, as PyTorch 1.13 instance_norm does', () => {
    assert.throws(() => new nn.InstanceNorm2d(3, { momentum: null, trackRunningStats: true }), /InstanceNorm2d: momentum must be a number/);
  });

  it('gives GroupNorm(1, C) the statistics of LayerNorm([C, H, W])', () => {
    const x = randn([3, 4, 5, 5], { seed: 9 });
    assertClose(new nn.GroupNorm(1, 4).forward(x).buffer, new nn.LayerNorm([4, 5, 5]).forward(x).buffer, 'GroupNorm(1, C) vs LayerNorm');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, nn, randn } from '../../../src/index.js';
import { loadFixtures, type FixtureTensor } from '../../helpers/fixtures.js';
import { assertClose } from '../../helpers/assert.js';

const t = (f: FixtureTensor, requiresGrad = false): Tensor => new Tensor(f.data.slice(), f.shape, { requiresGrad });

describe('GroupNorm, LayerNorm and InstanceNorm against PyTorch fixtures', () => {
  for (const c of loadFixtures('groupnorm')) {
    it(`matches ${c.name}`, () => {
      const p = c.params as { kind: string; shape: number[]; affine: boolean; groups?: number; normalizedShape?: number[]; track?: boolean };
      const C = p.shape[1];
      let m: nn.Module;
      if (p.kind === 'gn') m = new nn.GroupNorm(p.groups!, C, { affine: p.affine });
      else if (p.kind === 'ln') m = new nn.LayerNorm(p.normalizedShape!, { elementwiseAffine: p.affine });
      else m = p.shape.length === 4 ? new nn.InstanceNorm2d(C, { affine: p.affine, trackRunningStats: p.track }) : new nn.InstanceNorm1d(C, { affine: p.affine, trackRunningStats: p.track });
      const w = m.getParameter('weight');
      const b = m.getParameter('bias');
      if (p.affine) {
        w!.buffer.set(c.tensors.weight.data);
        b!.buffer.set(c.tensors.bias.data);
      } else {
        assert.equal(w, null);
      }
      const x = t(c.tensors.x, true);
      const y = m.forward(x);
      assertClose(y.buffer, c.tensors.y.data, 'forward');
      y.backward(t(c.tensors.gy));
      assertClose(x.grad!.buffer, c.tensors.gx.data, 'input gradient', { atol: 1e-4 });
      if (p.affine) {
        assertClose(w!.grad!.buffer, c.tensors.gw.data, 'weight gradient', { atol: 1e-4 });
        assertClose(b!.grad!.buffer, c.tensors.gb.data, 'bias gradient', { atol: 1e-4 });
      }
      if (p.kind === 'in') {
        m.forward(t(c.tensors.x1));
        m.forward(t(c.tensors.x2));
        if (p.track) {
          const sd = m.stateDict();
          assertClose(sd.running_mean.buffer, c.tensors.running_mean.data, 'running_mean');
          assertClose(sd.running_var.buffer, c.tensors.running_var.data, 'running_var');
          assert.deepEqual([...sd.num_batches_tracked.buffer], [...c.tensors.num_batches_tracked.data], 'num_batches_tracked');
        }
        m.eval();
        assertClose(m.forward(t(c.tensors.xe)).buffer, c.tensors.ye.data, 'eval output');
      }
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

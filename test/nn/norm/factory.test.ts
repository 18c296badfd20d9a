import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nn, randn } from '../../../src/index.js';

describe('nn.norm factory', () => {
  it('builds each kind for 2-D and 1-D inputs', () => {
    const x2 = randn([4, 6, 3, 3], { seed: 1 });
    const x1 = randn([8, 6], { seed: 2 });
    const expect: Record<string, [string, string]> = {
      bn: ['BatchNorm2d', 'BatchNorm1d'], fbn: ['FilteredBatchNorm2d', 'FilteredBatchNorm1d'], brn: ['BatchRenorm2d', 'BatchRenorm1d'],
      gn: ['GroupNorm', 'GroupNorm'], ln: ['GroupNorm', 'GroupNorm'], in: ['InstanceNorm2d', 'InstanceNorm1d'], none: ['Identity', 'Identity'],
    };
    for (const [kind, [two, one]] of Object.entries(expect)) {
      const m2 = nn.norm(kind as nn.NormKind, 6, { groups: 3 });
      assert.equal(m2.constructor.name, two, kind);
      assert.deepEqual(m2.forward(x2).shape, x2.shape);
      const m1 = nn.norm(kind as nn.NormKind, 6, { dims: 1, groups: 3 });
      assert.equal(m1.constructor.name, one, kind);
      if (kind !== 'in') assert.deepEqual(m1.forward(x1).shape, x1.shape);
    }
  });

  it('builds every added kind for the input ranks it takes', () => {
    const x2 = randn([4, 6, 3, 3], { seed: 3 });
    const x1 = randn([8, 6], { seed: 4 });
    const x3 = randn([2, 6, 2, 3, 3], { seed: 5 });
    const two: Record<string, string> = {
      lazybn: 'LazyBatchNorm2d', frozenbn: 'FrozenBatchNorm2d', rms: 'RmsNorm2d', ln2d: 'LayerNorm2d', lrn: 'LocalResponseNorm',
      frn: 'FilterResponseNormTlu2d', evob0: 'EvoNorm2dB0', evos0: 'EvoNorm2dS0', bnact: 'BatchNormAct2d', gnact: 'GroupNormAct',
    };
    for (const [kind, name] of Object.entries(two)) {
      const m = nn.norm(kind as nn.NormKind, 6, { groups: 3 });
      assert.equal(m.constructor.name, name, kind);
      assert.deepEqual(m.forward(x2).shape, x2.shape, kind);
    }
    const one: Record<string, string> = { lazybn: 'LazyBatchNorm1d', rms: 'RMSNorm', ln2d: 'LayerNorm', gnact: 'GroupNormAct' };
    for (const [kind, name] of Object.entries(one)) {
      const m = nn.norm(kind as nn.NormKind, 6, { dims: 1, groups: 2 });
      assert.equal(m.constructor.name, name, kind);
      assert.deepEqual(m.forward(x1).shape, x1.shape, kind);
    }
    const three: Record<string, string> = { bn: 'BatchNorm3d', in: 'InstanceNorm3d', lazybn: 'LazyBatchNorm3d', lrn: 'LocalResponseNorm' };
    for (const [kind, name] of Object.entries(three)) {
      const m = nn.norm(kind as nn.NormKind, 6, { dims: 3 });
      assert.equal(m.constructor.name, name, kind);
      assert.deepEqual(m.forward(x3).shape, x3.shape, kind);
    }
    assert.equal(nn.NORM_KINDS.length, 17);
  });

  it("passes options through (bnWeight, threshold) and makes 'ln' LayerNorm statistics with a per-channel affine", () => {
    const fbn = nn.norm('fbn', 4, { bnWeight: 0.5, threshold: 2 }) as nn.FilteredBatchNorm2d;
    assert.equal(fbn.threshold, 2);
    assert.equal(fbn.weight!.buffer[0], 0.5);
    const ln = nn.norm('ln', 4) as nn.GroupNorm;
    assert.equal(ln.numGroups, 1);
    assert.deepEqual(ln.weight!.shape, [4]);
  });

  it('names what is wrong with a bad kind or a missing group count', () => {
    assert.throws(() => nn.norm('xx' as nn.NormKind, 4), /nn\.norm: kind must be one of 'bn', 'fbn', 'brn', 'gn', 'ln', 'in', 'none', 'lazybn', .*'gnact', got 'xx'/);
    assert.throws(() => nn.norm('frn', 4, { dims: 1 }), /nn\.norm: kind 'frn' takes dims 2, got dims 1/);
    assert.throws(() => nn.norm('gn', 4), /nn\.norm: opts\.groups is required for kind 'gn'/);
  });
});

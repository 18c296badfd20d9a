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

  it("passes options through (bnWeight, threshold) and makes 'ln' LayerNorm statistics with a per-channel affine", () => {
    const fbn = nn.norm('fbn', 4, { bnWeight: 0.5, threshold: 2 }) as nn.FilteredBatchNorm2d;
    assert.equal(fbn.threshold, 2);
    assert.equal(fbn.weight!.buffer[0], 0.5);
    const ln = nn.norm('ln', 4) as nn.GroupNorm;
    assert.equal(ln.numGroups, 1);
    assert.deepEqual(ln.weight!.shape, [4]);
  });

  it('names what is wrong with a bad kind or a missing group count', () => {
    assert.throws(() => nn.norm('xx' as nn.NormKind, 4), /nn\.norm: kind must be one of 'bn', 'fbn', 'brn', 'gn', 'ln', 'in', 'none', got 'xx'/);
    assert.throws(() => nn.norm('gn', 4), /nn\.norm: opts\.groups is required for kind 'gn'/);
  });
});

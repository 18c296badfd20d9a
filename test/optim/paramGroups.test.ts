import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { optim, nn, tensor, type Tensor } from '../../src/index.js';

describe('parameter groups and penalties over any model with named parameters', () => {
  const groupOf = (groups: optim.ParamGroupSpec[], p: Tensor): string | undefined => groups.find((g) => g.params.includes(p))?.name;

  it('puts the rank-2 weight of LayerNorm and RMSNorm in the norm-scale group, and a linear weight in the decay group', () => {
    const m = new nn.Sequential(new nn.LayerNorm([2, 3]), new nn.RMSNorm([2, 3]), new nn.Flatten(), new nn.Linear(6, 2));
    const groups = optim.paramGroups(m, { lr: 0.1, weightDecay: 1e-4, c: 10 });
    const byName = new Map(m.namedParameters());
    assert.equal(groupOf(groups, byName.get('0.weight')!), 'bn_weight');
    assert.equal(groupOf(groups, byName.get('0.bias')!), 'no_decay');
    assert.equal(groupOf(groups, byName.get('1.weight')!), 'bn_weight');
    assert.equal(groupOf(groups, byName.get('3.weight')!), 'decay');
    assert.equal(groupOf(groups, byName.get('3.bias')!), 'no_decay');
  });

  it('takes a plain object with namedParameters and namedModules in place of an nn.Module', () => {
    const w = tensor([[1, -2], [3, -4]], [2, 2], { requiresGrad: true });
    const g = tensor([1, 1], [2], { requiresGrad: true });
    const model = {
      namedParameters: (): [string, Tensor][] => [['fc.weight', w], ['norm.weight', g]],
      namedModules: (): [string, object][] => [['', {}], ['fc', {}], ['norm', {}]],
    };
    const groups = optim.paramGroups(model, { lr: 0.5, weightDecay: 0.1 });
    assert.deepEqual(groups.map((x) => [x.name, x.params.length, x.lr, x.weightDecay]), [['decay', 1, 0.5, 0.1], ['bn_weight', 1, 0.5, 0]]);
    // Σ|w| over both parameters (both named like 'weight'): 10 + 2; Σw² over fc.weight only: 30.
    assert.equal(optim.l1Penalty(model, 0.5)!.item(), 0.5 * (10 + 2));
    assert.equal(optim.l2Penalty(model, 2, (n) => n.startsWith('fc'))!.item(), 2 * 30);
  });
});

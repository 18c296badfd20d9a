import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, optim, nn, tensor } from '../../src/index.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/assert.js';
import { forEachIsa } from '../helpers/isa.js';
import { setIsa } from '../../src/backend/index.js';

type Make = (p: Tensor[], o: Record<string, unknown>) => optim.Optimizer<{ lr: number }>;

function build(params: Record<string, unknown>, p: Tensor): optim.Optimizer<{ lr: number }> {
  const o: Record<string, unknown> = {};
  const map: Record<string, string> = { weight_decay: 'weightDecay' };
  for (const [k, v] of Object.entries(params)) if (k !== 'optimizer') o[map[k] ?? k] = v;
  const makers: Record<string, Make> = {
    SGD: (ps, opts) => new optim.SGD(ps, opts as unknown as optim.SGDOptions),
    Adam: (ps, opts) => new optim.Adam(ps, opts),
    AdamW: (ps, opts) => new optim.AdamW(ps, opts),
    RMSprop: (ps, opts) => new optim.RMSprop(ps, opts),
  };
  return makers[params.optimizer as string]([p], o);
}

describe('optimizers against torch.optim', () => {
  const cases = loadFixtures('optim').filter((c) => c.name !== 'cosine');
  forEachIsa((isa) => {
    for (const c of cases) {
      it(`matches torch for ${c.name} over three steps (${isa})`, () => {
        setIsa(isa);
        const p = new Tensor(c.tensors.p0.data.slice(), c.tensors.p0.shape, { requiresGrad: true });
        const opt = build(c.params, p);
        const n = p.size;
        for (let s = 0; s < 3; s++) {
          p.grad = new Tensor(c.tensors.grads.data.slice(s * n, (s + 1) * n), [n]);
          opt.step();
          assertClose(p.buffer, c.tensors.after.data.subarray(s * n, (s + 1) * n), `${c.name} step ${s + 1}`, { rtol: 1e-5, atol: 1e-6 });
        }
      });
    }
  });

  it('follows torch CosineAnnealingLR for every group, including a group with lr / c', () => {
    const c = loadFixtures('optim').find((x) => x.name === 'cosine')!;
    const a = tensor([0], [1], { requiresGrad: true });
    const b = tensor([0], [1], { requiresGrad: true });
    const opt = new optim.SGD([{ params: [a], lr: 0.1 }, { params: [b], lr: 0.001 }], { lr: 0.1 });
    const sched = new optim.CosineAnnealingLR(opt, 10, 1e-4);
    for (let e = 0; e < 10; e++) {
      sched.step();
      assertClose(sched.getLr(), c.tensors.lrs.data.subarray(2 * e, 2 * e + 2), `epoch ${e + 1}`, { rtol: 1e-5, atol: 1e-9 });
    }
  });

  it('multiplies the lr by gamma every stepSize epochs with StepLR', () => {
    const p = tensor([0], [1], { requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 1 });
    const s = new optim.StepLR(opt, 2, 0.5);
    const seen: number[] = [];
    for (let e = 0; e < 5; e++) {
      s.step();
      seen.push(opt.groups[0].hp.lr);
    }
    assert.deepEqual(seen, [1, 0.5, 0.5, 0.25, 0.25]);
  });

  it('restores momentum buffers and step counts from stateDict so later steps match', () => {
    const mk = (): [Tensor, optim.Adam] => {
      const p = tensor([1, -2, 3], [3], { requiresGrad: true });
      return [p, new optim.Adam([p], { lr: 0.1 })];
    };
    const [p1, o1] = mk();
    const grads = [[0.1, 0.2, -0.3], [0.5, -0.1, 0.2], [-0.2, 0.3, 0.1]];
    p1.grad = tensor(grads[0], [3]);
    o1.step();
    const saved = o1.stateDict();
    const [p2, o2] = mk();
    p2.buffer.set(p1.buffer);
    o2.loadStateDict(saved);
    for (const g of grads.slice(1)) {
      p1.grad = tensor(g, [3]);
      p2.grad = tensor(g, [3]);
      o1.step();
      o2.step();
    }
    assert.deepEqual([...p2.buffer], [...p1.buffer]);
  });

  it('rejects a negative learning rate and names the optimizer', () => {
    const p = tensor([0], [1], { requiresGrad: true });
    assert.throws(() => new optim.SGD([p], { lr: -1 }), /SGD: lr must be a finite number >= 0, got -1/);
    assert.throws(() => new optim.Adam([p], { betas: [1.2, 0.9] }), /Adam: betas\[0\] must be in \[0, 1\)/);
  });
});

describe('seed 001 parameter groups', () => {
  class Tiny extends nn.Module {
    conv = this.registerParameter('weight', new nn.Parameter(new Float32Array(8), [2, 4]))!;
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  class Bn extends nn.Module {
    w = this.registerParameter('weight', new nn.Parameter(new Float32Array(2), [2]))!;
    b = this.registerParameter('bias', new nn.Parameter(new Float32Array(2), [2]))!;
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  class Net extends nn.Module {
    a = this.registerModule('conv', new Tiny());
    b = this.registerModule('bn', new Bn());
    forward(x: Tensor): Tensor {
      return x;
    }
  }

  it('puts BN weights in an lr / c group without decay and biases in a no-decay group', () => {
    const groups = optim.paramGroups(new Net(), { lr: 0.1, weightDecay: 1e-4, noDecayOn1d: true, bnWeightLrDivisor: 100 });
    const byName = Object.fromEntries(groups.map((g) => [g.name, g]));
    assert.equal(byName.decay.params.length, 1);
    assert.equal(byName.decay.weightDecay, 1e-4);
    assert.equal(byName.no_decay_1d.params.length, 1);
    assert.equal(byName.no_decay_1d.weightDecay, 0);
    assert.equal(byName.bn_weight.lr, 0.001);
    assert.equal(byName.bn_weight.weightDecay, 0);
  });
});

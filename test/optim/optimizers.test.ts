import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, optim, nn, tensor } from '../../src/index.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/assert.js';
import { forEachIsa } from '../helpers/isa.js';
import { setIsa } from '../../src/backend/index.js';
import { forEachDevice, runsCpuKernels } from '../helpers/device.js';

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

  it('keeps stateDict buffers as Float32Array copies and loads a JSON round trip of them', () => {
    const p = tensor([1, -2, 3], [3], { requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    p.grad = tensor([0.5, 0.5, 0.5], [3]);
    opt.step();
    const sd = opt.stateDict();
    const buf = sd.buffers[0].momentum_buffer;
    assert.ok(buf instanceof Float32Array);
    assert.deepEqual([...buf], [0.5, 0.5, 0.5]);
    buf[0] = 99;
    assert.deepEqual([...(opt.stateDict().buffers[0].momentum_buffer as Float32Array)], [0.5, 0.5, 0.5], 'a copy, not the live buffer');
    // A checkpoint read back from JSON holds number[] buffers.
    const fresh = opt.stateDict();
    const json = JSON.parse(JSON.stringify({ ...fresh, buffers: [{ momentum_buffer: Array.from(fresh.buffers[0].momentum_buffer ?? []) }] }));
    const opt2 = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    opt2.loadStateDict(json);
    assert.deepEqual(opt2.stateDict().buffers[0], { momentum_buffer: Float32Array.from([0.5, 0.5, 0.5]) });
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

forEachDevice('optimizers', (device, { t, read }) => {
  const cases = loadFixtures('optim').filter((c) => c.name !== 'cosine');
  for (const c of cases) {
    it(`matches torch for ${c.name} over three steps and the CPU (bit for bit where the device runs the CPU kernels)`, async () => {
      const n = c.tensors.p0.data.length;
      const onDevice = t(c.tensors.p0.data.slice(), c.tensors.p0.shape, true);
      const onCpu = tensor(c.tensors.p0.data.slice(), c.tensors.p0.shape, { requiresGrad: true });
      const optDevice = build(c.params, onDevice);
      const optCpu = build(c.params, onCpu);
      for (let s = 0; s < 3; s++) {
        const g = c.tensors.grads.data.slice(s * n, (s + 1) * n);
        onDevice.grad = t(g, [n]);
        onCpu.grad = tensor(g, [n]);
        optDevice.step();
        optCpu.step();
        const got = await read(onDevice);
        assertClose(got, c.tensors.after.data.subarray(s * n, (s + 1) * n), `${c.name} step ${s + 1}`, { rtol: 1e-5, atol: 1e-6 });
        if (runsCpuKernels(device)) assert.deepEqual(got, onCpu.data(), `${c.name} step ${s + 1} on ${device} against the CPU`);
        // On a GPU the last bits may differ: WGSL lets the compiler contract a*b + c into one
        // fused multiply-add, and its sqrt and division are accurate to 2.5 ulp, not correctly
        // rounded; over three Adam steps that is a few 1e-6 relative.
        else assertClose(got, onCpu.data(), `${c.name} step ${s + 1} on ${device} against the CPU`, { rtol: 1e-5, atol: 1e-7 });
      }
    });
  }

  it('saves its state with stateDictAsync and resumes from it on the same device', async () => {
    const grads = [[0.1, 0.2, -0.3], [0.5, -0.1, 0.2], [-0.2, 0.3, 0.1]];
    const p1 = t([1, -2, 3], [3], true);
    const o1 = new optim.Adam([p1], { lr: 0.1 });
    p1.grad = t(grads[0], [3]);
    o1.step();
    const saved = await o1.stateDictAsync();
    assert.ok(saved.buffers[0].exp_avg instanceof Float32Array);
    const p2 = t(await read(p1), [3], true);
    const o2 = new optim.Adam([p2], { lr: 0.1 });
    o2.loadStateDict(saved);
    for (const g of grads.slice(1)) {
      p1.grad = t(g, [3]);
      p2.grad = t(g, [3]);
      o1.step();
      o2.step();
    }
    assert.deepEqual(await read(p2), await read(p1));
  });

  if (device !== 'cpu') {
    it('names stateDictAsync when stateDict cannot read the state synchronously', () => {
      const p = t([1], [1], true);
      const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
      p.grad = t([1], [1]);
      opt.step();
      assert.throws(() => opt.stateDict(), new RegExp(`SGD.stateDict: state buffer 'momentum_buffer' is on device '${device}'.*stateDictAsync`));
    });
  }
});

describe('seed 001 parameter groups', () => {
  // conv (weight, bias), BN (γ, β), the input-norm BN (γ; β frozen), LayerNorm over [4, 3, 3]
  // (γ, β of rank 3), GroupNorm (γ, β) and linear (weight, bias).
  const net = (): nn.Sequential => new nn.Sequential(
    new nn.InputNorm(1), new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.LayerNorm([4, 3, 3]),
    new nn.GroupNorm(2, 4), new nn.Flatten(), new nn.Linear(36, 2),
  );
  const names = (m: nn.Module, ps: Tensor[]): string[] => m.namedParameters().filter(([, p]) => ps.includes(p)).map(([n]) => n);

  it('gives norm scales lr / c without decay, biases and shifts lr without decay, conv and linear weights the decay', () => {
    const m = net();
    const groups = optim.paramGroups(m, { lr: 0.1, weightDecay: 1e-4, c: 100 });
    const byName = Object.fromEntries(groups.map((g) => [g.name, g]));
    assert.deepEqual(names(m, byName.decay.params), ['1.weight', '6.weight']);
    assert.equal(byName.decay.lr, 0.1);
    assert.equal(byName.decay.weightDecay, 1e-4);
    assert.deepEqual(names(m, byName.no_decay.params), ['1.bias', '2.bias', '3.bias', '4.bias', '6.bias']);
    assert.equal(byName.no_decay.lr, 0.1);
    assert.equal(byName.no_decay.weightDecay, 0);
    assert.deepEqual(names(m, byName.bn_weight.params), ['0.weight', '2.weight', '3.weight', '4.weight']);
    assert.equal(byName.bn_weight.lr, 0.001);
    assert.equal(byName.bn_weight.weightDecay, 0);
    assert.equal(groups.reduce((a, g) => a + g.params.length, 0), m.parameters().length, 'every parameter in exactly one group');
  });

  it('keeps the BN-scale group on the schedule at lr / c', () => {
    const groups = optim.paramGroups(net(), { lr: 0.1, weightDecay: 1e-4, c: 100 });
    const opt = new optim.SGD(groups, { lr: 0.1 });
    const sched = new optim.CosineAnnealingLR(opt, 4);
    sched.step();
    sched.step();
    // Half way through a cosine schedule every group is at half its initial lr.
    assertClose(Float32Array.from(sched.getLr()), Float32Array.from([0.05, 0.05, 0.0005]), 'lr after 2 of 4 epochs');
  });

  it('describes each group with its counts, lr and weight decay', () => {
    const lines = optim.describeParamGroups(optim.paramGroups(net(), { lr: 0.1, weightDecay: 1e-4, c: 100 }));
    assert.deepEqual(lines, [
      'param group decay: 2 tensors, 108 values, lr 0.1, weight decay 0.0001',
      'param group no_decay: 5 tensors, 50 values, lr 0.1, weight decay 0',
      'param group bn_weight: 4 tensors, 45 values, lr 0.001, weight decay 0',
    ]);
  });

  it('rejects a c that is not positive', () => {
    assert.throws(() => optim.paramGroups(net(), { lr: 0.1, weightDecay: 0, c: 0 }), /paramGroups: rules\.c must be a finite number > 0, got 0/);
  });
});

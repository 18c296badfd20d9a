// FrozenBatchNorm2d and the model-level helpers: freezeBatchNorm / unfreezeBatchNorm,
// freezeNormStats, replaceBatchNorm, lazy channel inference and spectral norm's sigma.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nn, randn, noGrad, Tensor } from '../../../src/index.js';
import type { Module } from '../../../src/nn/module.js';
import { createModel } from '../../../src/models/index.js';
import { Generator } from '../../../src/tensor/random.js';
import { assertClose } from '../../helpers/assert.js';
import { forEachDevice } from '../../helpers/device.js';

/** Non-trivial running statistics and affine in every BN of a model. */
function randomizeBn(model: Module, seed: number): void {
  const gen = new Generator(seed);
  for (const [name, t] of Object.entries(model.stateDict())) {
    if (name.endsWith('running_mean') || name.endsWith('bias')) for (let i = 0; i < t.size; i++) t.buffer[i] = 0.3 * gen.normal();
    if (name.endsWith('running_var')) for (let i = 0; i < t.size; i++) t.buffer[i] = 0.5 + gen.uniform();
  }
}

const bnLayers = (m: Module, cls: abstract new (...a: never[]) => Module): number => m.modules().filter((x) => x instanceof cls).length;

describe('freezeBatchNorm and unfreezeBatchNorm', () => {
  it("turns every BatchNorm2d into a FrozenBatchNorm2d whose training output is the model's eval output", () => {
    // No dropout, so training and eval differ only by the normalization.
    const model = new nn.Sequential(
      new nn.Conv2d(1, 4, 3), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Conv2d(4, 6, 3, { stride: 2 }), new nn.BatchNorm2d(6),
      new nn.Flatten(), new nn.Linear(6 * 12 * 12, 10),
    );
    randomizeBn(model, 1);
    const x = randn([3, 1, 28, 28], { seed: 2 });
    const expected = noGrad(() => model.eval().call(x)).data();
    const paramsBefore = model.numParameters();
    const bnParams = model.modules().filter((m) => m instanceof nn.BatchNorm2d).reduce((a, m) => a + 2 * (m as nn.BatchNorm2d).numFeatures, 0);
    assert.ok(bnParams > 0);
    const frozen = freeze(model);
    assert.equal(bnLayers(frozen, nn.BatchNorm2d), 0);
    assert.ok(bnLayers(frozen, nn.FrozenBatchNorm2d) > 0);
    assert.equal(frozen.numParameters(), paramsBefore - bnParams);
    frozen.train();
    assertClose(noGrad(() => frozen.call(x)).data(), expected, 'frozen model in training mode');
    assert.ok(!Object.keys(frozen.stateDict()).some((k) => k.endsWith('num_batches_tracked')));

    const back = nn.unfreezeBatchNorm(frozen);
    assert.equal(bnLayers(back, nn.FrozenBatchNorm2d), 0);
    assert.equal(back.numParameters(), paramsBefore);
    assertClose(noGrad(() => back.eval().call(x)).data(), expected, 'unfrozen model in eval');
  });

  it('computes torchvision\'s y = x * w / sqrt(rv + eps) + (b - rm * w / sqrt(rv + eps)) and loads a BatchNorm2d state dict', () => {
    const bn = new nn.BatchNorm2d(2);
    bn.weight!.buffer.set([2, -1]);
    bn.bias!.buffer.set([0.5, 1]);
    bn.runningMean!.buffer.set([1, -2]);
    bn.runningVar!.buffer.set([4, 0.25]);
    const f = new nn.FrozenBatchNorm2d(2);
    f.loadStateDict(bn.stateDict());
    const x = new Tensor(Float32Array.of(3, 5, 0, -2), [1, 2, 2, 1], { requiresGrad: true });
    const y = f.forward(x);
    const s0 = 2 / Math.sqrt(4 + 1e-5);
    const s1 = -1 / Math.sqrt(0.25 + 1e-5);
    assertClose(y.data(), [3 * s0 + 0.5 - s0, 5 * s0 + 0.5 - s0, 0 * s1 + 1 + 2 * s1, -2 * s1 + 1 + 2 * s1], 'output');
    y.sum().backward();
    assertClose(x.grad!.data(), [s0, s0, s1, s1], 'input gradient is the scale');
    assert.deepEqual(f.parameters(), []);
  });

  it('returns the new layer when the model itself is a BatchNorm2d', () => {
    assert.ok(nn.freezeBatchNorm(new nn.BatchNorm2d(3)) instanceof nn.FrozenBatchNorm2d);
  });
});

function freeze(m: Module): Module {
  return nn.freezeBatchNorm(m);
}

describe('Module.freezeNormStats', () => {
  it('normalizes with running statistics and keeps them fixed in training mode while gamma still learns', () => {
    const model = createModel('lenet5', { norm: 'bn' });
    randomizeBn(model, 3);
    const x = randn([4, 1, 28, 28], { seed: 4 });
    const expected = noGrad(() => model.eval().call(x)).data();
    const before = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.data()]));
    model.freezeNormStats();
    model.train();
    const y = model.call(x);
    assertClose(y.data(), expected, 'training output equals eval output');
    y.sum().backward();
    for (const [k, v] of Object.entries(model.stateDict())) if (/running|num_batches/.test(k)) assert.deepEqual(v.data(), before[k], k);
    const bn = model.modules().find((m) => m instanceof nn.BatchNorm2d) as nn.BatchNorm2d;
    assert.ok(bn.weight!.grad!.data().some((g) => g !== 0), 'gamma receives a gradient');
    model.unfreezeNormStats();
    noGrad(() => model.call(x));
    assert.notDeepEqual(bn.runningMean!.data(), before[Object.keys(before).find((k) => k.endsWith('running_mean'))!]);
  });
});

describe('replaceBatchNorm', () => {
  it('swaps every BN for GroupNorm keeping weight and bias, and for Filtered BN keeping the running statistics too', () => {
    const model = createModel('lenet5', { norm: 'bn' });
    randomizeBn(model, 5);
    const old = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.data()]));
    const gn = nn.replaceBatchNorm(model, (bn) => new nn.GroupNorm(1, bn.numFeatures));
    assert.equal(bnLayers(gn, nn.BatchNorm2d), 0);
    const sd = gn.stateDict();
    const gnNames = gn.namedModules().filter(([, m]) => m instanceof nn.GroupNorm).map(([n]) => n);
    assert.ok(gnNames.length > 0);
    for (const n of gnNames) {
      assert.deepEqual(sd[`${n}.weight`].data(), old[`${n}.weight`]);
      assert.deepEqual(sd[`${n}.bias`].data(), old[`${n}.bias`]);
      assert.equal(sd[`${n}.running_mean`], undefined);
    }
    assert.deepEqual(gn.call(randn([2, 1, 28, 28], { seed: 6 })).shape, [2, 10]);

    const model2 = createModel('lenet5', { norm: 'bn' });
    randomizeBn(model2, 7);
    const old2 = Object.fromEntries(Object.entries(model2.stateDict()).map(([k, v]) => [k, v.data()]));
    const fbn = nn.replaceBatchNorm(model2, (bn) => new nn.FilteredBatchNorm2d(bn.numFeatures, { threshold: 3 }));
    for (const [k, v] of Object.entries(fbn.stateDict())) if (k.endsWith('running_var')) assert.deepEqual(v.data(), old2[k], k);
  });
});

describe('LazyBatchNorm2d', () => {
  it('takes its channel count from the first input or from a state dict', () => {
    const lazy = new nn.LazyBatchNorm2d();
    assert.ok(lazy.hasUninitializedParameters());
    lazy.forward(randn([2, 5, 3, 3], { seed: 8 }));
    assert.equal(lazy.numFeatures, 5);
    assert.deepEqual(lazy.weight!.shape, [5]);
    assert.deepEqual(lazy.runningVar!.shape, [5]);
    const other = new nn.LazyBatchNorm2d();
    other.loadStateDict(lazy.stateDict());
    assert.equal(other.numFeatures, 5);
    assert.deepEqual(other.runningMean!.data(), lazy.runningMean!.data());
  });
});

describe('spectralNorm', () => {
  it('divides the weight by its largest singular value once power iteration has converged', () => {
    const lin = new nn.Linear(3, 3, { bias: false });
    lin.getParameter('weight')!.buffer.set([3, 0, 0, 0, 2, 0, 0, 0, 1]);
    nn.utils.spectralNorm(lin, 'weight', { nPowerIterations: 50 });
    assert.deepEqual(Object.keys(lin.stateDict()).sort(), ['weight_orig', 'weight_u', 'weight_v']);
    lin.train();
    lin.call(randn([1, 3], { seed: 9 }));
    nn.utils.removeSpectralNorm(lin);
    assertClose(lin.getParameter('weight')!.data(), [1, 0, 0, 0, 2 / 3, 0, 0, 0, 1 / 3], 'W / sigma', { atol: 1e-5 });
  });
});

forEachDevice('FrozenBatchNorm2d on a device', (device, { t, read }) => {
  it("computes torchvision's formula where the BatchNorm2d lives and round-trips through unfreezeBatchNorm", async () => {
    const made = new nn.BatchNorm2d(2);
    made.weight!.buffer.set([2, -1]);
    made.bias!.buffer.set([0.5, 1]);
    made.runningMean!.buffer.set([1, -2]);
    made.runningVar!.buffer.set([4, 0.25]);
    const f = nn.freezeBatchNorm(made.to(device)) as nn.FrozenBatchNorm2d;
    assert.equal(f.runningVar.device, device);
    const s0 = 2 / Math.sqrt(4 + 1e-5);
    const s1 = -1 / Math.sqrt(0.25 + 1e-5);
    const expected = [3 * s0 + 0.5 - s0, 5 * s0 + 0.5 - s0, 0 * s1 + 1 + 2 * s1, -2 * s1 + 1 + 2 * s1];
    const x = t([3, 5, 0, -2], [1, 2, 2, 1], true);
    const y = f.forward(x);
    assertClose(await read(y), expected, 'output');
    y.backward(t([1, 1, 1, 1], [1, 2, 2, 1]));
    assertClose(await read(x.grad!), [s0, s0, s1, s1], 'input gradient is the scale');
    const back = nn.unfreezeBatchNorm(f) as nn.BatchNorm2d;
    assert.equal(back.weight!.device, device);
    back.eval();
    assertClose(await read(back.forward(t([3, 5, 0, -2], [1, 2, 2, 1]))), expected, 'unfrozen BatchNorm2d in eval');
  });

  if (device !== 'cpu') {
    it(`throws naming the op and both devices when a FrozenBatchNorm2d on '${device}' gets a CPU input`, () => {
      const f = new nn.FrozenBatchNorm2d(2).to(device);
      assert.throws(() => f.forward(randn([1, 2, 2, 2])), new RegExp(`batchNorm: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
    });
  }
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nn, functional as F, tensor, randn, ones, manualSeed } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';
import { forEachDevice } from '../helpers/device.js';
import { Generator } from '../../src/tensor/random.js';
import * as init from '../../src/nn/init.js';

forEachDevice('Linear', (device, { read }) => {
  it('initialises weight and bias from U(-1/sqrt(in), 1/sqrt(in)) with PyTorch names and shapes', async () => {
    manualSeed(0);
    const m = new nn.Linear(64, 300).to(device);
    assert.equal(m.device, device);
    const bound = 1 / 8;
    const w = await read(m.weight);
    assert.deepEqual(m.weight.shape, [300, 64]);
    assert.deepEqual(m.bias!.shape, [300]);
    assert.ok(w.every((v) => v >= -bound && v <= bound));
    // Uniform on [-b, b]: variance b^2 / 3.
    const variance = w.reduce((a, v) => a + v * v, 0) / w.length;
    assert.ok(Math.abs(variance - bound ** 2 / 3) < 0.05 * bound ** 2, `variance ${variance}`);
    assert.deepEqual(Object.keys(m.stateDict()), ['weight', 'bias']);
  });

  it('gives the same weights after the same manualSeed', async () => {
    manualSeed(5);
    const a = await read(new nn.Linear(3, 4).to(device).weight);
    manualSeed(5);
    assert.deepEqual(await read(new nn.Linear(3, 4).to(device).weight), a);
  });

  it('has no bias with bias: false and takes its weight from a state dict', async () => {
    const m = new nn.Linear(2, 1, { bias: false }).to(device);
    assert.equal(m.bias, null);
    assert.deepEqual(m.namedParameters().map(([n]) => n), ['weight']);
    m.loadStateDict({ weight: tensor([[2, -1]]) });
    assert.equal(m.weight.device, device);
    assert.deepEqual([...(await read(m.weight))], [2, -1]);
  });
});

describe('Linear forward', () => {
  it('computes x W^T', () => {
    const m = new nn.Linear(2, 1, { bias: false });
    m.loadStateDict({ weight: tensor([[2, -1]]) });
    assert.deepEqual([...m.forward(tensor([[1, 2], [3, 4]])).data()], [0, 2]);
  });

  it('rejects non-positive feature counts', () => {
    assert.throws(() => new nn.Linear(0, 3), /Linear: inFeatures must be an integer >= 1, got 0/);
  });
});

forEachDevice('nn.init', (device, { t, read }) => {
  it('fills a tensor on its device with the values the seeded generator gives', async () => {
    const w = t(new Float32Array(2 * 3 * 3 * 3), [2, 3, 3, 3]);
    init.kaimingNormal(w, { mode: 'fan_out', nonlinearity: 'relu', generator: new Generator(1) });
    const g = new Generator(1);
    const std = Math.SQRT2 / Math.sqrt(2 * 9);
    assert.deepEqual([...(await read(w))], Array.from({ length: w.size }, () => Math.fround(g.normal() * std)));
    init.constant(w, 0.25);
    assert.ok((await read(w)).every((v) => v === 0.25));
    const u = t(new Float32Array(6), [2, 3]);
    init.xavierUniform(u, 1, new Generator(2));
    const bound = Math.sqrt(6 / 5);
    const h = new Generator(2);
    assert.deepEqual([...(await read(u))], Array.from({ length: 6 }, () => Math.fround(-bound + 2 * bound * h.uniform())));
    assert.equal(u.device, device);
  });
});

describe('activation and shape layers', () => {
  const x = tensor([-2, -0.5, 0, 1.5], [2, 2]);
  it('apply their functional op', () => {
    assert.deepEqual([...new nn.ReLU().forward(x).data()], [0, 0, 0, 1.5]);
    assertClose(new nn.LeakyReLU(0.1).forward(x).data(), [-0.2, -0.05, 0, 1.5], 'LeakyReLU');
    assertClose(new nn.Sigmoid().forward(x).data(), F.sigmoid(x).data(), 'Sigmoid');
    assertClose(new nn.Tanh().forward(x).data(), F.tanh(x).data(), 'Tanh');
    assertClose(new nn.GELU().forward(x).data(), F.gelu(x).data(), 'GELU');
    assertClose(new nn.Softmax(1).forward(x).data(), F.softmax(x, 1).data(), 'Softmax');
    assertClose(new nn.LogSoftmax(0).forward(x).data(), F.logSoftmax(x, 0).data(), 'LogSoftmax');
    assert.equal(new nn.Identity().forward(x), x);
  });

  it('Flatten keeps the batch dim by default', () => {
    assert.deepEqual(new nn.Flatten().forward(ones([2, 3, 4, 5])).shape, [2, 60]);
    assert.deepEqual(new nn.Flatten(0).forward(ones([2, 3, 4])).shape, [24]);
    assert.deepEqual(new nn.Flatten(1, 2).forward(ones([2, 3, 4, 5])).shape, [2, 12, 5]);
  });
});

describe('Dropout layers', () => {
  it('drop in training mode and are the identity in eval mode', () => {
    const x = ones([2, 8, 4, 4]);
    for (const m of [new nn.Dropout(0.5), new nn.Dropout2d(0.5)]) {
      m.train();
      assert.ok(m.forward(x).data().some((v) => v === 0));
      m.eval();
      assert.equal(m.forward(x), x);
    }
  });

  it('are repeatable under manualSeed', () => {
    const m = new nn.Dropout(0.3);
    const x = ones([100]);
    manualSeed(9);
    const a = m.forward(x).data();
    manualSeed(9);
    assert.deepEqual(m.forward(x).data(), a);
  });

  it('reject p outside [0, 1]', () => {
    assert.throws(() => new nn.Dropout(2), /Dropout: p must be a probability in \[0, 1\], got 2/);
    assert.throws(() => new nn.Dropout2d(-1), /Dropout2d: p must be a probability in \[0, 1\], got -1/);
  });
});

describe('loss modules', () => {
  it('CrossEntropyLoss and MSELoss match the functional losses', () => {
    const logits = randn([4, 3], { seed: 1 });
    const t = tensor([0, 2, 1, 2]);
    assert.equal(new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(logits, t).item(), F.crossEntropy(logits, t, { labelSmoothing: 0.1 }).item());
    assert.equal(new nn.CrossEntropyLoss().loss(logits, [0, 2, 1, 2]).item(), F.crossEntropy(logits, t).item());
    const y = randn([4, 3], { seed: 2 });
    assert.equal(new nn.MSELoss().forward(logits, y).item(), F.mseLoss(logits, y).item());
  });

  it('require a target', () => {
    assert.throws(() => new nn.CrossEntropyLoss().forward(ones([2, 2])), /CrossEntropyLoss.forward: target is missing/);
  });
});

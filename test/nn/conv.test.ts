import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, nn, functional as F, manualSeed } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';

describe('nn.Conv2d', () => {
  it('draws weight and bias from U(-1/sqrt(fanIn), 1/sqrt(fanIn)) as PyTorch does', () => {
    manualSeed(3);
    const conv = new nn.Conv2d(4, 8, 3, { groups: 2 });
    const bound = 1 / Math.sqrt(2 * 3 * 3);
    assert.deepEqual(conv.weight.shape, [8, 2, 3, 3]);
    assert.deepEqual(conv.bias!.shape, [8]);
    for (const v of [...conv.weight.buffer, ...conv.bias!.buffer]) assert.ok(Math.abs(v) <= bound, `${v} outside +-${bound}`);
    const spread = Math.max(...conv.weight.buffer) - Math.min(...conv.weight.buffer);
    assert.ok(spread > bound, 'weights span most of the range');
  });

  it('is reproducible under manualSeed', () => {
    manualSeed(11);
    const a = new nn.Conv2d(3, 4, [3, 2]);
    manualSeed(11);
    const b = new nn.Conv2d(3, 4, [3, 2]);
    assert.deepEqual(a.weight.data(), b.weight.data());
    assert.deepEqual(a.bias!.data(), b.bias!.data());
  });

  it('names its state weight and bias, and has no bias when asked', () => {
    assert.deepEqual(Object.keys(new nn.Conv2d(1, 2, 3).stateDict()), ['weight', 'bias']);
    const noBias = new nn.Conv2d(1, 2, 3, { bias: false });
    assert.deepEqual(Object.keys(noBias.stateDict()), ['weight']);
    assert.equal(noBias.bias, null);
  });

  it('runs F.conv2d with its options and trains weight and bias', () => {
    const conv = new nn.Conv2d(2, 3, 3, { stride: 2, padding: 1 });
    const x = new Tensor(Float32Array.from({ length: 2 * 2 * 7 * 7 }, (_, i) => Math.sin(i)), [2, 2, 7, 7]);
    const y = conv.call(x);
    assert.deepEqual(y.shape, [2, 3, 4, 4]);
    assertClose(y.buffer, F.conv2d(x, conv.weight.detach(), conv.bias!.detach(), { stride: 2, padding: 1 }).buffer, 'layer vs functional');
    y.sum().backward();
    assert.notEqual(conv.weight.grad, null);
    assertClose(conv.bias!.grad!.buffer, [32, 32, 32], 'bias gradient counts output positions');
  });

  it('rejects groups that do not divide the channels', () => {
    assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /Conv2d: groups \(2\) must divide inChannels \(3\) and outChannels \(4\)/);
  });
});

describe('pooling layers', () => {
  const x = new Tensor(Float32Array.from({ length: 2 * 3 * 8 * 8 }, (_, i) => Math.cos(i)), [2, 3, 8, 8]);
  it('run the functional ops with their options', () => {
    assertClose(new nn.MaxPool2d(2).call(x).buffer, F.maxPool2d(x, 2).buffer, 'MaxPool2d');
    assertClose(new nn.AvgPool2d(3, { stride: 2, padding: 1 }).call(x).buffer, F.avgPool2d(x, 3, { stride: 2, padding: 1 }).buffer, 'AvgPool2d');
    assert.deepEqual(new nn.AdaptiveAvgPool2d(1).call(x).shape, [2, 3, 1, 1]);
  });
  it('hold no state', () => {
    assert.deepEqual(Object.keys(new nn.MaxPool2d(2).stateDict()), []);
  });
});

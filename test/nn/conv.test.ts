import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, nn, functional as F, manualSeed, setDefaultDevice } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';
import { forEachDevice } from '../helpers/device.js';
import { Generator } from '../../src/tensor/random.js';

const waves = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));

forEachDevice('nn.Conv2d', (device, { t, read }) => {
  it('draws weight and bias from U(-1/sqrt(fanIn), 1/sqrt(fanIn)) as PyTorch does', async () => {
    manualSeed(3);
    const conv = new nn.Conv2d(4, 8, 3, { groups: 2 }).to(device);
    assert.equal(conv.device, device);
    const bound = 1 / Math.sqrt(2 * 3 * 3);
    assert.deepEqual(conv.weight.shape, [8, 2, 3, 3]);
    assert.deepEqual(conv.bias!.shape, [8]);
    const w = await read(conv.weight);
    for (const v of [...w, ...(await read(conv.bias!))]) assert.ok(Math.abs(v) <= bound, `${v} outside +-${bound}`);
    const spread = Math.max(...w) - Math.min(...w);
    assert.ok(spread > bound, 'weights span most of the range');
  });

  it('is reproducible under manualSeed', async () => {
    manualSeed(11);
    const a = new nn.Conv2d(3, 4, [3, 2]).to(device);
    manualSeed(11);
    const b = new nn.Conv2d(3, 4, [3, 2]).to(device);
    assert.deepEqual(await read(a.weight), await read(b.weight));
    assert.deepEqual(await read(a.bias!), await read(b.bias!));
  });

  it('names its state weight and bias, and has no bias when asked', () => {
    assert.deepEqual(Object.keys(new nn.Conv2d(1, 2, 3).to(device).stateDict()), ['weight', 'bias']);
    const noBias = new nn.Conv2d(1, 2, 3, { bias: false }).to(device);
    assert.deepEqual(Object.keys(noBias.stateDict()), ['weight']);
    assert.equal(noBias.bias, null);
  });

  it('runs F.conv2d with its options and trains weight and bias', async () => {
    const conv = new nn.Conv2d(2, 3, 3, { stride: 2, padding: 1 }).to(device);
    const x = t(waves(2 * 2 * 7 * 7, Math.sin), [2, 2, 7, 7]);
    const y = conv.call(x);
    assert.deepEqual(y.shape, [2, 3, 4, 4]);
    assert.equal(y.device, device);
    assertClose(await read(y), await read(F.conv2d(x, conv.weight.detach(), conv.bias!.detach(), { stride: 2, padding: 1 })), 'layer vs functional');
    y.backward(t(new Float32Array(y.size).fill(1), y.shape));
    assert.notEqual(conv.weight.grad, null);
    assertClose(await read(conv.bias!.grad!), [32, 32, 32], 'bias gradient counts output positions');
  });

  it('loads a state dict from the CPU into its parameters on its device', async () => {
    const conv = new nn.Conv2d(1, 2, 1).to(device);
    conv.loadStateDict({ weight: new Tensor(new Float32Array([3, -2]), [2, 1, 1, 1]), bias: new Tensor(new Float32Array([0.5, 1]), [2]) });
    assert.equal(conv.weight.device, device);
    assert.deepEqual([...(await read(conv.call(t([1, 2], [1, 1, 1, 2]))))], [3.5, 6.5, -1, -3]);
  });

  if (device !== 'cpu') {
    it(`gives the CPU result after .to('${device}') on an input on ${device}`, async () => {
      manualSeed(7);
      const conv = new nn.Conv2d(3, 5, 3, { padding: 1, stride: [1, 2] });
      const xs = waves(2 * 3 * 6 * 6, (i) => Math.cos(i * 0.37));
      const x = new Tensor(xs.slice(), [2, 3, 6, 6], { requiresGrad: true });
      const yCpu = conv.call(x);
      yCpu.sum().backward();
      const expected = { y: yCpu.data(), gx: x.grad!.data(), gw: conv.weight.grad!.data(), gb: conv.bias!.grad!.data() };
      conv.zeroGrad();
      conv.to(device);
      assert.equal(conv.weight.device, device);
      const xd = t(xs.slice(), [2, 3, 6, 6], true);
      const y = conv.call(xd);
      assert.equal(y.device, device);
      y.backward(t(new Float32Array(y.size).fill(1), y.shape));
      assertClose(await read(y), expected.y, 'output');
      assertClose(await read(xd.grad!), expected.gx, 'input gradient');
      assertClose(await read(conv.weight.grad!), expected.gw, 'weight gradient');
      assertClose(await read(conv.bias!.grad!), expected.gb, 'bias gradient');
    });

    it(`creates its parameters on ${device} when that is the default device, with the CPU's values`, async () => {
      manualSeed(12);
      const cpuConv = new nn.Conv2d(2, 4, 3);
      manualSeed(12);
      setDefaultDevice(device);
      let conv: nn.Conv2d;
      try {
        conv = new nn.Conv2d(2, 4, 3);
      } finally {
        setDefaultDevice('cpu');
      }
      assert.equal(conv.weight.device, device);
      assert.equal(conv.bias!.device, device);
      assert.deepEqual(await read(conv.weight), cpuConv.weight.data());
      assert.deepEqual(await read(conv.bias!), cpuConv.bias!.data());
    });

    it(`throws an error naming conv2d and both devices for a CPU input to a layer on ${device}`, () => {
      const conv = new nn.Conv2d(1, 2, 3).to(device);
      const x = new Tensor(new Float32Array(16), [1, 1, 4, 4]);
      assert.throws(() => conv.call(x), new RegExp(`conv2d: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
    });
  }
});

describe('nn.Conv2d arguments', () => {
  it('rejects groups that do not divide the channels', () => {
    assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /Conv2d: groups \(2\) must divide inChannels \(3\) and outChannels \(4\)/);
  });

  it('draws (2u - 1) * bound from the seeded stream, weight first then bias, as recorded runs expect', () => {
    manualSeed(4);
    const conv = new nn.Conv2d(2, 3, [2, 2]);
    const bound = 1 / Math.sqrt(2 * 2 * 2);
    const g = new Generator(4);
    const draw = (n: number): number[] => Array.from({ length: n }, () => Math.fround((2 * g.uniform() - 1) * bound));
    assert.deepEqual([...conv.weight.data()], draw(3 * 2 * 2 * 2));
    assert.deepEqual([...conv.bias!.data()], draw(3));
  });
});

forEachDevice('pooling layers', (device, { t, read }) => {
  const xs = waves(2 * 3 * 8 * 8, Math.cos);
  it('run the functional ops with their options', async () => {
    const x = t(xs.slice(), [2, 3, 8, 8]);
    assertClose(await read(new nn.MaxPool2d(2).call(x)), await read(F.maxPool2d(x, 2)), 'MaxPool2d');
    const avg = new nn.AvgPool2d(3, { stride: 2, padding: 1 }).call(x);
    assert.equal(avg.device, device);
    assertClose(await read(avg), await read(F.avgPool2d(x, 3, { stride: 2, padding: 1 })), 'AvgPool2d');
    assert.deepEqual(new nn.AdaptiveAvgPool2d(1).call(x).shape, [2, 3, 1, 1]);
  });
  it('hold no state', () => {
    assert.deepEqual(Object.keys(new nn.MaxPool2d(2).stateDict()), []);
  });
});

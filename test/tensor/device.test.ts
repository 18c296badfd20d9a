import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, zeros, randn, Tensor, nn, setDefaultDevice, getDefaultDevice, availableDevices } from '../../src/index.js';
import { backendFor, unregisterBackend } from '../../src/backend/index.js';
import { ensureSecondDevice } from '../helpers/device.js';

describe('tensor devices', () => {
  before(() => ensureSecondDevice());
  after(() => setDefaultDevice('cpu'));

  it("puts tensors on 'cpu' unless told, and says so", () => {
    const x = tensor([1, 2, 3]);
    assert.equal(x.device, 'cpu');
    assert.equal(getDefaultDevice(), 'cpu');
    assert.deepEqual([...x.data()], [1, 2, 3]);
  });

  it('creates tensor, zeros and randn on the device asked for, with the same values as on the CPU', async () => {
    const a = tensor([[1, 2], [3, 4]], undefined, { device: 'webgpu' });
    assert.equal(a.device, 'webgpu');
    assert.deepEqual(a.shape, [2, 2]);
    assert.deepEqual([...(await a.read())], [1, 2, 3, 4]);
    assert.deepEqual([...(await zeros([3], { device: 'webgpu' }).read())], [0, 0, 0]);
    const r = randn([5], { seed: 7, device: 'webgpu' });
    assert.deepEqual([...(await r.read())], [...randn([5], { seed: 7 }).data()]);
  });

  it('refuses data(), item() and toArray() on a device that cannot be read synchronously, naming the async form', async () => {
    const x = tensor([4.5], [1], { device: 'webgpu' });
    assert.throws(() => x.data(), /Tensor\.data: the tensor is on device 'webgpu'.*await x\.read\(\)/);
    assert.throws(() => x.item(), /Tensor\.item: the tensor is on device 'webgpu'.*await x\.itemAsync\(\)/);
    assert.throws(() => x.buffer, /Tensor\.buffer: .*'webgpu'/);
    assert.equal(await x.itemAsync(), 4.5);
    await assert.rejects(tensor([1, 2], [2], { device: 'webgpu' }).itemAsync(), /Tensor\.itemAsync: expected a tensor with 1 element, got shape \[2\]/);
  });

  it('moves values with to() and toAsync(), returning the tensor itself when it is there already', async () => {
    const x = tensor([1, -2, 3], [3], { requiresGrad: true });
    assert.equal(x.to('cpu'), x);
    const g = x.to('webgpu');
    assert.equal(g.device, 'webgpu');
    assert.equal(g.requiresGrad, true);
    assert.equal(g.isLeaf, true);
    assert.throws(() => g.to('cpu'), /Tensor\.to: the tensor is on device 'webgpu'.*toAsync\('cpu'\)/);
    const back = await g.toAsync('cpu');
    assert.deepEqual([...back.data()], [1, -2, 3]);
  });

  it('rejects an unknown device name in every entry point, naming the function, the argument and the choices', () => {
    assert.throws(() => tensor([1], [1], { device: 'cuda' as never }), /tensor: options\.device must be one of 'cpu', 'webgpu', got "cuda"/);
    assert.throws(() => zeros([1], { device: 'gpu' as never }), /full: options\.device must be one of 'cpu', 'webgpu', got "gpu"/);
    assert.throws(() => tensor([1]).to('tpu' as never), /Tensor\.to: device must be one of 'cpu', 'webgpu', got "tpu"/);
    assert.throws(() => setDefaultDevice('metal' as never), /setDefaultDevice: device must be one of/);
    assert.throws(() => new nn.Linear(2, 2).to('cuda' as never), /Linear\.to: device must be one of/);
  });

  it('says which devices are available and refuses one without a backend', () => {
    unregisterBackend('webgpu');
    try {
      assert.deepEqual(availableDevices(), ['cpu']);
      assert.throws(() => tensor([1]).to('webgpu'), /Tensor\.to: device 'webgpu' is not available \(available: 'cpu'\)/);
      assert.throws(() => setDefaultDevice('webgpu'), /setDefaultDevice: device 'webgpu' is not available/);
    } finally {
      ensureSecondDevice();
    }
  });

  it('creates on the default device set by setDefaultDevice', () => {
    setDefaultDevice('webgpu');
    try {
      assert.equal(tensor([1, 2]).device, 'webgpu');
      assert.equal(new nn.Linear(3, 2).weight.device, 'webgpu');
    } finally {
      setDefaultDevice('cpu');
    }
    assert.equal(tensor([1, 2]).device, 'cpu');
  });

  it('names the op and both devices when inputs are on two devices', () => {
    const a = tensor([1, 2]);
    const b = tensor([1, 2], [2], { device: 'webgpu' });
    assert.throws(() => backendFor('add', a, b), /add: expected all tensors on one device, but found tensors on 'cpu' and 'webgpu'/);
    assert.equal(backendFor('add', a, null, a).device, 'cpu');
  });

  it('refuses a tensor whose memory was released by dispose(), and its detached views', () => {
    const x = randn([4], { seed: 1 });
    const d = x.detach();
    x.dispose();
    assert.throws(() => x.data(), /memory was released \(by dispose\(\)/);
    assert.throws(() => d.data(), /memory was released/);
    x.dispose();
  });

  it('moves a module with to(): parameters and buffers keep their identity and values, and old views are refused', async () => {
    const bn = new nn.BatchNorm2d(3);
    const w = bn.weight!;
    const before = w.data();
    const oldView = w.detach();
    assert.equal(bn.device, 'cpu');
    bn.to('webgpu');
    assert.equal(bn.device, 'webgpu');
    assert.equal(bn.weight, w);
    for (const [, t] of [...bn.namedParameters(), ...bn.namedBuffers()]) assert.equal(t.device, 'webgpu');
    assert.deepEqual(await w.read(), before);
    assert.throws(() => oldView.data(), /memory was released .*to\(\)\/module\.to\(\)/);
    await bn.toAsync('cpu');
    assert.equal(w.device, 'cpu');
    assert.deepEqual(w.data(), before);
  });

  it('loads a state dict from another device into a module', () => {
    const a = new nn.Linear(2, 2);
    const b = new nn.Linear(2, 2).to('webgpu');
    assert.throws(() => a.loadStateDict(b.stateDict()), /Tensor\.to: the tensor is on device 'webgpu'/);
    b.to('webgpu');
    a.to('webgpu').loadStateDict(b.stateDict());
  });

  it('keeps Tensor construction from a Float32Array on the CPU without a copy', () => {
    const values = new Float32Array([1, 2]);
    const x = new Tensor(values, [2]);
    values[0] = 9;
    assert.equal(x.item === undefined, false);
    assert.equal(x.data()[0], 9);
  });
});

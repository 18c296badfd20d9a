import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeviceChoice, resolveDevice, describeDevices, formatDevices, DeviceChoiceError } from '../../src/backend/select.js';
import { availableDevices, backendOn, registerBackend, unregisterBackend, type Backend } from '../../src/backend/index.js';
import { emulatedWebgpu } from '../helpers/device.js';

const adapter = {
  vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 19.1.7, 256 bits)', description: 'Mesa 25.0.7', software: true,
  features: ['shader-f16', 'subgroups'], limits: { maxBufferSize: 2147483648, maxComputeInvocationsPerWorkgroup: 256 },
};

describe('device selection', () => {
  // These tests start from a process without WebGPU: a backend the test helpers registered (the
  // real one where this machine has an adapter) is set aside and put back afterwards.
  let registered: Backend | null = null;
  before(() => {
    if (availableDevices().includes('webgpu')) {
      registered = backendOn('webgpu');
      unregisterBackend('webgpu');
    }
  });
  after(() => {
    if (registered !== null) registerBackend('webgpu', registered);
  });

  it('takes the flag before NORMLAB_DEVICE, and the CPU when neither is given', () => {
    assert.equal(parseDeviceChoice('webgpu', 'cpu'), 'webgpu');
    assert.equal(parseDeviceChoice(undefined, 'auto'), 'auto');
    assert.equal(parseDeviceChoice(undefined, ' webgpu '), 'webgpu');
    assert.equal(parseDeviceChoice(undefined, ''), 'cpu');
    assert.equal(parseDeviceChoice(undefined, undefined), 'cpu');
  });

  it('names the flag or the variable, the allowed values and the value found when one is bad', () => {
    assert.throws(() => parseDeviceChoice('gpu', 'cpu'), (e: Error) => e instanceof DeviceChoiceError && e.message === "--device must be one of cpu, webgpu, auto, got 'gpu'");
    assert.throws(() => parseDeviceChoice(undefined, 'cuda'), (e: Error) => e instanceof DeviceChoiceError && e.message === "NORMLAB_DEVICE (the default of --device) must be one of cpu, webgpu, auto, got 'cuda'");
  });

  it('falls back to the CPU for auto when WebGPU cannot be enabled, saying so in one line with the reason', async () => {
    assert.ok(!availableDevices().includes('webgpu'));
    const lines: string[] = [];
    const device = await resolveDevice('auto', (l) => lines.push(l), { enable: () => Promise.reject(new Error('WebGPU: no adapter was offered\nsecond line')) });
    assert.equal(device, 'cpu');
    assert.deepEqual(lines, ['device: WebGPU is not available, using the CPU (WebGPU: no adapter was offered)']);
  });

  it('fails for webgpu when WebGPU cannot be enabled, naming the reason', async () => {
    await assert.rejects(
      resolveDevice('webgpu', () => assert.fail('nothing is logged'), { enable: () => Promise.reject(new Error("WebGPU: the optional package 'webgpu' is not installed")) }),
      { message: "--device webgpu: WebGPU is not available: WebGPU: the optional package 'webgpu' is not installed" },
    );
  });

  it('uses a registered WebGPU backend for webgpu and auto without enabling another, and the CPU for cpu', async () => {
    registerBackend('webgpu', emulatedWebgpu());
    try {
      const enable = (): Promise<never> => assert.fail('not called');
      assert.equal(await resolveDevice('webgpu', () => undefined, { enable }), 'webgpu');
      assert.equal(await resolveDevice('auto', () => undefined, { enable }), 'webgpu');
      assert.equal(await resolveDevice('cpu', () => undefined, { enable }), 'cpu');
    } finally {
      unregisterBackend('webgpu');
    }
  });

  it('lists the CPU with its threads and instruction sets, and a WebGPU adapter with driver, limits and features', async () => {
    const r = await describeDevices(async () => ({ available: true, reason: null, adapter }));
    assert.ok(r.cpu.threads >= 1 && r.cpu.isas.includes(r.cpu.isa));
    const text = formatDevices(r).split('\n');
    assert.match(text[0], /^cpu {5}available: \d+ thread\(s\), instruction set \w+ \(supported: .+\)$/);
    assert.equal(text[1], 'webgpu  available: mesa llvmpipe (LLVM 19.1.7, 256 bits) (software rasteriser: correct but slow)');
    assert.equal(text[2], '        driver: Mesa 25.0.7');
    assert.equal(text[3], '        limits: maxBufferSize 2147483648, maxComputeInvocationsPerWorkgroup 256');
    assert.equal(text[4], '        features: shader-f16, subgroups');
  });

  it('lists WebGPU as unavailable with the reason the probe gave', async () => {
    const r = await describeDevices(async () => ({ available: false, reason: 'WebGPU: no Vulkan driver is installed', adapter: null }));
    assert.deepEqual(r.webgpu, { available: false, reason: 'WebGPU: no Vulkan driver is installed', adapter: null });
    assert.equal(formatDevices(r).split('\n')[1], 'webgpu  unavailable: WebGPU: no Vulkan driver is installed');
  });
});

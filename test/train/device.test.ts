import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { emulatedWebgpu, ensureSecondDevice } from '../helpers/device.js';
import { webgpuBackend, webgpuSkipReason } from '../helpers/webgpu.js';
import { runTraining, type TrainConfig } from '../../src/train/run.js';
import { Trainer, type BatchSource } from '../../src/train/trainer.js';
import { createModel } from '../../src/models/index.js';
import { nn, optim, tensor } from '../../src/index.js';
import { manualSeed, Generator } from '../../src/tensor/random.js';
import { crossEntropy } from '../../src/ops/loss.js';
import { NormMonitor } from '../../src/analysis/normMonitor.js';
import { availableDevices, backendOn, registerBackend, unregisterBackend, type Backend, type Device } from '../../src/backend/index.js';

const gpu = ensureSecondDevice();

/** `count` batches of 16 seeded 1×28×28 images with labels, the same on every call. */
function batches(count: number, seed: number): BatchSource {
  const g = new Generator(seed);
  const list = Array.from({ length: count }, () => ({
    x: tensor(Float32Array.from({ length: 16 * 28 * 28 }, () => g.normal()), [16, 1, 28, 28], { device: 'cpu' }),
    y: Int32Array.from({ length: 16 }, () => Math.floor(g.uniform() * 10)),
  }));
  let at = 0;
  return { numBatches: 1, numSamples: 16, epoch: () => [list[at++ % count]] };
}

async function twentySteps(device: Device): Promise<number[]> {
  manualSeed(7);
  const model = createModel('fbn-mnist', { norm: 'bn', numClasses: 10 }).to(device);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const trainer = new Trainer({ model, optimizer, train: batches(20, 11), test: batches(1, 12), epochs: 20, progress: 'none' });
  const r = await trainer.fitAsync();
  return r.history.flatMap((h) => [h.train_loss, h.test_loss!]);
}

const small: Partial<TrainConfig> = {
  dataset: 'mnist-bundled', network: 'fbn-mnist', norm: 'bn', batchSize: 64, optimizer: 'sgd', lr: 0.05, momentum: 0.9,
  trainLimit: 256, testLimit: 128, seed: 5,
};
const strip = (h: object[]): object[] => h.map((m) => {
  const { seconds: _s, samples_per_sec: _p, ...rest } = m as Record<string, unknown>;
  return rest;
});
const tmp = (): string => mkdtempSync(join(tmpdir(), 'normlab-device-'));

// The plumbing of an asynchronous device (reads at logging points, checkpoints, resume) is
// checked bit for bit on the emulated WebGPU, whose kernels are the CPU's; the real WebGPU, whose
// kernels round differently, is checked within float tolerance further down.
describe('training on a device without synchronous reads', () => {
  let real: Backend | null = null;
  before(() => {
    if (availableDevices().includes('webgpu')) real = backendOn('webgpu');
    unregisterBackend('webgpu');
    registerBackend('webgpu', emulatedWebgpu());
  });
  after(() => {
    unregisterBackend('webgpu');
    if (real !== null) registerBackend('webgpu', real);
  });

  it('gives the CPU losses within 1e-5 over 20 steps of the seed 000 network on the emulated WebGPU device', async () => {
    const cpu = await twentySteps('cpu');
    const other = await twentySteps(gpu);
    assert.equal(other.length, 40);
    for (let i = 0; i < cpu.length; i++) assert.ok(Math.abs(cpu[i] - other[i]) <= 1e-5, `value ${i}: cpu ${cpu[i]}, ${gpu} ${other[i]}`);
  });

  it('refuses fit() for a model off the CPU, naming fitAsync', () => {
    const model = new nn.Linear(4, 3).to(gpu);
    const trainer = new Trainer({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), train: batches(1, 1), epochs: 1, progress: 'none' });
    assert.throws(() => trainer.fit(), /Trainer\.fit: the model is on device 'webgpu'.*fitAsync/);
  });

  it('stops at the end of the epoch naming the first batch whose loss is not finite', async () => {
    const model = new nn.Linear(4, 3).to(gpu);
    let calls = 0;
    const x = tensor(new Float32Array(8).fill(1), [2, 4], { device: 'cpu' });
    const source: BatchSource = { numBatches: 4, numSamples: 8, epoch: () => Array.from({ length: 4 }, () => ({ x, y: Int32Array.from([0, 1]) })) };
    const lossFn = (logits: ReturnType<typeof model.call>, y: Int32Array): ReturnType<typeof model.call> => (++calls === 2 ? crossEntropy(logits, y).mul(NaN) : crossEntropy(logits, y));
    const trainer = new Trainer({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), train: source, epochs: 1, progress: 'none', lossFn });
    await assert.rejects(trainer.fitAsync(), /loss is NaN at epoch 1, batch 2/);
    assert.equal(calls, 4, 'off the CPU the check happens at the logging point, after the epoch\'s steps');
  });

  it('writes checkpoints byte for byte as the CPU run does, and records the device in config.json', async () => {
    const a = tmp();
    const b = tmp();
    const onCpu = await runTraining({ ...small, epochs: 1 }, { outDir: a, progress: 'none' });
    const onGpu = await runTraining({ ...small, epochs: 1 }, { outDir: b, device: gpu, progress: 'none' });
    assert.equal(onGpu.model.device, gpu);
    assert.deepEqual(strip(onGpu.result.history), strip(onCpu.result.history));
    for (const f of ['last.safetensors', 'best.safetensors', 'checkpoints/epoch-0001/optimizer.safetensors']) {
      assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f);
    }
    assert.equal(JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')).device, gpu);
    assert.equal(JSON.parse(readFileSync(join(a, 'config.json'), 'utf8')).device, 'cpu');
  });

  for (const [first, second] of [['webgpu', 'cpu'], ['cpu', 'webgpu']] as const) {
    it(`resumes on ${second} a run checkpointed on ${first}, ending as an uninterrupted CPU run`, async () => {
      const full = await runTraining({ ...small, epochs: 2 }, { outDir: tmp(), progress: 'none' });
      const dir = tmp();
      await runTraining({ ...small, epochs: 1 }, { outDir: dir, device: first, progress: 'none' });
      const resumed = await runTraining({ ...small, epochs: 2 }, { outDir: dir, device: second, resume: true, progress: 'none' });
      assert.equal(resumed.model.device, second);
      assert.deepEqual(strip(resumed.result.history), strip(full.result.history));
    });
  }

  it('records the norm monitor\'s drift and gamma quantiles on the emulated WebGPU device as on the CPU', async () => {
    const summaries = [];
    for (const device of ['cpu', gpu] as const) {
      manualSeed(3);
      const model = createModel('fbn-mnist', { norm: 'fbn', numClasses: 10 }).to(device);
      const mon = new NormMonitor(model);
      const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
      const src = batches(3, 4);
      model.train();
      for (let i = 0; i < 3; i++) {
        const b = [...src.epoch()][0];
        opt.zeroGrad();
        crossEntropy(model.call(b.x.to(device)), b.y).backward();
        opt.step();
      }
      mon.recordAffine(1);
      if (device !== 'cpu') assert.throws(() => mon.summary(), /pending.*flush/);
      await mon.flush();
      summaries.push(mon.summary());
    }
    const [c, g] = summaries;
    assert.equal(g.steps, 3);
    assert.deepEqual(Object.keys(g.drift), Object.keys(c.drift));
    for (const [name, pts] of Object.entries(c.drift)) {
      assert.equal(g.drift[name].length, 3, name);
      pts.forEach((p, i) => {
        assert.equal(g.drift[name][i].step, p.step);
        assert.ok(Math.abs(g.drift[name][i].meanShift - p.meanShift) <= 1e-4 * Math.max(1, p.meanShift), `${name} meanShift at ${p.step}`);
        assert.ok(Math.abs(g.drift[name][i].varLogRatio - p.varLogRatio) <= 1e-4 * Math.max(1, p.varLogRatio), `${name} varLogRatio at ${p.step}`);
      });
    }
    assert.deepEqual(g.keptFraction, c.keptFraction);
    assert.deepEqual(g.affine, c.affine);
  });
});

describe('training on the real WebGPU', { skip: webgpuSkipReason }, () => {
  before(() => {
    const be = webgpuBackend();
    if (be !== null && backendOn('webgpu') !== be) {
      unregisterBackend('webgpu');
      registerBackend('webgpu', be);
    }
  });

  it('follows the CPU losses of 20 steps of the seed 000 network within float tolerance', async () => {
    const cpu = await twentySteps('cpu');
    const other = await twentySteps('webgpu');
    assert.equal(other.length, 40);
    // Kernels that sum in another order and a GPU's fused multiply-adds move the last bits of
    // every step; over 20 SGD steps with momentum that grows to about 1e-5 relative here.
    for (let i = 0; i < cpu.length; i++) assert.ok(Math.abs(cpu[i] - other[i]) <= 1e-4 * Math.max(1, Math.abs(cpu[i])), `value ${i}: cpu ${cpu[i]}, webgpu ${other[i]}`);
  });

  it('resumes on the CPU a run checkpointed on WebGPU, close to the uninterrupted CPU run', async () => {
    const full = await runTraining({ ...small, epochs: 2 }, { outDir: tmp(), progress: 'none' });
    const dir = tmp();
    await runTraining({ ...small, epochs: 1 }, { outDir: dir, device: 'webgpu', progress: 'none' });
    const resumed = await runTraining({ ...small, epochs: 2 }, { outDir: dir, device: 'cpu', resume: true, progress: 'none' });
    assert.equal(resumed.model.device, 'cpu');
    const a = strip(resumed.result.history) as Record<string, number>[];
    const b = strip(full.result.history) as Record<string, number>[];
    assert.equal(a.length, b.length);
    for (let e = 0; e < a.length; e++) {
      for (const k of ['train_loss', 'test_loss']) assert.ok(Math.abs(a[e][k] - b[e][k]) <= 1e-3 * Math.max(1, Math.abs(b[e][k])), `epoch ${e + 1} ${k}: ${a[e][k]} vs ${b[e][k]}`);
    }
  });
});

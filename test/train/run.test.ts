import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DEFAULT_CONFIG, runTraining, trainParamGroups, type TrainConfig } from '../../src/train/run.js';
import { createModel } from '../../src/models/index.js';
import { loadSafetensors } from '../../src/train/safetensors.js';
import { Trainer } from '../../src/train/trainer.js';
import { nn, optim, tensor } from '../../src/index.js';
import { Generator } from '../../src/tensor/random.js';
import { shuffleInPlace } from '../../src/data/split.js';
import { md5Seed } from '../../src/train/seeds.js';

const small: Partial<TrainConfig> = {
  dataset: 'mnist-bundled', network: 'fbn-mnist', norm: 'bn', batchSize: 64, optimizer: 'sgd', lr: 0.05, momentum: 0.9,
  trainLimit: 1500, testLimit: 500, seed: 3,
};

const strip = (h: Record<string, unknown>[]): Record<string, unknown>[] => h.map(({ seconds: _s, samples_per_sec: _p, ...rest }) => rest);

describe('training runs', () => {
  it('ends a resumed run with exactly the metrics of an uninterrupted run', async () => {
    const a = mkdtempSync(join(tmpdir(), 'normlab-run-'));
    const b = mkdtempSync(join(tmpdir(), 'normlab-run-'));
    const full = await runTraining({ ...small, epochs: 3 }, { outDir: a, progress: 'none' });
    await runTraining({ ...small, epochs: 2 }, { outDir: b, progress: 'none' });
    const resumed = await runTraining({ ...small, epochs: 3 }, { outDir: b, resume: true, progress: 'none' });
    assert.deepEqual(strip(resumed.result.history as unknown as Record<string, unknown>[]), strip(full.result.history as unknown as Record<string, unknown>[]));
    const wa = loadSafetensors(join(a, 'last.safetensors')).tensors;
    const wb = loadSafetensors(join(b, 'last.safetensors')).tensors;
    for (const k of Object.keys(wa)) assert.deepEqual([...wb[k].buffer], [...wa[k].buffer], k);
  });

  it('writes config, metrics, results and both checkpoints with PyTorch state-dict names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-run-'));
    await runTraining({ ...small, epochs: 1 }, { outDir: dir, progress: 'none' });
    for (const f of ['config.json', 'metrics.jsonl', 'results.json', 'best.safetensors', 'last.safetensors']) assert.ok(existsSync(join(dir, f)), f);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    const keys = Object.keys(loadSafetensors(join(dir, 'best.safetensors')).tensors);
    assert.ok(keys.includes('bn.running_mean') && keys.includes('bn.num_batches_tracked') && keys.includes('conv1.weight'), keys.join(','));
  });

  it('gives the same numbers for the same seed', async () => {
    const one = await runTraining({ ...small, epochs: 1, trainLimit: 600, testLimit: 200 }, { progress: 'none' });
    const two = await runTraining({ ...small, epochs: 1, trainLimit: 600, testLimit: 200 }, { progress: 'none' });
    assert.deepEqual(strip([one.result.final as unknown as Record<string, unknown>]), strip([two.result.final as unknown as Record<string, unknown>]));
  });

  it('reports the initial model and each epoch\'s sample order, also across a resume', async () => {
    const cfg = { ...small, trainLimit: 600, testLimit: 100, batchSize: 128 };
    const record = (orders: Map<number, number[]>) => (epoch: number, indices: Int32Array): void => {
      orders.set(epoch, [...(orders.get(epoch) ?? []), ...indices]);
    };
    const orders = new Map<number, number[]>();
    const sizes: number[] = [];
    let init: Record<string, number[]> = {};
    const full = await runTraining({ ...cfg, epochs: 3 }, {
      progress: 'none',
      onStart: (m) => { init = Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, [...t.buffer]])); },
      onTrainBatch: (e, idx) => { if (e === 1) sizes.push(idx.length); record(orders)(e, idx); },
    });
    // 600 samples in batches of 128: four full batches and a partial one (no drop-last, as PyTorch's default).
    assert.deepEqual(sizes, [128, 128, 128, 128, 88]);
    assert.deepEqual([...orders.keys()], [1, 2, 3]);
    const identity = Array.from({ length: 600 }, (_, i) => i);
    for (const o of orders.values()) assert.deepEqual([...o].sort((a, b) => a - b), identity);
    assert.notDeepEqual(orders.get(1), orders.get(2), 'a new shuffle each epoch');
    // onStart ran before the first step: the trained weights differ from what it saw.
    const fc1 = full.model.stateDict()['fc1.weight'].buffer;
    assert.notDeepEqual([...fc1], init['fc1.weight']);
    // A fresh run with the same seed starts from the same weights, and a resumed run reports the
    // epochs it trains under their own numbers, in the uninterrupted run's order.
    const dir = mkdtempSync(join(tmpdir(), 'normlab-run-'));
    let init2: number[] = [];
    await runTraining({ ...cfg, epochs: 2 }, { outDir: dir, progress: 'none', onStart: (m) => { init2 = [...m.stateDict()['fc1.weight'].buffer]; } });
    assert.deepEqual(init2, init['fc1.weight']);
    const resumed = new Map<number, number[]>();
    await runTraining({ ...cfg, epochs: 3 }, { outDir: dir, resume: true, progress: 'none', onTrainBatch: record(resumed) });
    assert.deepEqual([...resumed.keys()], [3]);
    assert.deepEqual(resumed.get(3), orders.get(3));
  });

  it('shuffles from a stream of its own, not the one the weight init draws from', async () => {
    // The init draws from manualSeed(md5Seed(seed)); a loader seeded with the same number used to
    // replay those draws, making epoch 1's order a function of the first conv weights.
    const cfg = { ...small, trainLimit: 600, testLimit: 100, epochs: 1 };
    const order: number[] = [];
    const run = await runTraining(cfg, { progress: 'none', onTrainBatch: (_e, idx) => { order.push(...idx); } });
    const sameStream = Array.from({ length: 600 }, (_, i) => i);
    shuffleInPlace(sameStream, new Generator(md5Seed(cfg.seed!)));
    assert.notDeepEqual(order, sameStream);
    assert.equal(run.data.train.n, 600);
  });

  it('stops with a message naming the epoch and batch when the loss is not finite', () => {
    const model = new nn.Linear(4, 3);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const x = tensor(new Float32Array(8).fill(1), [2, 4]);
    let calls = 0;
    const source = {
      numBatches: 3, numSamples: 6,
      *epoch() {
        for (let b = 0; b < 3; b++) {
          // The third batch carries a NaN, as a corrupt input would.
          if (++calls === 3) x.buffer[0] = NaN;
          yield { x, y: Int32Array.from([0, 1]) };
        }
      },
    };
    const trainer = new Trainer({ model, optimizer: opt, train: source, epochs: 1, progress: 'none' });
    assert.throws(() => trainer.fit(), /loss is NaN at epoch 1, batch 3/);
  });

  it('takes stepsPerEpoch batches per epoch from a source that loops over the data, reshuffling each pass', async () => {
    // 160 samples in batches of 40: 4 batches a pass; 6 steps an epoch, as Keras' fit_generator(steps_per_epoch=6).
    const cfg = { ...small, trainLimit: 160, testLimit: 40, batchSize: 40, stepsPerEpoch: 6 };
    const passes: number[] = [];
    const byPass = new Map<number, number[]>();
    const run = await runTraining({ ...cfg, epochs: 2 }, {
      progress: 'none',
      onTrainBatch: (pass, idx) => { passes.push(pass); byPass.set(pass, [...(byPass.get(pass) ?? []), ...idx]); },
    });
    assert.deepEqual(passes, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    const identity = Array.from({ length: 160 }, (_, i) => i);
    for (const p of [1, 2]) assert.deepEqual([...byPass.get(p)!].sort((a, b) => a - b), identity, `pass ${p} covers the data once`);
    assert.notDeepEqual(byPass.get(1), byPass.get(2), 'a new shuffle each pass');
    assert.equal(run.result.history.length, 2);
  });

  it('resumes inside a pass when stepsPerEpoch ends epochs there, with the metrics and batches of an uninterrupted run', async () => {
    const cfg = { ...small, trainLimit: 160, testLimit: 40, batchSize: 40, stepsPerEpoch: 6 };
    const a = mkdtempSync(join(tmpdir(), 'normlab-run-'));
    const b = mkdtempSync(join(tmpdir(), 'normlab-run-'));
    const fullOrder: number[][] = [];
    const full = await runTraining({ ...cfg, epochs: 3 }, { outDir: a, progress: 'none', onTrainBatch: (_p, idx) => { fullOrder.push([...idx]); } });
    await runTraining({ ...cfg, epochs: 2 }, { outDir: b, progress: 'none' });
    const resumedOrder: number[][] = [];
    const resumed = await runTraining({ ...cfg, epochs: 3 }, { outDir: b, resume: true, progress: 'none', onTrainBatch: (_p, idx) => { resumedOrder.push([...idx]); } });
    // Two epochs of 6 steps are 12 batches, 3 whole passes: epoch 3 starts a new pass.
    assert.deepEqual(resumedOrder, fullOrder.slice(12));
    assert.deepEqual(strip(resumed.result.history as unknown as Record<string, unknown>[]), strip(full.result.history as unknown as Record<string, unknown>[]));
    const c = mkdtempSync(join(tmpdir(), 'normlab-run-'));
    await runTraining({ ...cfg, epochs: 1 }, { outDir: c, progress: 'none' });
    const fromMidPass: number[][] = [];
    const resumed2 = await runTraining({ ...cfg, epochs: 3 }, { outDir: c, resume: true, progress: 'none', onTrainBatch: (_p, idx) => { fromMidPass.push([...idx]); } });
    // After epoch 1 (6 steps) the run stands at batch 3 of pass 2.
    assert.deepEqual(fromMidPass, fullOrder.slice(6));
    const wa = loadSafetensors(join(a, 'last.safetensors')).tensors;
    const wc = loadSafetensors(join(c, 'last.safetensors')).tensors;
    for (const k of Object.keys(wa)) assert.deepEqual([...wc[k].buffer], [...wa[k].buffer], k);
    assert.deepEqual(strip(resumed2.result.history as unknown as Record<string, unknown>[]), strip(full.result.history as unknown as Record<string, unknown>[]));
  });

  it('rejects a stepsPerEpoch that is not a positive integer', () => {
    const model = new nn.Linear(4, 3);
    const source = { numBatches: 1, numSamples: 2, *epoch() { yield { x: tensor(new Float32Array(8), [2, 4]), y: Int32Array.from([0, 1]) }; } };
    assert.throws(
      () => new Trainer({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), train: source, epochs: 1, stepsPerEpoch: 0, progress: 'none' }),
      /Trainer: stepsPerEpoch must be an integer >= 1 \(or unset for one pass per epoch\), got 0/,
    );
  });

  it('stops with a message when a looping source has no batch', () => {
    const model = new nn.Linear(4, 3);
    const source = { numBatches: 0, numSamples: 0, *epoch() { /* an empty pass */ } };
    const trainer = new Trainer({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), train: source, epochs: 1, stepsPerEpoch: 3, progress: 'none' });
    assert.throws(() => trainer.fit(), /Trainer: the training source gave no batch in a whole pass/);
  });

  it("uses one group with the weight decay on every parameter unless seed 001's method is on", () => {
    const model = createModel('lenet5');
    const off = trainParamGroups({ ...DEFAULT_CONFIG, lr: 0.1, weightDecay: 5e-4 }, model);
    assert.deepEqual(off.map((g) => [g.name, g.params.length, g.lr, g.weightDecay]), [['all', 18, 0.1, 5e-4]]);
    // bnWeight alone turns the groups on with c = 1; c alone turns them on with lr / c.
    const init = trainParamGroups({ ...DEFAULT_CONFIG, lr: 0.1, weightDecay: 5e-4, bnWeight: 0.1 }, model);
    assert.deepEqual(init.map((g) => [g.name, g.params.length, g.lr, g.weightDecay]), [['decay', 5, 0.1, 5e-4], ['no_decay', 9, 0.1, 0], ['bn_weight', 4, 0.1, 0]]);
    const lrc = trainParamGroups({ ...DEFAULT_CONFIG, lr: 0.1, weightDecay: 5e-4, c: 100 }, model);
    assert.deepEqual(lrc.map((g) => [g.name, g.lr]), [['decay', 0.1], ['no_decay', 0.1], ['bn_weight', 0.001]]);
  });

  it('records the parameter groups in config.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-run-'));
    await runTraining({ ...small, epochs: 1, trainLimit: 128, testLimit: 64, bnWeight: 0.5, c: 10, weightDecay: 1e-4 }, { outDir: dir, progress: 'none' });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { paramGroups: string[] };
    // fbn-mnist: conv1, conv2, fc1, fc2 weights; their 4 biases and BN β; BN γ (50 values).
    assert.deepEqual(cfg.paramGroups, [
      'param group decay: 4 tensors, 21750 values, lr 0.05, weight decay 0.0001',
      'param group no_decay: 5 tensors, 140 values, lr 0.05, weight decay 0',
      'param group bn_weight: 1 tensors, 50 values, lr 0.005, weight decay 0',
    ]);
  });
});

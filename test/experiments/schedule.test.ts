import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expand, type RunSpec } from '../../src/experiments/experiment.js';
import { getExperiment } from '../../src/experiments/registry.js';
import { resolveConfig } from '../../src/experiments/runExperiment.js';
import { COST_DEFAULTS, expectedCost, longestFirst } from '../../src/experiments/schedule.js';
import { DEFAULT_CONFIG } from '../../src/train/run.js';

type Train = RunSpec['train'];
const spec = (train: Train, group = 'g'): Pick<RunSpec, 'train' | 'group'> => ({ group, train });

/** Makespan of runs with the given durations handed out in order to `workers` idle workers. */
function makespan(durations: number[], workers: number): number {
  const free = new Array<number>(workers).fill(0);
  for (const d of durations) {
    const w = free.indexOf(Math.min(...free));
    free[w] += d;
  }
  return Math.max(...free);
}

describe('longest-first scheduling of runs', () => {
  it('estimates more work for a smaller batch, more epochs and more samples', () => {
    const base: Train = { dataset: 'mnist-bundled', trainLimit: 600, testLimit: 300, epochs: 6, batchSize: 64 };
    const c = expectedCost(spec(base));
    assert.ok(expectedCost(spec({ ...base, batchSize: 32 })) > c, 'batch 32 has twice the steps of batch 64');
    assert.ok(expectedCost(spec({ ...base, epochs: 7 })) > c);
    assert.ok(expectedCost(spec({ ...base, trainLimit: 1200 })) > c);
    assert.ok(expectedCost(spec({ ...base, trainLimit: 0 })) > c, 'no limit: all 8,000 bundled training images');
    assert.equal(expectedCost(spec({ ...base, epochs: 12 })), 2 * c);
    // A limit above the dataset's size is the whole dataset.
    assert.equal(expectedCost(spec({ ...base, trainLimit: 8000 })), expectedCost(spec({ ...base, trainLimit: 10 ** 6 })));
    // The validation part is evaluated, not trained on: less work than training on it.
    assert.ok(expectedCost(spec({ ...base, valSplit: 100 })) < c);
  });

  it('counts stepsPerEpoch steps of a batch each, whatever the set size', () => {
    const base: Train = { dataset: 'cifar100', testLimit: 1000, epochs: 2, batchSize: 80 };
    // 2 epochs × (2,000 steps × 80 samples + 2,000 steps × 8 + 1,000 test samples / 3).
    assert.equal(expectedCost(spec({ ...base, stepsPerEpoch: 2000 })), 2 * (160000 + 16000 + 1000 / 3));
    assert.equal(expectedCost(spec({ ...base, stepsPerEpoch: 2000, trainLimit: 800 })), expectedCost(spec({ ...base, stepsPerEpoch: 2000 })));
  });

  it('reads the same defaults as the training configuration', () => {
    for (const [k, v] of Object.entries(COST_DEFAULTS)) assert.equal(v, DEFAULT_CONFIG[k as keyof typeof DEFAULT_CONFIG], `default ${k}`);
  });

  it('orders the benchmark sweep batch 32 before batch 64 and keeps the given order among equals', () => {
    const specs = expand(getExperiment('fbn-batch-sweep'), resolveConfig('fbn-batch-sweep', { mode: 'quick', sets: ['batchSizes=64,32', 'thresholds=2,4,5', 'epochs=6'] }));
    assert.deepEqual(specs.map((s) => s.group).slice(0, 2), ['bs=64 BN', 'bs=64 FBN T=2']);
    const ordered = longestFirst(specs);
    assert.deepEqual(ordered.map((s) => s.group), [
      'bs=32 BN', 'bs=32 FBN T=2', 'bs=32 FBN T=4', 'bs=32 FBN T=5', 'bs=64 BN', 'bs=64 FBN T=2', 'bs=64 FBN T=4', 'bs=64 FBN T=5',
    ]);
    assert.equal(specs[0].group, 'bs=64 BN', 'the input is left as it was');
  });

  it('shortens the makespan on two workers when a long run comes last', () => {
    // Four 1-epoch runs, then one of 3 epochs: in the given order the long run starts last and
    // ends alone; longest first, the short ones fill the other worker meanwhile.
    const specs = [1, 1, 1, 1, 3].map((epochs, i) => spec({ dataset: 'mnist-bundled', trainLimit: 600, testLimit: 300, batchSize: 64, epochs }, `r${i}`));
    const given = makespan(specs.map(expectedCost), 2);
    const lpt = makespan(longestFirst(specs).map(expectedCost), 2);
    assert.ok(lpt < given, `longest first ${lpt} vs given order ${given}`);
    assert.equal(lpt, expectedCost(specs[0]) * 4);
    assert.deepEqual(longestFirst(specs).map((s) => s.group), ['r4', 'r0', 'r1', 'r2', 'r3']);
  });
});

import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { EXPERIMENTS, getExperiment } from '../../src/experiments/registry.js';
import { runExperiment, resolveConfig, type ExperimentOutput } from '../../src/experiments/runExperiment.js';
import { applyOverrides, expand } from '../../src/experiments/experiment.js';
import { setNumThreads, getNumThreads, type nn } from '../../src/index.js';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../helpers/fixtures.js';

/** The normalization instruments' charts and table (src/experiments/instruments.ts). */
const INSTRUMENTS = [/Running-statistics drift/, /γ per epoch/, /β per epoch/, /running vs batch statistics/, /Precise BN: test accuracy/];

/** What each experiment's report must show: charts (SVG), tables, images. */
const expected: Record<string, { charts: number; tables: number; images?: boolean; text: RegExp[] }> = {
  'fbn-mnist': { charts: 7, tables: 3, text: [/Significance: one-sided paired t-test/, /FBN T=4 &gt; BN/, ...INSTRUMENTS, /Filtered BN: fraction of values kept/] },
  'fbn-batch-sweep': { charts: 2, tables: 2, text: [/FBN − BN test accuracy/] },
  'fbn-lenet5': { charts: 7, tables: 3, text: [/LeNet-5/, ...INSTRUMENTS] },
  'activation-stats': { charts: 2, tables: 2, images: true, text: [/excess kurtosis/, /vgg11/, /resnet18/] },
  'batch-stats': { charts: 4, tables: 2, text: [/BN mean err/, /FBN T=2 var err/] },
  landscape: { charts: 6, tables: 1, text: [/gradient-norm landscape/] },
  'fbn-alexnet': { charts: 2, tables: 2, text: [/γ and β were never trained/] },
  'bn-init': { charts: 6, tables: 4, text: [...INSTRUMENTS, /in the form of the seed&#39;s README|in the form of the seed's README/, /γ=0.1, c=100, BN input norm/] },
  'mnist-norms': { charts: 3, tables: 1, images: true, text: [/Misclassified test digits: GroupNorm\(2\)/] },
  'bn-intuition': { charts: 4, tables: 1, text: [/sigmoid \+ BN/, /relu without BN/] },
};

describe('every experiment in quick mode', () => {
  const out = mkdtempSync(join(tmpdir(), 'normlab-exp-'));
  const results = new Map<string, ExperimentOutput>();
  const threads = getNumThreads();
  before(() => setNumThreads(threads));

  it('lists ten experiments, each with a seed document and a description', () => {
    assert.equal(EXPERIMENTS.length, 10);
    assert.deepEqual(Object.keys(expected).sort(), EXPERIMENTS.map((e) => e.name).sort());
    for (const e of EXPERIMENTS) assert.match(e.seedDoc, /^00[0-3]$/);
  });

  it('names for each experiment the seed file whose method it reproduces, in run --list too', () => {
    const files: Record<string, RegExp> = {
      'fbn-mnist': /^MNIST\/mnist_train\.py$/, 'fbn-lenet5': /^MNIST\/mnist_lenet5_test\.py$/, 'fbn-batch-sweep': /^MNIST\/mnist_batchsize\.py$/,
      'activation-stats': /plot_activation_distributions_resnet\.py.*plot_outlier_images\.py/, 'batch-stats': /^CIFAR\/alexnet_small_large_compare\.py$/,
      landscape: /^MNIST\/mnist_loss_test\.py/, 'fbn-alexnet': /^CIFAR\/alexnet_batchnorm_double\.py$/, 'bn-init': /^train\.py/,
      'mnist-norms': /^README/, 'bn-intuition': /notebook/,
    };
    for (const e of EXPERIMENTS) assert.match(e.seedFile, files[e.name], e.name);
    const list = spawnSync(process.execPath, [join(repoRoot, 'bin', 'normlab.js'), 'run', '--list'], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^fbn-batch-sweep +seed 000: MNIST\/mnist_batchsize\.py$/m);
    assert.match(list.stdout, /^bn-init +seed 001: train\.py/m);
  });

  it("runs seed 001's full study with seeds 1 to 15 in each of its three settings", () => {
    const specs = expand(getExperiment('bn-init'), resolveConfig('bn-init', { mode: 'full' }));
    const seeds = (g: string): number[] => specs.filter((s) => s.group === g).map((s) => s.seed);
    const oneToFifteen = Array.from({ length: 15 }, (_, i) => i + 1);
    for (const g of ['baseline', 'γ=0.1, c=100', 'γ=0.1, c=100, BN input norm']) assert.deepEqual(seeds(g), oneToFifteen, g);
    assert.equal(specs.length, 45);
    // Seed 0 only draws the validation split (train/run.ts splits with md5Seed(0)).
    assert.ok(specs.every((s) => s.train.valSplit === 5000));
    // Baseline and method share seed 001's parameter groups; they differ in γ's init and lr / c.
    const first = (g: string): Record<string, unknown> => specs.find((s) => s.group === g)!.train as Record<string, unknown>;
    assert.deepEqual([first('baseline').bnWeight, first('baseline').c], [1, 1]);
    assert.deepEqual([first('γ=0.1, c=100').bnWeight, first('γ=0.1, c=100').c], [0.1, 100]);
  });

  it("builds seed 000's FBN with the seed's pooled 1-D layer, running statistics in eval unless set to batch", () => {
    for (const name of ['fbn-mnist', 'fbn-lenet5', 'fbn-batch-sweep', 'landscape']) {
      const fbn = expand(getExperiment(name), resolveConfig(name, { mode: 'full' })).filter((s) => typeof s.train.norm === 'object');
      assert.ok(fbn.length > 0, name);
      for (const s of fbn) assert.deepEqual([(s.train.norm as nn.NormSpecOf<'fbn'>).pooled1d, (s.train.norm as nn.NormSpecOf<'fbn'>).evalMode], [true, 'running'], name);
    }
    const batch = expand(getExperiment('fbn-mnist'), resolveConfig('fbn-mnist', { mode: 'full', sets: ['fbnEvalMode=batch', 'fbnPooled1d=false'] }));
    assert.deepEqual(batch.filter((s) => s.group !== 'BN').map((s) => s.train.norm)[0], { kind: 'fbn', threshold: 4, pooled1d: false, evalMode: 'batch' });
    assert.throws(() => expand(getExperiment('fbn-mnist'), resolveConfig('fbn-mnist', { mode: 'full', sets: ['fbnEvalMode=train'] })), /fbn-mnist: setting 'fbnEvalMode' must be 'running' or 'batch', got 'train'/);
    assert.throws(() => expand(getExperiment('fbn-mnist'), resolveConfig('fbn-mnist', { mode: 'full', sets: ['threshold=0'] })), /fbn-mnist: option 'threshold' of norm kind 'fbn': expected a number > 0, got 0/);
    assert.throws(() => expand(getExperiment('fbn-alexnet'), resolveConfig('fbn-alexnet', { mode: 'full', sets: ['threshold=-1'] })), /fbn-alexnet: option 'threshold' of norm kind 'fbn': expected a number > 0, got -1/);
  });

  it("takes seed 003's schedule: 20 epochs of 2,000 steps at batch 80", () => {
    const specs = expand(getExperiment('bn-intuition'), resolveConfig('bn-intuition', { mode: 'full' }));
    for (const s of specs) assert.deepEqual([s.train.epochs, s.train.stepsPerEpoch, s.train.batchSize, s.train.augment], [20, 2000, 80, 'keras']);
  });

  for (const name of Object.keys(expected)) {
    it(`runs ${name} and writes a report with its charts and tables`, async () => {
      const r = await runExperiment(name, { mode: 'quick', out });
      results.set(name, r);
      const html = readFileSync(r.report, 'utf8');
      const e = expected[name];
      const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
      assert.equal(svgs.length, e.charts, `${name}: charts`);
      for (const svg of svgs) assert.match(svg, /<(path|rect|line)\b/, `${name}: a chart without marks`);
      assert.equal((html.match(/<table>/g) ?? []).length, e.tables, `${name}: tables`);
      if (e.images) assert.match(html, /<img src="data:image\/png;base64,/, `${name}: images`);
      for (const t of e.text) assert.match(html, t, `${name}: ${t}`);
      assert.doesNotMatch(html, /(src|href)="https?:/, `${name}: external reference`);
      assert.ok(existsSync(join(r.dir, 'experiment.json')) && existsSync(join(r.dir, 'results.json')));
    });
  }

  it('re-uses finished runs with resume and gives the same numbers', async () => {
    const first = results.get('fbn-mnist') ?? (await runExperiment('fbn-mnist', { mode: 'quick', out }));
    const recordFile = join(first.dir, 'runs', readdirSync(join(first.dir, 'runs')).sort()[0], 'record.json');
    const before = statSync(recordFile).mtimeMs;
    const again = await runExperiment('fbn-mnist', { mode: 'quick', out, resume: true });
    assert.equal(statSync(recordFile).mtimeMs, before);
    assert.deepEqual(again.records.map((r) => r.results.final.test_acc), first.records.map((r) => r.results.final.test_acc));
  });

  it('reproduces the same numbers when re-run from scratch with the same config and seeds', async () => {
    const other = mkdtempSync(join(tmpdir(), 'normlab-exp-'));
    const a = results.get('fbn-batch-sweep') ?? (await runExperiment('fbn-batch-sweep', { mode: 'quick', out }));
    const b = await runExperiment('fbn-batch-sweep', { mode: 'quick', out: other });
    const strip = (h: Record<string, number>[]) => h.map(({ seconds: _s, samples_per_sec: _p, ...rest }) => rest);
    assert.deepEqual(b.records.map((r) => strip(r.results.history)), a.records.map((r) => strip(r.results.history)));
  });
});

describe('experiment configuration', () => {
  it('coerces --set values to the type of the default and rejects unknown keys', () => {
    const exp = getExperiment('fbn-batch-sweep');
    const c = applyOverrides('fbn-batch-sweep', exp.quick, ['epochs=2', 'batchSizes=32,8', 'dataset=fashion-mnist']);
    assert.equal(c.epochs, 2);
    assert.deepEqual(c.batchSizes, [32, 8]);
    assert.equal(c.dataset, 'fashion-mnist');
    assert.throws(() => applyOverrides('fbn-batch-sweep', exp.quick, ['epochz=2']), /unknown setting 'epochz'; allowed settings: dataset/);
    assert.throws(() => applyOverrides('fbn-batch-sweep', exp.quick, ['epochs=many']), /'epochs' must be a number, got 'many'/);
  });

  it('expands --seeds into one run per seed and setting with stable content-hash ids', () => {
    const c = resolveConfig('fbn-mnist', { mode: 'full', seeds: 3 });
    const specs = expand(getExperiment('fbn-mnist'), c);
    assert.equal(specs.length, 6);
    assert.equal(new Set(specs.map((s) => s.id)).size, 6);
    assert.deepEqual(expand(getExperiment('fbn-mnist'), c).map((s) => s.id), specs.map((s) => s.id));
  });

  it('names the dataset and the --data-dir option when full-mode data is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'normlab-nodata-'));
    await assert.rejects(runExperiment('bn-init', { mode: 'full', out: empty, dataDir: empty }), /cifar|CIFAR/);
    await assert.rejects(runExperiment('bn-init', { mode: 'full', out: empty, dataDir: empty }), /--data-dir/);
  });
});

import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { EXPERIMENTS, getExperiment } from '../../src/experiments/registry.js';
import { runExperiment, resolveConfig, type ExperimentOutput } from '../../src/experiments/runExperiment.js';
import { applyOverrides, expand } from '../../src/experiments/experiment.js';
import { setNumThreads, getNumThreads } from '../../src/index.js';

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
    assert.throws(() => applyOverrides('fbn-batch-sweep', exp.quick, ['epochz=2']), /unknown setting 'epochz'; known settings: dataset/);
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

import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { DATASET_CACHE_ENTRIES, clearDatasetCache, datasetCacheStats, loadDatasetCached } from '../../src/data/cache.js';
import { bundledMnistCacheFile, decodeDigitsFile, readBundledMnist } from '../../src/data/bundled.js';
import { runTraining } from '../../src/train/run.js';
import { executeRun } from '../../src/experiments/execute.js';
import { expand } from '../../src/experiments/experiment.js';
import { getExperiment } from '../../src/experiments/registry.js';
import { resolveConfig } from '../../src/experiments/runExperiment.js';

describe('dataset cache of a process that trains many runs', () => {
  beforeEach(() => clearDatasetCache());

  it('reuses a loaded split for the same dataset and options, and loads another split or option separately', async () => {
    const a = await loadDatasetCached('mnist-bundled', { split: 'train' });
    const b = await loadDatasetCached('mnist-bundled', { split: 'train' });
    assert.equal(a, b);
    const test = await loadDatasetCached('mnist-bundled', { split: 'test' });
    assert.notEqual(test, a);
    assert.equal(test.n, 2000);
    await loadDatasetCached('mnist-bundled', { split: 'train', imageSize: 16 });
    assert.deepEqual(datasetCacheStats(), { loaded: 3, reused: 1, held: 3 });
  });

  it('keeps no failed load, so the next call tries again', async () => {
    await assert.rejects(loadDatasetCached('folder', {}), /needs --data-dir/);
    await assert.rejects(loadDatasetCached('folder', {}), /needs --data-dir/);
    assert.deepEqual(datasetCacheStats(), { loaded: 2, reused: 0, held: 0 });
  });

  it(`holds at most ${DATASET_CACHE_ENTRIES} splits, dropping the least recently used`, async () => {
    const first = await loadDatasetCached('mnist-bundled', { split: 'train', imageSize: 1 });
    for (let i = 2; i <= DATASET_CACHE_ENTRIES; i++) await loadDatasetCached('mnist-bundled', { split: 'train', imageSize: i });
    assert.equal(await loadDatasetCached('mnist-bundled', { split: 'train', imageSize: 1 }), first, 'used again: now the most recent');
    await loadDatasetCached('mnist-bundled', { split: 'test' });
    assert.equal(datasetCacheStats().held, DATASET_CACHE_ENTRIES);
    assert.equal(await loadDatasetCached('mnist-bundled', { split: 'train', imageSize: 1 }), first, 'kept; imageSize 2 was dropped');
    const before = datasetCacheStats().loaded;
    await loadDatasetCached('mnist-bundled', { split: 'train', imageSize: 2 });
    assert.equal(datasetCacheStats().loaded, before + 1);
  });

  it('trains a run on a reused dataset to the same numbers as on a freshly loaded one', async () => {
    const cfg = { dataset: 'mnist-bundled' as const, network: 'fbn-mnist', batchSize: 32, epochs: 1, trainLimit: 96, testLimit: 64, threads: 1, seed: 3 };
    const fresh = await runTraining(cfg, { progress: 'none' });
    assert.equal(datasetCacheStats().reused, 0);
    // Another run in between, on the same cached splits, with another seed.
    await runTraining({ ...cfg, seed: 4, norm: { kind: 'fbn', threshold: 2 } }, { progress: 'none' });
    const again = await runTraining(cfg, { progress: 'none' });
    assert.ok(datasetCacheStats().reused >= 4);
    assert.equal(again.data.train, fresh.data.train, 'the limited training set is shared too');
    const { seconds: _a, samples_per_sec: _b, ...f } = fresh.result.final;
    const { seconds: _c, samples_per_sec: _d, ...g } = again.result.final;
    assert.deepEqual(g, f);
  });
});

describe('executeRun without checkpoints', () => {
  it('writes no checkpoint files when the scheduler says nobody can resume from them', async () => {
    const [spec] = expand(getExperiment('fbn-batch-sweep'), resolveConfig('fbn-batch-sweep', { mode: 'quick', sets: ['batchSizes=64', 'thresholds=2', 'epochs=2'] }));
    const off = join(mkdtempSync(join(tmpdir(), 'normlab-ckpt-')), 'run');
    const on = join(mkdtempSync(join(tmpdir(), 'normlab-ckpt-')), 'run');
    const a = await executeRun(spec, off, { threads: 1, checkpoints: false });
    const b = await executeRun(spec, on, { threads: 1 });
    assert.deepEqual(readdirSync(off).filter((f) => f.endsWith('.safetensors') || f === 'checkpoints'), []);
    assert.ok(existsSync(join(on, 'last.safetensors')) && existsSync(join(on, 'checkpoints', 'epoch-0002', 'trainer-state.json')));
    assert.ok(existsSync(join(off, 'record.json')));
    assert.equal(a.results.final.test_acc, b.results.final.test_acc);
  });
});

describe('bundled MNIST digit files', () => {
  const root = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const viaJson = (text: string): Uint8Array => Uint8Array.from((JSON.parse(text) as { data: number[] }).data, (v) => Math.round(v * 255));

  it('decodes every digit file to the same bytes as JSON.parse', () => {
    for (let d = 0; d < 10; d++) {
      const buf = readFileSync(join(root, `${d}.json`));
      assert.deepEqual(decodeDigitsFile(buf, `${d}.json`), viaJson(buf.toString('utf8')), `digit ${d}`);
    }
  });

  it('decodes other spellings (spaces, exponents, many decimals) as JSON.parse does, and names the file in errors', () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    for (const text of ['{"data":[]}', '{ "data" : [ 0 , 1, 0.5 ,0.2 ]\n}', '{"data":[1e-3,0.1234567,1.0,0.00392156862745098]}']) {
      assert.deepEqual(decodeDigitsFile(enc(text), 'x.json'), viaJson(text), text);
    }
    assert.throws(() => decodeDigitsFile(enc('{"data":[0.5,-1]}'), 'bad.json'), /decodeDigitsFile: bad\.json: value 1 must be a number in \[0, 1\], got -1/);
    assert.throws(() => decodeDigitsFile(enc('{"data":7}'), 'bad.json'), /decodeDigitsFile: bad\.json must hold \{ "data": \[numbers\] \}, found no '\['/);
  });
});

describe('bundled MNIST binary cache', () => {
  const root = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const fromJson = (): Uint8Array => {
    const parts = Array.from({ length: 10 }, (_, d) => Uint8Array.from((JSON.parse(readFileSync(join(root, `${d}.json`), 'utf8')) as { data: number[] }).data, (v) => Math.round(v * 255)));
    return Uint8Array.from(parts.flatMap((p) => [...p]));
  };
  const withDataDir = <T>(dir: string, fn: () => T): T => {
    const before = process.env.NORMLAB_DATA;
    process.env.NORMLAB_DATA = dir;
    try {
      return fn();
    } finally {
      if (before === undefined) delete process.env.NORMLAB_DATA;
      else process.env.NORMLAB_DATA = before;
    }
  };

  it('writes the decoded digits to the data folder and reads the same pixels and labels back from it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-digits-'));
    withDataDir(dir, () => {
      const first = readBundledMnist();
      const file = bundledMnistCacheFile();
      assert.ok(file.startsWith(dir) && existsSync(file));
      assert.equal(statSync(file).size, 88 + 10000 * 784);
      const second = readBundledMnist();
      const expected = fromJson();
      assert.deepEqual(first.pixels, expected);
      assert.deepEqual(second.pixels, expected);
      assert.deepEqual(second.labels, first.labels);
      assert.deepEqual([...first.labels.subarray(1000, 1002)], [0, 1]);
    });
  });

  it('reads pixels from the cache file rather than the JSON, and rebuilds it when the package files differ from those it was built from', () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-digits-'));
    withDataDir(dir, () => {
      readBundledMnist();
      const file = bundledMnistCacheFile();
      const buf = readFileSync(file);
      buf[88] = 77;
      writeFileSync(file, buf);
      assert.equal(readBundledMnist().pixels![0], 77);
      buf.writeUInt32LE(buf.readUInt32LE(8) + 1, 8);
      writeFileSync(file, buf);
      assert.equal(readBundledMnist().pixels![0], 0);
      assert.equal(readFileSync(file)[88], 0);
      writeFileSync(file, buf.subarray(0, 1000));
      assert.equal(readBundledMnist().n, 10000);
    });
  });

  it('decodes the JSON when the cache folder cannot be written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-digits-'));
    const blocker = join(dir, 'file');
    writeFileSync(blocker, 'not a folder');
    withDataDir(blocker, () => {
      assert.equal(readBundledMnist().n, 10000);
      assert.ok(!existsSync(bundledMnistCacheFile()));
    });
  });
});

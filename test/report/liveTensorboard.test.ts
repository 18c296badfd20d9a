import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { histogramOf, liveTensorboardHooks } from '../../src/report/liveTensorboard.js';
import { maskedCrc32c } from '../../src/report/tensorboard.js';
import { runTraining } from '../../src/train/run.js';
import type { Module } from '../../src/nn/module.js';
import { tempDir } from '../data/files.js';

type Fields = Map<number, (bigint | Buffer)[]>;

/** Protobuf fields by number: varints as bigint, fixed64/fixed32 and length-delimited as bytes. */
function fields(b: Buffer): Fields {
  const out: Fields = new Map();
  let p = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let s = 0n; ; s += 7n) {
      const x = b[p++];
      v |= BigInt(x & 0x7f) << s;
      if (x < 0x80) return v;
    }
  };
  while (p < b.length) {
    const key = Number(varint());
    const wire = key & 7;
    let v: bigint | Buffer;
    if (wire === 0) v = varint();
    else {
      const n = wire === 1 ? 8 : wire === 5 ? 4 : Number(varint());
      v = b.subarray(p, p + n);
      p += n;
    }
    out.set(key >> 3, [...(out.get(key >> 3) ?? []), v]);
  }
  return out;
}

/** The events of a TFRecord file, checking both CRCs of every record. */
function readEvents(file: string): { step: number; scalars: Map<string, number>; histos: Map<string, { min: number; max: number; num: number }> }[] {
  const b = readFileSync(file);
  const events = [];
  for (let p = 0; p < b.length;) {
    const n = Number(b.readBigUInt64LE(p));
    assert.equal(b.readUInt32LE(p + 8), maskedCrc32c(b.subarray(p, p + 8)), 'length CRC');
    const data = b.subarray(p + 12, p + 12 + n);
    assert.equal(b.readUInt32LE(p + 12 + n), maskedCrc32c(data), 'data CRC');
    p += 16 + n;
    const e = fields(data);
    const scalars = new Map<string, number>();
    const histos = new Map<string, { min: number; max: number; num: number }>();
    for (const v of (e.get(5) ?? []).flatMap((s) => fields(s as Buffer).get(1) ?? [])) {
      const f = fields(v as Buffer);
      const tag = (f.get(1)![0] as Buffer).toString('utf8');
      if (f.has(2)) scalars.set(tag, (f.get(2)![0] as Buffer).readFloatLE(0));
      if (f.has(5)) {
        const h = fields(f.get(5)![0] as Buffer);
        const d = (k: number): number => (h.has(k) ? (h.get(k)![0] as Buffer).readDoubleLE(0) : 0);
        histos.set(tag, { min: d(1), max: d(2), num: d(3) });
      }
    }
    events.push({ step: Number(e.get(2)?.[0] ?? 0n), scalars, histos });
  }
  return events;
}

describe('TensorBoard events during training', () => {
  it('buckets values from min to max with the maximum in the last bucket', () => {
    const h = histogramOf(Float32Array.from([0, 1, 2, 3]), 3);
    assert.deepEqual(h.bucketLimit, [1, 2, 3]);
    assert.deepEqual(h.bucket, [1, 1, 2]);
    assert.deepEqual([h.min, h.max, h.num, h.sum, h.sumSquares], [0, 3, 4, 6, 14]);
    assert.deepEqual(histogramOf(Float32Array.from([2, 2]), 30).bucket, [2]);
  });

  it('appends each epoch\'s scalars and BN histograms (running stats, γ, β) to disk before the next epoch starts', async () => {
    const dir = tempDir('normlab-tb-');
    const hooks = liveTensorboardHooks(dir);
    const seen: { epoch: number; records: number; runningVar: Float32Array }[] = [];
    let model: Module | undefined;
    await runTraining(
      { dataset: 'mnist-bundled', network: 'lenet5', norm: 'bn', epochs: 2, trainLimit: 300, testLimit: 100, threads: 1 },
      {
        outDir: dir, progress: 'none', checkpoints: false,
        onStart: (m) => {
          model = m;
          hooks.onStart(m);
        },
        onEpoch: async (m) => {
          // The hook reads the histograms asynchronously (any device); the event is on disk once it resolves.
          await hooks.onEpoch(m);
          const files = readdirSync(join(dir, 'tensorboard'));
          assert.equal(files.length, 1);
          const sd = model!.stateDict();
          seen.push({ epoch: m.epoch, records: readEvents(join(dir, 'tensorboard', files[0])).length, runningVar: sd['features.1.running_var'].data() });
        },
      },
    );
    hooks.close();
    assert.deepEqual(seen.map((s) => [s.epoch, s.records]), [[1, 2], [2, 3]], 'file_version + one event per finished epoch, readable right after it');
    const events = readEvents(join(dir, 'tensorboard', readdirSync(join(dir, 'tensorboard'))[0]));
    assert.deepEqual(events.map((e) => e.step), [0, 1, 2]);
    const last = events[2];
    for (const tag of ['acc/train', 'loss/train', 'acc/test', 'loss/test', 'lr', 'samples_per_sec']) assert.ok(last.scalars.has(tag), tag);
    const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { test_acc: number });
    assert.equal(last.scalars.get('acc/test'), Math.fround(metrics[1].test_acc));
    for (const layer of ['features.1', 'features.5', 'classifier.1', 'classifier.4']) {
      for (const k of ['running_mean', 'running_var', 'weight', 'bias']) assert.ok(last.histos.has(`${layer}/${k}`), `${layer}/${k}`);
    }
    // LeNet-5's first BN has 6 channels; the histogram of epoch 2 is of the running variance then.
    const rv = last.histos.get('features.1/running_var')!;
    assert.equal(rv.num, 6);
    assert.equal(rv.min, Math.min(...seen[1].runningVar));
    assert.equal(rv.max, Math.max(...seen[1].runningVar));
    assert.notEqual(events[1].histos.get('features.1/running_var')!.max, rv.max, 'the running variance moved between epochs');
  });
});

import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { data } from '../../src/index.js';
import { tempDir } from './files.js';

const { DataLoader, FolderDataset, openImageFolder, compose, randomResizedCrop, randomHorizontalFlip, normalize, centerCrop } = data;

/** The compiled package entry, for child processes. */
const INDEX = fileURLToPath(new URL('../../src/index.js', import.meta.url));

/** root/<class>/ with n images of 16x16 noise (PNG and JPEG alternating), 3 classes. */
async function noiseFolder(root: string, n: number): Promise<void> {
  let s = 12345;
  for (let i = 0; i < n; i++) {
    const px = Buffer.alloc(16 * 16 * 3);
    for (let k = 0; k < px.length; k++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      px[k] = s >>> 24;
    }
    const dir = join(root, `class${i % 3}`);
    mkdirSync(dir, { recursive: true });
    const img = sharp(px, { raw: { width: 16, height: 16, channels: 3 } });
    await (i % 2 ? img.jpeg({ quality: 90 }) : img.png()).toFile(join(dir, `${i}.${i % 2 ? 'jpg' : 'png'}`));
  }
}

/** A FolderDataset over a cache file written directly: n samples of 1 x size x size, value (slot + k) mod 256. */
function fakeFolder(dir: string, n: number, size: number, bytes = n * size * size): data.FolderDataset {
  const per = size * size;
  const file = join(dir, `cache-${n}-${size}-${bytes}.u8`);
  const px = new Uint8Array(bytes);
  for (let k = 0; k < bytes; k++) px[k] = (Math.floor(k / per) + k) & 255;
  writeFileSync(file, px);
  return new FolderDataset({
    name: 'fake', dataFile: file, size, channels: 1, classNames: ['a', 'b'], files: [],
    labels: Int32Array.from({ length: n }, (_, i) => i % 2), slots: Int32Array.from({ length: n }, (_, i) => i),
  });
}

const bytesOf = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

/** Runs a script (ES module text, `INDEX` replaced by the package entry) in a child node; its result. */
function runChild(dir: string, name: string, source: string): { status: number | null; stdout: string; stderr: string; ms: number } {
  const file = join(dir, name);
  writeFileSync(file, source.replaceAll('INDEX', JSON.stringify(INDEX)));
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', file], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

describe('DataLoader worker threads', () => {
  const dir = tempDir('normlab-workers-');
  let folder: data.FolderDataset;
  before(async () => {
    await noiseFolder(join(dir, 'imgs'), 45);
    folder = await openImageFolder(join(dir, 'imgs'), { size: 16 });
  });

  it('uses workers by default for an image folder (up to two, leaving a core to the caller) and none for in-memory data or a hand-written transform', () => {
    assert.equal(new DataLoader(folder, { transform: randomHorizontalFlip() }).workers, Math.min(2, Math.max(1, availableParallelism() - 1)));
    assert.equal(new DataLoader(folder, { transform: (img) => img }).workers, 0);
    const mem = data.fromArrays(new Float32Array(4), Int32Array.from([0]), { channels: 1, height: 2, width: 2, numClasses: 1 });
    assert.equal(new DataLoader(mem).workers, 0);
    assert.throws(() => new DataLoader(mem, { workers: 2 }), /DataLoader: workers: 2 needs a dataset that worker threads can read.*use workers: 0/);
    assert.throws(() => new DataLoader(folder, { workers: 1, transform: (img) => img }), /DataLoader: workers: 1 needs a transform made by data's transform factories/);
    assert.throws(() => new DataLoader(folder, { workers: -1 }), /DataLoader: workers must be 'auto' or an integer >= 0, got -1/);
  });

  it('gives bitwise the same batches from worker threads as from the caller\'s thread for the same seed, whatever the worker count', async () => {
    const transform = compose(randomResizedCrop(12), randomHorizontalFlip(), normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3]));
    const epochs = async (workers: number, iterate: 'sync' | 'async'): Promise<{ x: Buffer[]; y: number[][]; idx: number[][] }> => {
      const loader = new DataLoader(folder, { batchSize: 8, shuffle: true, seed: 11, transform, workers });
      const out = { x: [] as Buffer[], y: [] as number[][], idx: [] as number[][] };
      const take = (b: data.Batch): void => {
        assert.deepEqual(b.x.shape.slice(1), [3, 12, 12]);
        out.x.push(bytesOf(b.x.data()));
        out.y.push([...b.y]);
        out.idx.push([...b.indices]);
      };
      for (let e = 0; e < 2; e++) {
        if (iterate === 'sync') for (const b of loader.batches()) take(b);
        else for await (const b of loader) take(b);
      }
      await loader.close();
      return out;
    };
    const ref = await epochs(0, 'sync');
    assert.equal(ref.x.length, 2 * Math.ceil(45 / 8));
    assert.notDeepEqual(ref.x[0], ref.x[6], 'epochs differ');
    for (const [workers, iterate] of [[1, 'sync'], [2, 'sync'], [3, 'sync'], [2, 'async']] as const) {
      const got = await epochs(workers, iterate);
      assert.deepEqual(got.idx, ref.idx, `${workers} workers, ${iterate}: indices`);
      assert.deepEqual(got.y, ref.y, `${workers} workers, ${iterate}: labels`);
      got.x.forEach((x, i) => assert.ok(x.equals(ref.x[i]), `${workers} workers, ${iterate}: batch ${i} differs`));
    }
    // Without a transform, and resuming mid-epoch from state(): the same batches again.
    const plain = new DataLoader(folder, { batchSize: 16, shuffle: true, seed: 3, workers: 0 });
    const plainRef = [...plain.batches()].map((b) => bytesOf(b.x.data()));
    const resumed = new DataLoader(folder, { batchSize: 16, shuffle: true, seed: 3, workers: 2 });
    const it0 = resumed.batches();
    assert.ok(bytesOf(it0.next().value!.x.data()).equals(plainRef[0]));
    const state = resumed.state();
    it0.return!();
    const again = new DataLoader(folder, { batchSize: 16, shuffle: true, seed: 3, workers: 2 });
    again.setState(state);
    assert.deepEqual([...again.batches()].map((b) => bytesOf(b.x.data())), plainRef.slice(1));
    await Promise.all([resumed.close(), again.close()]);
  });

  it('keeps at most prefetch batches queued beyond the one handed out, also while the consumer is slow', async () => {
    for (const prefetch of [0, 1, 3]) {
      const loader = new DataLoader(folder, { batchSize: 4, shuffle: true, seed: 1, workers: 2, prefetch });
      let seen = 0;
      for (const b of loader.batches()) {
        assert.ok(b.x.shape[0] > 0);
        // A slow consumer: the workers finish what they were given, and must not be given more.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        assert.ok(loader.queued >= 1 && loader.queued <= prefetch + 1, `prefetch ${prefetch}: ${loader.queued} queued`);
        seen = Math.max(seen, loader.queued);
      }
      assert.equal(seen, prefetch + 1, `prefetch ${prefetch} is used`);
      assert.equal(loader.queued, 0);
      await loader.close();
    }
  });

  it('raises an error thrown in a worker on the caller\'s thread, naming the function, and stops the workers', async () => {
    const loader = new DataLoader(folder, { batchSize: 8, transform: centerCrop(32), workers: 2 });
    assert.throws(() => [...loader.batches()], (e: Error) => {
      assert.match(e.message, /^DataLoader\.batches: worker 0 failed on batch 0: RangeError: centerCrop: crop 32x32 is larger than the image 16x16$/);
      assert.equal(e.name, 'LoaderWorkerError');
      return true;
    });
    assert.equal(loader.activeWorkers, 0);
    await loader.close();
    const asyncLoader = new DataLoader(folder, { batchSize: 8, transform: centerCrop(32), workers: 1 });
    await assert.rejects(async () => {
      for await (const b of asyncLoader) void b;
    }, /DataLoader\[Symbol\.asyncIterator\]: worker 0 failed on batch 0: RangeError: centerCrop: crop 32x32/);
    await asyncLoader.close();
    // A cache file shorter than its index needs: the worker's error names the file.
    const short = fakeFolder(dir, 10, 4, 100);
    const reading = new DataLoader(short, { batchSize: 4, workers: 1 });
    assert.throws(() => [...reading.batches()], /worker 0 failed on batch 0: DataFormatError: .*cache-10-4-100\.u8: cache file has 100 bytes but its index needs 160/);
    await reading.close();
  });

  it('stops the worker threads when the loop breaks early or the consumer throws, and keeps them between full epochs', async () => {
    const loader = new DataLoader(folder, { batchSize: 4, shuffle: true, seed: 2, workers: 2 });
    for (const b of loader.batches()) void b;
    assert.equal(loader.activeWorkers, 2, 'kept after a full epoch');
    let n = 0;
    for (const b of loader.batches()) {
      void b;
      if (++n === 2) break;
    }
    assert.equal(loader.activeWorkers, 0, 'stopped by break');
    assert.throws(() => {
      for (const b of loader.batches()) throw new Error(`consumer failed on ${b.indices.length} samples`);
    }, /consumer failed/);
    assert.equal(loader.activeWorkers, 0, 'stopped by a throwing consumer');
    n = 0;
    for await (const b of loader) {
      void b;
      if (++n === 1) break;
    }
    assert.equal(loader.activeWorkers, 0, 'stopped by break in for await');
    // Every thread the loader started exits (close() waits for their exit events).
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('workers did not exit within 10 s')), 10_000).unref());
    await Promise.race([loader.close(), timeout]);
  });

  it('lets a process exit on its own after a full run or an early break, without close()', () => {
    const script = `
      import { data } from INDEX;
      const ds = await data.openImageFolder(${JSON.stringify(join(dir, 'imgs'))}, { size: 16 });
      const loader = new data.DataLoader(ds, { batchSize: 4, shuffle: true, seed: 1, workers: 2, transform: data.randomHorizontalFlip() });
      let n = 0;
      for (let e = 0; e < 2; e++) for (const b of loader.batches()) n += b.y.length;
      for (const b of loader.batches()) { n += b.y.length; break; }
      for await (const b of loader) { n += b.y.length; }
      console.log(n);
    `;
    const r = runChild(dir, 'exit.mjs', script);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(2 * 45 + 4 + 41));
    assert.ok(r.ms < 30_000, `exited after ${r.ms} ms`);
  });

  it('keeps memory bounded by the batch queue, not the dataset, reading a 64 MB cache', () => {
    // 65,536 samples of 1x32x32: 64 MB of cache, 256 MB as float32. Peak RSS is measured from the
    // fourth batch on (threads started, code compiled) to the end of an epoch, with and without
    // workers; loading the cache whole would add 64 MB. The forced collections take V8's slack for
    // unreferenced ArrayBuffers (up to 64 MB before it collects) out of the measure, leaving what
    // the loader holds.
    fakeFolder(dir, 65536, 32);
    const script = `
      import { data } from INDEX;
      const file = ${JSON.stringify(join(dir, 'cache-65536-32-67108864.u8'))};
      const n = 65536;
      const ds = new data.FolderDataset({ name: 'big', dataFile: file, size: 32, channels: 1, classNames: ['a'], files: [],
        labels: new Int32Array(n), slots: Int32Array.from({ length: n }, (_, i) => i) });
      const out = {};
      for (const workers of [0, 2]) {
        const loader = new data.DataLoader(ds, { batchSize: 256, shuffle: true, seed: 1, workers });
        const it = loader.batches();
        let sum = 0;
        for (let k = 0; k < 4; k++) sum += it.next().value.y.length;
        globalThis.gc();
        const start = process.resourceUsage().maxRSS;
        let k = 0;
        for (const b of it) {
          sum += b.y.length;
          if (++k % 8 === 0) globalThis.gc();
        }
        if (sum !== n) throw new Error('epoch of ' + sum + ' samples');
        out[workers] = Math.round((process.resourceUsage().maxRSS - start) / 1024);
        await loader.close();
      }
      console.log(JSON.stringify(out));
    `;
    const r = runChild(dir, 'memory.mjs', script);
    assert.equal(r.status, 0, r.stderr);
    const growth = JSON.parse(r.stdout) as Record<string, number>;
    for (const [workers, mb] of Object.entries(growth)) assert.ok(mb < 24, `workers ${workers}: peak RSS grew ${mb} MB over an epoch of a 64 MB cache`);
  });
});

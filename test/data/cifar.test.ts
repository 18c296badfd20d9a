import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { data } from '../../src/index.js';
import { makeTar, tempDir, writeCifar, writeFile } from './files.js';

const { loadDatasetSync, DataFormatError, CIFAR_IMAGE_BYTES, extractTarGzFolder } = data;
const noCache = (): string => join(tempDir(), 'empty-cache');

describe('CIFAR binary readers', () => {
  it('reads the five CIFAR-10 training batches in order, pixels in CHW order', () => {
    const dir = tempDir();
    const folder = join(dir, 'cifar-10-batches-bin');
    const written: Uint8Array[] = [];
    for (let b = 1; b <= 5; b++) written.push(writeCifar(join(folder, `data_batch_${b}.bin`), 'cifar10', [b, b + 1], undefined, b));
    const ds = loadDatasetSync('cifar10', { dataDir: dir, cacheDir: noCache() });
    assert.equal(ds.n, 10);
    assert.deepEqual([ds.channels, ds.height, ds.width, ds.numClasses], [3, 32, 32, 10]);
    assert.deepEqual([...ds.labels], [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    assert.equal(ds.classNames![0], 'airplane');
    const img = new Float32Array(CIFAR_IMAGE_BYTES);
    ds.readImage(3, img);
    // Sample 3 is record 1 of batch 2; value (channel 2, row 5, column 7) sits at 2*1024 + 5*32 + 7.
    const k = 2 * 1024 + 5 * 32 + 7;
    assert.equal(img[k], Math.fround(written[1][CIFAR_IMAGE_BYTES + k] / 255));
  });

  it('reads the CIFAR-10 test batch from the folder itself', () => {
    const dir = tempDir();
    writeCifar(join(dir, 'test_batch.bin'), 'cifar10', [9, 0, 4]);
    assert.deepEqual([...loadDatasetSync('cifar10', { dataDir: dir, split: 'test', cacheDir: noCache() }).labels], [9, 0, 4]);
  });

  it('reads CIFAR-100 fine labels with coarse labels beside them, or coarse labels as the classes', () => {
    const dir = tempDir();
    const pixels = writeCifar(join(dir, 'cifar-100-binary', 'train.bin'), 'cifar100', [99, 0, 42], [19, 4, 7]);
    const fine = loadDatasetSync('cifar100', { dataDir: dir, cacheDir: noCache() });
    assert.equal(fine.numClasses, 100);
    assert.deepEqual([...fine.labels], [99, 0, 42]);
    assert.deepEqual([...fine.coarseLabels!], [19, 4, 7]);
    assert.equal(fine.classNames![99], 'worm');
    assert.equal(fine.images[CIFAR_IMAGE_BYTES * 2 + 3], Math.fround(pixels[CIFAR_IMAGE_BYTES * 2 + 3] / 255));
    const coarse = loadDatasetSync('cifar100', { dataDir: dir, cacheDir: noCache(), cifar100Labels: 'coarse' });
    assert.equal(coarse.numClasses, 20);
    assert.deepEqual([...coarse.labels], [19, 4, 7]);
    assert.equal(coarse.classNames![19], 'vehicles_2');
  });

  it('reads the split straight out of the binary .tar.gz archive', () => {
    const dir = tempDir();
    const src = tempDir();
    writeCifar(join(src, 'test.bin'), 'cifar100', [5, 6], [1, 2]);
    const tar = makeTar([
      { name: 'cifar-100-binary/coarse_label_names.txt', data: Buffer.from('aquatic_mammals\n') },
      { name: 'cifar-100-binary/test.bin', data: readFileSync(join(src, 'test.bin')) },
    ]);
    writeFile(join(dir, 'cifar-100-binary.tar.gz'), gzipSync(tar));
    const ds = loadDatasetSync('cifar100', { dataDir: dir, split: 'test', cacheDir: noCache() });
    assert.deepEqual([...ds.labels], [5, 6]);
    assert.deepEqual([...ds.coarseLabels!], [1, 2]);
  });

  it('rejects a truncated batch naming the file, the record size and the byte count', () => {
    const dir = tempDir();
    const file = join(dir, 'test_batch.bin');
    writeCifar(file, 'cifar10', [1, 2, 3]);
    writeFile(file, readFileSync(file).subarray(0, 3 * 3073 - 100));
    assert.throws(
      () => loadDatasetSync('cifar10', { dataDir: dir, split: 'test', cacheDir: noCache() }),
      (e: Error) => e instanceof DataFormatError && e.message.includes(file) && /9119 bytes is not a whole number of 3073-byte CIFAR-10 records/.test(e.message),
    );
  });

  it('rejects a CIFAR-100 file read as CIFAR-10 by its out-of-range labels', () => {
    const dir = tempDir();
    // 3073 CIFAR-100 records = 3074 CIFAR-10 records in bytes; the label check catches it.
    const file = join(dir, 'test_batch.bin');
    writeCifar(file, 'cifar100', new Array(3073).fill(50), new Array(3073).fill(10));
    assert.throws(
      () => loadDatasetSync('cifar10', { dataDir: dir, split: 'test', cacheDir: noCache() }),
      (e: Error) => e.message.includes(file) && /record 0 has label 10, expected 0\.\.9/.test(e.message),
    );
  });

  it('rejects an archive without the needed member, naming the archive', () => {
    const dir = tempDir();
    const file = writeFile(join(dir, 'cifar-10-binary.tar.gz'), gzipSync(makeTar([{ name: 'cifar-10-batches-bin/readme.html', data: Buffer.from('x') }])));
    assert.throws(() => loadDatasetSync('cifar10', { dataDir: dir, split: 'test', cacheDir: noCache() }), (e: Error) => e.message.includes(file) && /no cifar-10-batches-bin\/test_batch.bin/.test(e.message));
  });

  it('extracts a downloaded archive into the cache layout the loader reads, leaving no temporary folder', async () => {
    const src = tempDir();
    const cache = tempDir();
    writeCifar(join(src, 'test_batch.bin'), 'cifar10', [3, 1]);
    const archive = writeFile(join(cache, 'cifar10', 'cifar-10-binary.tar.gz'), gzipSync(makeTar([
      { name: 'cifar-10-batches-bin/test_batch.bin', data: readFileSync(join(src, 'test_batch.bin')) },
      { name: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from('airplane\n') },
      { name: 'elsewhere/evil.bin', data: Buffer.from('x') },
    ])));
    await extractTarGzFolder(archive, 'cifar-10-batches-bin', join(cache, 'cifar10'));
    assert.deepEqual(readdirSync(join(cache, 'cifar10')).sort(), ['cifar-10-batches-bin', 'cifar-10-binary.tar.gz']);
    assert.deepEqual(readdirSync(join(cache, 'cifar10', 'cifar-10-batches-bin')).sort(), ['batches.meta.txt', 'test_batch.bin']);
    assert.deepEqual([...loadDatasetSync('cifar10', { cacheDir: cache, split: 'test' }).labels], [3, 1]);
  });

  it('extracts nothing from a corrupt archive and names it', async () => {
    const dir = tempDir();
    const archive = writeFile(join(dir, 'cifar-10-binary.tar.gz'), gzipSync(makeTar([])).subarray(0, 10));
    await assert.rejects(() => extractTarGzFolder(archive, 'cifar-10-batches-bin', dir), (e: Error) => e.message.includes(archive) && /not a valid gzip/.test(e.message));
    assert.deepEqual(readdirSync(dir), ['cifar-10-binary.tar.gz']);
  });
});

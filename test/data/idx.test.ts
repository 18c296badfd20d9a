import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { data } from '../../src/index.js';
import { tempDir, writeFile, writeIdxPair } from './files.js';

const { loadDatasetSync, DataFormatError, encodeIdx } = data;
const TRAIN = { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' };
const noCache = (): string => join(tempDir(), 'empty-cache');

describe('IDX readers (MNIST, Fashion-MNIST)', () => {
  it('reads raw IDX files back with pixels scaled to [0, 1] and the labels as written', () => {
    const dir = tempDir();
    const labels = [3, 1, 4, 1, 5, 9, 2];
    const { pixels } = writeIdxPair(dir, TRAIN, labels);
    const ds = loadDatasetSync('mnist', { dataDir: dir, cacheDir: noCache() });
    assert.equal(ds.n, 7);
    assert.deepEqual([ds.channels, ds.height, ds.width, ds.numClasses], [1, 28, 28, 10]);
    assert.deepEqual([...ds.labels], labels);
    assert.equal(ds.images.length, 7 * 784);
    for (const i of [0, 1, 783, 784 * 5 + 17]) assert.equal(ds.images[i], Math.fround(pixels[i] / 255));
  });

  it('reads gzip-compressed IDX files and the test split', () => {
    const dir = tempDir();
    const labels = [0, 9, 8];
    const { pixels } = writeIdxPair(dir, { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' }, labels, 28, 28, true);
    const ds = loadDatasetSync('fashion-mnist', { dataDir: dir, split: 'test', cacheDir: noCache() });
    assert.deepEqual([...ds.labels], labels);
    assert.equal(ds.classNames![9], 'Ankle boot');
    const img = new Float32Array(784);
    ds.readImage(2, img);
    assert.equal(img[5], Math.fround(pixels[2 * 784 + 5] / 255));
  });

  it('accepts the dotted file names and the torchvision MNIST/raw layout', () => {
    const dir = tempDir();
    writeIdxPair(join(dir, 'MNIST', 'raw'), { images: 'train-images.idx3-ubyte', labels: 'train-labels.idx1-ubyte' }, [7, 7]);
    assert.deepEqual([...loadDatasetSync('mnist', { dataDir: dir, cacheDir: noCache() }).labels], [7, 7]);
  });

  it('finds files in the cache folder <cache>/<name>/', () => {
    const cache = tempDir();
    writeIdxPair(join(cache, 'mnist'), TRAIN, [2, 3]);
    assert.deepEqual([...loadDatasetSync('mnist', { cacheDir: cache }).labels], [2, 3]);
  });

  it('rejects a truncated image file naming the file and the expected and actual sizes', () => {
    const dir = tempDir();
    writeIdxPair(dir, TRAIN, [1, 2, 3]);
    const file = join(dir, TRAIN.images);
    writeFile(file, readFileSync(file).subarray(0, 1000));
    assert.throws(
      () => loadDatasetSync('mnist', { dataDir: dir, cacheDir: noCache() }),
      (e: Error) => e instanceof DataFormatError && e.message.includes(file) && /truncated/.test(e.message) && /expected 2368 bytes/.test(e.message) && /got 1000/.test(e.message),
    );
  });

  it('rejects a wrong magic number naming the file, the expected and the actual magic', () => {
    const dir = tempDir();
    writeIdxPair(dir, TRAIN, [1, 2]);
    const file = join(dir, TRAIN.labels);
    writeFile(file, encodeIdx([2, 1], Uint8Array.from([1, 2])));
    assert.throws(
      () => loadDatasetSync('mnist', { dataDir: dir, cacheDir: noCache() }),
      (e: Error) => e.message.includes(file) && /wrong magic number: expected 0x00000801/.test(e.message) && /got 0x00000802/.test(e.message),
    );
  });

  it('rejects a file longer than its header says as wrong size', () => {
    const dir = tempDir();
    writeIdxPair(dir, TRAIN, [1, 2]);
    const file = join(dir, TRAIN.images);
    writeFile(file, Buffer.concat([readFileSync(file), Buffer.alloc(5)]));
    assert.throws(() => loadDatasetSync('mnist', { dataDir: dir, cacheDir: noCache() }), (e: Error) => e.message.includes(file) && /wrong size.*got 1589/.test(e.message));
  });

  it('rejects a corrupt gzip file and a .gz file that is not gzip, naming the file', () => {
    const dir = tempDir();
    writeIdxPair(dir, { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' }, [1], 28, 28, true);
    const file = join(dir, 'train-images-idx3-ubyte.gz');
    const gz = gzipSync(encodeIdx([1, 28, 28], new Uint8Array(784)));
    writeFile(file, gz.subarray(0, gz.length - 12));
    assert.throws(() => loadDatasetSync('mnist', { dataDir: dir, cacheDir: noCache() }), (e: Error) => e.message.includes(file) && /not a valid gzip/.test(e.message));
    writeFile(file, encodeIdx([1, 28, 28], new Uint8Array(784)));
    assert.throws(() => loadDatasetSync('mnist', { dataDir: dir, cacheDir: noCache() }), (e: Error) => e.message.includes(file) && /expected magic bytes 1f 8b, got 00 00/.test(e.message));
  });

  it('rejects label and image files of different lengths and out-of-range labels', () => {
    const dir = tempDir();
    writeIdxPair(dir, TRAIN, [1, 2, 3]);
    writeFile(join(dir, TRAIN.labels), encodeIdx([2], Uint8Array.from([1, 2])));
    assert.throws(() => loadDatasetSync('mnist', { dataDir: dir, cacheDir: noCache() }), /has 2 labels but .* has 3 images/);
    writeFile(join(dir, TRAIN.labels), encodeIdx([3], Uint8Array.from([1, 12, 3])));
    assert.throws(() => loadDatasetSync('mnist', { dataDir: dir, cacheDir: noCache() }), /label 1 is 12, expected 0\.\.9/);
  });
});

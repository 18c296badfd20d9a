import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { data } from '../../src/index.js';

const { DataLoader, fromArrays, randomCrop, randomHorizontalFlip, compose } = data;

/** n images of 1x2x2 whose four values are all the sample index; label = index mod 3. */
function indexDataset(n: number): data.ImageDataset {
  const images = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i, i * 4, i * 4 + 4);
  return fromArrays(images, Int32Array.from({ length: n }, (_, i) => i % 3), { channels: 1, height: 2, width: 2, numClasses: 3 });
}

const epochIndices = (loader: data.DataLoader): number[][] => [...loader.batches()].map((b) => [...b.indices]);

describe('DataLoader', () => {
  it('yields [B, C, H, W] tensors with matching labels and indices in dataset order without shuffle', () => {
    const loader = new DataLoader(indexDataset(10), { batchSize: 4 });
    const batches = [...loader.batches()];
    assert.deepEqual(batches.map((b) => b.x.shape), [[4, 1, 2, 2], [4, 1, 2, 2], [2, 1, 2, 2]]);
    assert.deepEqual([...batches[2].indices], [8, 9]);
    assert.deepEqual([...batches[2].y], [2, 0]);
    assert.deepEqual([...batches[1].x.data()], [4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7]);
  });

  it('drops the incomplete last batch with dropLast and counts batches either way', () => {
    const ds = indexDataset(10);
    assert.equal(new DataLoader(ds, { batchSize: 4 }).length, 3);
    const dropping = new DataLoader(ds, { batchSize: 4, dropLast: true, shuffle: true, seed: 2 });
    assert.equal(dropping.length, 2);
    const seen = epochIndices(dropping);
    assert.deepEqual(seen.map((b) => b.length), [4, 4]);
    assert.equal(new DataLoader(ds, { batchSize: 5, dropLast: true }).length, 2);
  });

  it('shuffles into a permutation, a new one each epoch, the same ones for the same seed', () => {
    const ds = indexDataset(50);
    const a = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 7 });
    const b = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 7 });
    const a1 = epochIndices(a).flat();
    const a2 = epochIndices(a).flat();
    assert.deepEqual([...a1].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.notDeepEqual(a1, a2);
    assert.deepEqual(epochIndices(b).flat(), a1);
    assert.deepEqual(epochIndices(b).flat(), a2);
    assert.notDeepEqual(epochIndices(new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 8 })).flat(), a1);
    assert.equal(a.epoch, 2);
  });

  it('gives the same augmented batches for the same seed, sync or async with prefetch', async () => {
    const ds = fromArrays(Float32Array.from({ length: 6 * 16 }, (_, i) => i), Int32Array.from([0, 1, 2, 0, 1, 2]), { channels: 1, height: 4, width: 4, numClasses: 3 });
    const transform = compose(randomCrop(4, { padding: 1 }), randomHorizontalFlip());
    const opts = { batchSize: 4, shuffle: true, seed: 3, transform };
    const sync = [...new DataLoader(ds, opts).batches()].map((b) => [...b.x.data()]);
    const asyncOut: number[][] = [];
    for await (const b of new DataLoader(ds, { ...opts, prefetch: 2 })) asyncOut.push([...b.x.data()]);
    assert.deepEqual(asyncOut, sync);
    const noPrefetch: number[][] = [];
    for await (const b of new DataLoader(ds, { ...opts, prefetch: 0 })) noPrefetch.push([...b.x.data()]);
    assert.deepEqual(noPrefetch, sync);
    assert.notDeepEqual([...new DataLoader(ds, { ...opts, seed: 4 }).batches()].map((b) => [...b.x.data()]), sync);
  });

  it('resumes from state() mid-epoch with the batches an uninterrupted run gives', () => {
    const ds = indexDataset(30);
    const opts = { batchSize: 4, shuffle: true, seed: 11, transform: randomHorizontalFlip() };
    const full = new DataLoader(ds, opts);
    const reference = [...epochIndices(full), ...epochIndices(full)];

    const first = new DataLoader(ds, opts);
    epochIndices(first);
    const part: number[][] = [];
    for (const b of first.batches()) {
      part.push([...b.indices]);
      if (part.length === 3) break;
    }
    const saved = JSON.parse(JSON.stringify(first.state())) as data.LoaderState;
    const resumed = new DataLoader(ds, opts);
    resumed.setState(saved);
    assert.deepEqual([...reference.slice(8, 11)], part);
    assert.deepEqual(epochIndices(resumed), reference.slice(11));
    assert.equal(resumed.epoch, 2);
  });

  it('resumes between epochs too', () => {
    const ds = indexDataset(9);
    const a = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 5 });
    epochIndices(a);
    const b = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 5 });
    b.setState(a.state());
    assert.deepEqual(epochIndices(b), epochIndices(a));
  });

  it('rejects a bad batch size naming the option', () => {
    assert.throws(() => new DataLoader(indexDataset(3), { batchSize: 0 }), /DataLoader: batchSize must be an integer >= 1, got 0/);
  });
});

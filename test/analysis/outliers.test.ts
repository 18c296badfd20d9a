import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findOutlierImages } from '../../src/analysis/outliers.js';
import { findMisclassified } from '../../src/analysis/misclassified.js';
import { Sequential, Conv2d, Linear, ReLU } from '../../src/nn/index.js';
import { tensor } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';

/** Conv 1 -> 2 channels, 1x1: channel 0 = 2x, channel 1 = -x (no bias); then ReLU. */
function model(): Sequential {
  const conv = new Conv2d(1, 2, 1, { bias: false });
  conv.getParameter('weight')!.buffer.set([2, -1]);
  return new Sequential(conv, new ReLU());
}

/** Six 1x3x3 images; image i has its peak value peaks[i] at position i % 9. */
const peaks = [0.5, 3, 1, 4, 3, -2];
function images(): Float32Array {
  const x = new Float32Array(6 * 9).fill(-5);
  peaks.forEach((p, i) => (x[i * 9 + (i % 9)] = p));
  return x;
}

describe('findOutlierImages', () => {
  it('returns the images whose channel maximum of the layer output passes the threshold, largest first', () => {
    const x = images();
    const batches = [
      { x: tensor(x.slice(0, 27), [3, 1, 3, 3]), indices: [10, 11, 12] },
      { x: tensor(x.slice(27), [3, 1, 3, 3]), indices: [13, 14, 15] },
    ];
    const found = findOutlierImages(model(), batches, { layer: '0', channel: 0, threshold: 1.5 });
    assert.deepEqual(found.map((f) => [f.index, f.value]), [[13, 8], [11, 6], [14, 6], [12, 2]]);
    assert.deepEqual(found[0].imageShape, [1, 3, 3]);
    assert.deepEqual([...found[0].image], [...x.slice(27, 36)]);
    const top2 = findOutlierImages(model(), batches, { layer: '0', channel: 0, threshold: 1.5, k: 2 });
    assert.deepEqual(top2.map((f) => f.index), [13, 11]);
  });

  it('reads the layer input when asked and reports a bad layer or channel', () => {
    const batches = [{ x: tensor(images(), [6, 1, 3, 3]), indices: [0, 1, 2, 3, 4, 5] }];
    const m = model();
    const found = findOutlierImages(m, batches, { layer: '1', channel: 1, threshold: -1, site: 'input' });
    // Input of the ReLU, channel 1 = -x: its max is 5 (from the -5 background) for every image.
    assert.deepEqual(found.map((f) => f.value), [5, 5, 5, 5, 5, 5]);
    assert.throws(() => findOutlierImages(m, batches, { layer: '7', channel: 0, threshold: 0 }), /no layer named '7' \(layers: 0, 1\)/);
    assert.throws(() => findOutlierImages(m, batches, { layer: '0', channel: 2, threshold: 0 }), /channel must be in \[0, 2\)/);
    assert.equal(m.training, true);
  });
});

describe('findMisclassified', () => {
  it('lists misclassified samples with predicted and true labels and softmax probabilities', () => {
    const lin = new Linear(2, 3);
    // logits = [x0, x1, 0]
    lin.getParameter('weight')!.buffer.set([1, 0, 0, 1, 0, 0]);
    lin.getParameter('bias')!.buffer.set([0, 0, 0]);
    const batches = [
      { x: tensor([2, 1, 0, 3], [2, 2]), y: [0, 0] },
      { x: tensor([-1, -2, 1, 5], [2, 2]), y: [2, 1] },
    ];
    const wrong = findMisclassified(lin, batches);
    assert.deepEqual(wrong.map((w) => [w.index, w.predicted, w.label]), [[1, 1, 0]]);
    // softmax([0, 3, 0]): p1 = e^3 / (e^3 + 2), p0 = 1 / (e^3 + 2)
    const e3 = Math.exp(3);
    assertClose([wrong[0].probability, wrong[0].labelProbability], [e3 / (e3 + 2), 1 / (e3 + 2)], 'probabilities', { rtol: 1e-6 });
    assert.deepEqual([...wrong[0].image], [0, 3]);
    const batches2 = [{ x: tensor([0, 3, 0, 3, 0, 3], [3, 2]), y: [0, 0, 0], indices: [7, 8, 9] }];
    assert.deepEqual(findMisclassified(lin, batches2, { k: 2 }).map((w) => w.index), [7, 8]);
    assert.throws(() => findMisclassified(lin, [{ x: tensor([0, 3], [1, 2]), y: [5] }]), /label 5 of sample 0 is not a class in \[0, 3\)/);
  });
});

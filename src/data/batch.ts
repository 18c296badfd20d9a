// Batch assembly, shared by the loader's own thread and its worker threads (batchWorker.ts), so
// both run the very same float operations in the same order: the same batch, bit for bit.
import { Generator } from '../tensor/random.js';
import { transformImages, type Transform } from './transforms.js';

/** What assembly needs of a dataset (a Dataset, or a worker's reader of one). */
export interface BatchInput {
  readonly name: string;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readImage(i: number, out: Float32Array, offset?: number): void;
  readBatch?(indices: ArrayLike<number>, out: Float32Array, offset?: number): void;
}

/** The random generator of batch b of an epoch: a function of (epoch seed, b) only. */
export function batchGenerator(epochSeed: number, b: number): Generator {
  return new Generator((epochSeed ^ Math.imul(b + 1, 0x9e3779b9)) >>> 0);
}

/**
 * A Float32Array of n values whose memory is not zeroed first (Buffer.allocUnsafeSlow: its own
 * ArrayBuffer, transferable): a batch buffer is overwritten whole, and zeroing 6 MB per batch
 * (128 images of 3x64x64) was a tenth of the assembly's time. Callers write every value.
 */
export function uninitializedFloats(n: number): Float32Array {
  const bytes = Buffer.allocUnsafeSlow(n * 4);
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === n * 4 ? new Float32Array(bytes.buffer, 0, n) : new Float32Array(n);
}

/** Reusable float32 space for the untransformed batch (grows to the largest batch seen). */
export class Scratch {
  private buf = new Float32Array(0);

  get(count: number): Float32Array {
    if (this.buf.length < count) this.buf = new Float32Array(count);
    return this.buf;
  }
}

function readInto(ds: BatchInput, indices: Int32Array, out: Float32Array): void {
  if (ds.readBatch !== undefined) {
    ds.readBatch(indices, out, 0);
    return;
  }
  const per = ds.channels * ds.height * ds.width;
  for (let j = 0; j < indices.length; j++) ds.readImage(indices[j], out, j * per);
}

/**
 * Images of samples `indices` as one NCHW float32 array in a fresh buffer (the caller owns it),
 * transformed image by image in order with batchGenerator(epochSeed, b) when a transform is given.
 * `out`, when its length is the batch's, is filled instead of a new buffer (the loader's workers
 * get buffers from the loader's thread, see workers.ts).
 */
export function assembleBatch(
  ds: BatchInput, indices: Int32Array, transform: Transform | undefined, epochSeed: number, b: number, scratch: Scratch, out?: Float32Array,
): { data: Float32Array; shape: [number, number, number, number] } {
  const { channels: c, height: h, width: w } = ds;
  const per = c * h * w;
  const m = indices.length;
  const fresh = (n: number): Float32Array => (out !== undefined && out.length === n ? out : uninitializedFloats(n));
  if (transform === undefined) {
    const data = fresh(m * per);
    readInto(ds, indices, data);
    return { data, shape: [m, c, h, w] };
  }
  const raw = scratch.get(m * per);
  readInto(ds, indices, raw);
  return transformImages(transform, raw, [m, c, h, w], batchGenerator(epochSeed, b), fresh, 'DataLoader');
}

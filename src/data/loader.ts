// DataLoader: seeded, resumable mini-batches of a Dataset as NCHW Tensors.
//
// Order: each epoch starts by saving the loader generator's state, then (shuffle: true) draws a
// permutation of 0..n-1 by Fisher–Yates from it, then one 32-bit epoch seed. Batch b of the epoch
// holds order[b*B .. (b+1)*B) and its random transforms draw from a Generator seeded with
// (epoch seed, b), so a batch depends only on (seed, epoch, b): prefetching, breaking out of a
// loop or resuming from state() give exactly the batches an uninterrupted run would.
//
// Iteration: `batches()` (sync) and `for await (const b of loader)` (async) run the rest of the
// current epoch, or a new epoch when the last one finished. The async form prepares the next
// `prefetch` batches ahead with setImmediate, so their assembly overlaps whatever the training
// step awaits (I/O, timers, logging); synchronous native compute does not overlap with it.
import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import type { Dataset } from './dataset.js';
import { shuffleInPlace } from './split.js';
import type { Transform } from './transforms.js';

export interface Batch {
  /** Images [B, C, H, W]. */
  x: Tensor;
  /** Labels of the batch's samples. */
  y: Int32Array;
  /** Dataset indices of the batch's samples. */
  indices: Int32Array;
}

export interface DataLoaderOptions {
  /** Samples per batch (default 32). */
  batchSize?: number;
  /** New random order each epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Drop the last batch when it has fewer than batchSize samples (default false). */
  dropLast?: boolean;
  /** Seed of the loader's generator (default 0). */
  seed?: number;
  /** Applied to each image (CHW) before batching. */
  transform?: Transform;
  /** Batches prepared ahead by the async iterator (default 1; 0 disables). */
  prefetch?: number;
}

/** A JSON-safe snapshot for resuming (generator states hold null where Generator uses NaN). */
export interface LoaderState {
  /** Epochs completed. */
  epoch: number;
  /** Next batch of the epoch in progress (0 when none is in progress). */
  batch: number;
  /** Generator state at the start of the epoch in progress, or null when none is. */
  epochStart: (number | null)[] | null;
  /** Current generator state. */
  generator: (number | null)[];
}

const toJson = (s: number[]): (number | null)[] => s.map((v) => (Number.isNaN(v) ? null : v));
const fromJson = (s: readonly (number | null)[]): number[] => s.map((v) => (v === null ? NaN : v));

export class DataLoader {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly transform: Transform | undefined;
  readonly prefetch: number;
  private gen: Generator;
  private epochsDone = 0;
  private order: Int32Array | null = null;
  private epochSeed = 0;
  private epochStart: number[] | null = null;
  private nextBatch = 0;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`DataLoader: batchSize must be an integer >= 1, got ${batchSize}`);
    const prefetch = options.prefetch ?? 1;
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError(`DataLoader: prefetch must be an integer >= 0, got ${prefetch}`);
    if (dataset.n < 1) throw new RangeError(`DataLoader: dataset ${dataset.name} is empty`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.transform = options.transform;
    this.prefetch = prefetch;
    this.gen = new Generator(options.seed ?? 0);
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.n;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Epochs completed so far. */
  get epoch(): number {
    return this.epochsDone;
  }

  state(): LoaderState {
    return {
      epoch: this.epochsDone,
      batch: this.order === null ? 0 : this.nextBatch,
      epochStart: this.epochStart === null ? null : toJson(this.epochStart),
      generator: toJson(this.gen.getState()),
    };
  }

  setState(state: LoaderState): void {
    this.epochsDone = state.epoch;
    if (state.epochStart === null) {
      this.gen.setState(fromJson(state.generator));
      this.order = null;
      this.epochStart = null;
      this.nextBatch = 0;
      return;
    }
    if (!Number.isInteger(state.batch) || state.batch < 0 || state.batch > this.length) {
      throw new RangeError(`DataLoader.setState: batch must be in 0..${this.length}, got ${state.batch}`);
    }
    this.gen.setState(fromJson(state.epochStart));
    this.startEpoch();
    this.nextBatch = state.batch;
  }

  private startEpoch(): void {
    this.epochStart = this.gen.getState();
    const order = new Int32Array(this.dataset.n);
    for (let i = 0; i < order.length; i++) order[i] = i;
    if (this.shuffle) shuffleInPlace(order, this.gen);
    this.order = order;
    this.epochSeed = this.gen.nextU32();
    this.nextBatch = 0;
  }

  /** Marks batch b as handed out; ends the epoch after its last batch. */
  private advance(): void {
    this.nextBatch++;
    if (this.nextBatch >= this.length) {
      this.order = null;
      this.epochStart = null;
      this.nextBatch = 0;
      this.epochsDone++;
    }
  }

  /** Builds batch b of the epoch in progress (a pure function of the epoch and b). */
  private makeBatch(order: Int32Array, epochSeed: number, b: number): Batch {
    const ds = this.dataset;
    const start = b * this.batchSize;
    const indices = order.slice(start, Math.min(start + this.batchSize, order.length));
    const m = indices.length;
    const y = new Int32Array(m);
    for (let j = 0; j < m; j++) y[j] = ds.labels[indices[j]];
    const { channels: c, height: h, width: w } = ds;
    const per = c * h * w;
    if (this.transform === undefined) {
      const buf = new Float32Array(m * per);
      for (let j = 0; j < m; j++) ds.readImage(indices[j], buf, j * per);
      return { x: new Tensor(buf, [m, c, h, w]), y, indices };
    }
    const gen = new Generator((epochSeed ^ Math.imul(b + 1, 0x9e3779b9)) >>> 0);
    const img = new Float32Array(per);
    let buf: Float32Array | null = null;
    let shape: number[] = [];
    for (let j = 0; j < m; j++) {
      ds.readImage(indices[j], img, 0);
      const r = this.transform({ data: img, channels: c, height: h, width: w }, gen);
      if (buf === null) {
        shape = [m, r.channels, r.height, r.width];
        buf = new Float32Array(m * r.data.length);
      } else if (r.channels !== shape[1] || r.height !== shape[2] || r.width !== shape[3]) {
        throw new RangeError(`DataLoader: transform gave image ${j} shape [${r.channels}, ${r.height}, ${r.width}], image 0 [${shape.slice(1).join(', ')}]`);
      }
      buf.set(r.data, j * r.data.length);
    }
    return { x: new Tensor(buf!, shape), y, indices };
  }

  /** The remaining batches of the current epoch (a new epoch if none is in progress). */
  *batches(): IterableIterator<Batch> {
    if (this.order === null) this.startEpoch();
    const order = this.order!;
    const seed = this.epochSeed;
    const total = this.length;
    for (let b = this.nextBatch; b < total; b++) {
      const batch = this.makeBatch(order, seed, b);
      this.advance();
      yield batch;
    }
  }

  /** As batches(), preparing the next `prefetch` batches ahead on the event loop. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Batch> {
    if (this.order === null) this.startEpoch();
    const order = this.order!;
    const seed = this.epochSeed;
    const total = this.length;
    const later = (b: number): Promise<Batch> =>
      new Promise((resolve, reject) => {
        setImmediate(() => {
          try {
            resolve(this.makeBatch(order, seed, b));
          } catch (e) {
            reject(e);
          }
        });
      });
    const queue: Promise<Batch>[] = [];
    let queued = this.nextBatch;
    const fill = (): void => {
      while (queued < total && queue.length < Math.max(1, this.prefetch)) queue.push(later(queued++));
    };
    const discard = (): void => {
      for (const p of queue) p.catch(() => undefined);
    };
    try {
      fill();
      while (queue.length > 0) {
        const batch = await queue.shift()!;
        this.advance();
        if (this.prefetch > 0) fill();
        yield batch;
        if (this.prefetch === 0) fill();
      }
    } finally {
      discard();
    }
  }
}

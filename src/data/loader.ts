// DataLoader: seeded, resumable mini-batches of a Dataset as NCHW Tensors.
//
// Order: each epoch starts by saving the loader generator's state, then (shuffle: true) draws a
// permutation of 0..n-1 by Fisher–Yates from it, then one 32-bit epoch seed. Batch b of the epoch
// holds order[b*B .. (b+1)*B) and its random transforms draw from a Generator seeded with
// (epoch seed, b), so a batch depends only on (seed, epoch, b): prefetching, worker threads,
// breaking out of a loop or resuming from state() give exactly the batches an uninterrupted run
// on one thread would.
//
// Iteration: `batches()` (sync) and `for await (const b of loader)` (async) run the rest of the
// current epoch, or a new epoch when the last one finished.
//
// Worker threads (`workers` > 0): batches are assembled (read, converted, transformed) on worker
// threads, `prefetch` batches ahead of the one the caller holds, so their assembly overlaps the
// caller's compute even when that compute is synchronous native code (the trainer's case; see
// workers.ts for how the sync iterator waits without an event loop). This needs a dataset that a
// thread can open itself (workerSource(): image folders) and a transform made by the factories
// of transforms.ts (they carry a spec a thread can rebuild); the default, 'auto', uses one or two
// workers (a core is left to the caller) when both hold and the caller's thread otherwise. Without workers, the async iterator
// prepares `prefetch` batches ahead with setImmediate, which overlaps only what the caller awaits.
//
// Worker lifetime: started on the first epoch and kept between epochs; stopped when an iterator
// ends early (break, an error in the loop or in a worker), by close(), or after IDLE_CLOSE_MS
// without an epoch once control is back on the event loop. They never keep a process alive.
import { availableParallelism } from 'node:os';
import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { assembleBatch, Scratch, uninitializedFloats } from './batch.js';
import type { Dataset } from './dataset.js';
import { shuffleInPlace } from './split.js';
import type { Transform } from './transforms.js';
import { BatchWorkers } from './workers.js';

/** Idle workers (no epoch running) are stopped after this long with the event loop turning. */
const IDLE_CLOSE_MS = 2000;
/**
 * Most workers that workers: 'auto' uses: one batch is short work (a few ms at 128 x 3 x 64 x 64),
 * and more threads mostly compete with the caller's native compute threads.
 */
const AUTO_WORKERS = 2;

/**
 * workers: 'auto': one core is left to the caller's thread. Measured on 2 cores (shared): two
 * workers converting at once took 1.4x the CPU time of one (~1,000 vs ~700 ms per epoch of
 * 20,000 images of 3x64x64), as the two threads share one core's caches and memory bandwidth.
 */
function autoWorkers(): number {
  return Math.min(AUTO_WORKERS, Math.max(1, availableParallelism() - 1));
}

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
  /**
   * Batches prepared ahead of the one the caller holds: by the worker threads, or by the async
   * iterator on the event loop without workers (default: max(2, workers) with workers, else 1;
   * 0 prepares each batch only when asked for).
   */
  prefetch?: number;
  /**
   * Worker threads assembling batches: a count, 0 for the caller's thread, or 'auto' (default):
   * min(2, cores - 1), at least 1, when the dataset can be read from a thread (image folders) and
   * the transform is made by data's transform factories, else 0. A count > 0 that cannot be
   * honoured is an error.
   */
  workers?: number | 'auto';
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
  /** Worker threads used (0: batches are assembled on the caller's thread). */
  readonly workers: number;
  private gen: Generator;
  private epochsDone = 0;
  private order: Int32Array | null = null;
  private epochSeed = 0;
  private epochStart: number[] | null = null;
  private nextBatch = 0;
  private readonly scratch = new Scratch();
  private pool: BatchWorkers | null = null;
  private readonly closing: Promise<void>[] = [];
  private idleTimer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  /** Values per image of the last batch handed out. */
  private lastPerImage = 0;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`DataLoader: batchSize must be an integer >= 1, got ${batchSize}`);
    if (dataset.n < 1) throw new RangeError(`DataLoader: dataset ${dataset.name} is empty`);
    const workers = resolveWorkers(dataset, options.transform, options.workers ?? 'auto');
    const prefetch = options.prefetch ?? (workers > 0 ? Math.max(2, workers) : 1);
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError(`DataLoader: prefetch must be an integer >= 0, got ${prefetch}`);
    this.workers = workers;
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

  /** The sample indices of batch b. */
  private indicesOf(order: Int32Array, b: number): Int32Array {
    const start = b * this.batchSize;
    return order.slice(start, Math.min(start + this.batchSize, order.length));
  }

  private toBatch(indices: Int32Array, data: Float32Array, shape: readonly number[]): Batch {
    this.lastPerImage = indices.length > 0 ? data.length / indices.length : 0;
    const y = new Int32Array(indices.length);
    for (let j = 0; j < indices.length; j++) y[j] = this.dataset.labels[indices[j]];
    return { x: new Tensor(data, shape), y, indices };
  }

  /** Builds batch b of the epoch in progress on this thread (a pure function of the epoch and b). */
  private makeBatch(order: Int32Array, epochSeed: number, b: number): Batch {
    const indices = this.indicesOf(order, b);
    const r = assembleBatch(this.dataset, indices, this.transform, epochSeed, b, this.scratch);
    return this.toBatch(indices, r.data, r.shape);
  }

  /** The running worker pool (started on first use; idle-close timer cancelled). */
  private startWorkers(): BatchWorkers {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.pool === null || this.pool.isClosed) {
      this.pool = new BatchWorkers(this.dataset.workerSource!(), this.transform?.spec ?? null, this.workers);
    }
    return this.pool;
  }

  private stopWorkers(): void {
    if (this.pool === null) return;
    const closed = this.pool.close();
    this.closing.push(closed);
    void closed.then(() => this.closing.splice(this.closing.indexOf(closed), 1));
    this.pool = null;
    this.inFlight = 0;
  }

  /** After a complete epoch: the pool stays for the next one, unless the loop sits idle. */
  private idleWorkers(): void {
    if (this.pool === null) return;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      this.stopWorkers();
    }, IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  /**
   * The worker-side epoch: keeps batches b+1 .. b+prefetch requested while the caller holds b
   * (the bounded queue), and hands replies out in batch order.
   */
  private *workerEpoch(take: (pool: BatchWorkers, b: number, id: number) => unknown): IterableIterator<{ b: number; indices: Int32Array; got: unknown }> {
    const order = this.order!;
    const seed = this.epochSeed;
    const total = this.length;
    const pool = this.startWorkers();
    const ids = new Map<number, { id: number; indices: Int32Array }>();
    // Values per output image: known without a transform, else learnt from the last reply (a
    // request without a buffer of the right size makes the worker allocate one).
    let perImage = this.transform === undefined ? this.dataset.channels * this.dataset.height * this.dataset.width : 0;
    let requested = this.nextBatch;
    let finished = false;
    try {
      for (let b = this.nextBatch; b < total; b++) {
        while (requested < total && requested <= b + this.prefetch) {
          const indices = this.indicesOf(order, requested);
          const out = perImage > 0 ? uninitializedFloats(indices.length * perImage) : null;
          ids.set(requested, { id: pool.request(requested, indices, seed, out), indices });
          requested++;
        }
        this.inFlight = requested - b;
        const { id, indices } = ids.get(b)!;
        ids.delete(b);
        const got = take(pool, b, id);
        yield { b, indices, got };
        if (perImage === 0) perImage = this.lastPerImage;
      }
      finished = true;
    } finally {
      this.inFlight = 0;
      if (finished) this.idleWorkers();
      else this.stopWorkers();
    }
  }

  /** The remaining batches of the current epoch (a new epoch if none is in progress). */
  *batches(): IterableIterator<Batch> {
    if (this.order === null) this.startEpoch();
    if (this.workers > 0) {
      for (const { indices, got } of this.workerEpoch((pool, b, id) => pool.take(b, id))) {
        const r = got as { data: Float32Array; shape: number[] };
        const batch = this.toBatch(indices, r.data, r.shape);
        this.advance();
        yield batch;
      }
      return;
    }
    const order = this.order!;
    const seed = this.epochSeed;
    const total = this.length;
    for (let b = this.nextBatch; b < total; b++) {
      const batch = this.makeBatch(order, seed, b);
      this.advance();
      yield batch;
    }
  }

  /** As batches(), preparing the next `prefetch` batches ahead (worker threads, or the event loop). */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Batch> {
    if (this.order === null) this.startEpoch();
    if (this.workers > 0) {
      for (const { indices, got } of this.workerEpoch((pool, b, id) => pool.takeAsync(b, id))) {
        const r = await (got as Promise<{ data: Float32Array; shape: number[] }>);
        const batch = this.toBatch(indices, r.data, r.shape);
        this.advance();
        yield batch;
      }
      return;
    }
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

  /** Worker threads running now (0 without workers, and after close() or an early stop). */
  get activeWorkers(): number {
    return this.pool === null ? 0 : this.workers;
  }

  /**
   * Batches requested from the workers and not yet handed out, counting the one being handed
   * out: at most prefetch + 1 (the bound on the memory that prefetching holds).
   */
  get queued(): number {
    return this.inFlight;
  }

  /** Stops the worker threads (if any); resolves once every thread this loader started has exited. */
  async close(): Promise<void> {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.stopWorkers();
    await Promise.all(this.closing);
  }
}

/** The worker count for the `workers` option (see DataLoaderOptions.workers). */
function resolveWorkers(dataset: Dataset, transform: Transform | undefined, option: number | 'auto'): number {
  const readable = typeof dataset.workerSource === 'function';
  const describable = transform === undefined || transform.spec !== undefined;
  if (option === 'auto') return readable && describable ? autoWorkers() : 0;
  if (!Number.isInteger(option) || option < 0) throw new RangeError(`DataLoader: workers must be 'auto' or an integer >= 0, got ${String(option)}`);
  if (option > 0 && !readable) {
    throw new RangeError(`DataLoader: workers: ${option} needs a dataset that worker threads can read (an image folder); ${dataset.name} has no workerSource() (in-memory data): use workers: 0`);
  }
  if (option > 0 && !describable) {
    throw new RangeError(`DataLoader: workers: ${option} needs a transform made by data's transform factories (compose, randomCrop, ...); got a hand-written function, which cannot be sent to a thread: use workers: 0`);
  }
  return option;
}

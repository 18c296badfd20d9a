// The DataLoader's worker threads (node:worker_threads), main-thread side.
//
// Why this protocol: the trainer iterates batches synchronously while native kernels compute, so
// the loader's thread has no event loop turn in which a 'message' event could arrive. Each worker
// therefore gets its own MessageChannel whose main end is never started; results are pulled with
// receiveMessageOnPort, and a SharedArrayBuffer holds one signal word per worker that the worker
// bumps (Atomics.notify) after each reply, so the loader sleeps in Atomics.wait (or
// Atomics.waitAsync in the async iterator) instead of spinning. Replies transfer their float32
// buffer: nothing is copied between threads.
//
// Signal words: [0, count) reply counters, [count, 2 count) "worker exited" flags (set by the
// worker's own exit handler, since the Worker 'exit' event needs the event loop), 2 count: cancel.
//
// Order: batch b goes to worker b mod count, and each worker answers in request order, so the
// next reply on a worker's port is the oldest request it has not answered. Request ids grow
// monotonically; replies to requests of an abandoned iterator (lower ids) are dropped.
//
// Memory: each request carries the output buffer, allocated here and transferred both ways. Had
// the workers allocated them, glibc would serve them from the workers' arenas, whose heaps are
// at most 64 MB: with V8's slack before it collects dead batches, one worker's arena kept being
// unmapped and faulted in again (60,000 page faults per epoch measured at 20,000 images).
//
// Lifetime: workers are unref()'d, so idle ones never keep a process alive; close() cancels the
// queued requests, asks each worker to close its file and port (it then exits by itself, with its
// file descriptor closed, which terminate() would leak) and terminates any that has not exited
// after CLOSE_GRACE_MS.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { WorkerSource } from './dataset.js';
import type { TransformSpec } from './transforms.js';

export type WorkerRequest =
  | { type: 'batch'; id: number; b: number; indices: Int32Array; seed: number; out: Float32Array | null }
  | { type: 'close' };

export type WorkerReply =
  | { id: number; b: number; data: Float32Array; shape: [number, number, number, number]; error?: undefined }
  | { id: number; b: number; error: { name: string; message: string; stack: string } };

const CLOSE_GRACE_MS = 5000;

// Atomics.waitAsync is in Node >= 16 (V8), but in TypeScript's lib only from ES2024.
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;
/** Longest single sleep before checking whether the worker is still alive. */
const POLL_MS = 500;

/** An error raised in a loader worker thread, re-thrown on the loader's thread. */
export class LoaderWorkerError extends Error {
  /** The error's stack in the worker. */
  readonly workerStack: string;

  constructor(message: string, workerStack: string) {
    super(message);
    this.name = 'LoaderWorkerError';
    this.workerStack = workerStack;
  }
}

export class BatchWorkers {
  readonly count: number;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly signal: Int32Array;
  private readonly exited: Promise<void>[] = [];
  private readonly failures: (Error | null)[] = [];
  private nextId = 0;
  private closed: Promise<void> | null = null;

  constructor(source: WorkerSource, transform: TransformSpec | null, count: number) {
    this.count = count;
    this.signal = new Int32Array(new SharedArrayBuffer(4 * (2 * count + 1)));
    const entry = new URL('./batchWorker.js', import.meta.url);
    // A worker whose entry file is missing (sources run without compiling) would fail in an event
    // the blocked loader never sees; say so here instead.
    if (!existsSync(fileURLToPath(entry))) {
      throw new Error(`DataLoader: worker entry ${fileURLToPath(entry)} does not exist (run the compiled package, or use workers: 0)`);
    }
    for (let slot = 0; slot < count; slot++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(entry, {
        workerData: { port: port2, signal: this.signal, slot, count, source, transform },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      this.failures.push(null);
      // A failure outside the request handler (the thread could not start): recorded, and the
      // exit flag wakes a waiting take().
      worker.on('error', (e) => {
        this.failures[slot] = e;
      });
      this.exited.push(new Promise((resolve) => worker.once('exit', () => {
        Atomics.store(this.signal, count + slot, 1);
        Atomics.notify(this.signal, slot);
        port1.close();
        resolve();
      })));
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /**
   * Asks for batch b (the indices of its samples, the epoch seed) to be written into `out` (the
   * worker allocates when out is null or of another size); returns the request id.
   */
  request(b: number, indices: Int32Array, seed: number, out: Float32Array | null): number {
    if (this.closed !== null) throw new Error(`DataLoader: request for batch ${b} after the workers were closed`);
    const id = this.nextId++;
    const message: WorkerRequest = { type: 'batch', id, b, indices, seed, out };
    this.ports[b % this.count].postMessage(message, out === null ? [] : [out.buffer as ArrayBuffer]);
    return id;
  }

  /** The reply to request id if it has arrived (dropping stale ones), else null. */
  private poll(fn: string, b: number, id: number): { data: Float32Array; shape: number[] } | null {
    const w = b % this.count;
    for (;;) {
      const got = receiveMessageOnPort(this.ports[w]);
      if (got === undefined) break;
      const reply = got.message as WorkerReply;
      if (reply.id < id) continue;
      if (reply.id !== id) throw new Error(`${fn}: worker ${w} answered request ${reply.id} (batch ${reply.b}) while request ${id} (batch ${b}) was due`);
      if (reply.error !== undefined) {
        const e = reply.error;
        throw new LoaderWorkerError(`${fn}: worker ${w} failed on batch ${b}: ${e.name}: ${e.message}`, e.stack);
      }
      return { data: reply.data, shape: reply.shape };
    }
    if (Atomics.load(this.signal, this.count + w) !== 0) {
      const why = this.failures[w]?.message ?? 'it exited';
      throw new LoaderWorkerError(`${fn}: worker ${w} stopped before sending batch ${b}: ${why}`, this.failures[w]?.stack ?? '');
    }
    return null;
  }

  /** Blocks until the reply to request id (batch b) arrives. */
  take(b: number, id: number): { data: Float32Array; shape: number[] } {
    const w = b % this.count;
    for (;;) {
      // Read the counter before polling: a reply posted after the poll changes it, so the wait
      // returns at once instead of sleeping through it.
      const seen = Atomics.load(this.signal, w);
      const r = this.poll('DataLoader.batches', b, id);
      if (r !== null) return r;
      Atomics.wait(this.signal, w, seen, POLL_MS);
    }
  }

  /** As take, without blocking the event loop. */
  async takeAsync(b: number, id: number): Promise<{ data: Float32Array; shape: number[] }> {
    const w = b % this.count;
    for (;;) {
      const seen = Atomics.load(this.signal, w);
      const r = this.poll('DataLoader[Symbol.asyncIterator]', b, id);
      if (r !== null) return r;
      const waiting = waitAsync(this.signal, w, seen, POLL_MS);
      if (!waiting.async) continue;
      // A pending waitAsync does not keep the process alive; the worker does while referenced.
      this.workers[w].ref();
      try {
        await waiting.value;
      } finally {
        this.workers[w].unref();
      }
    }
  }

  /** Cancels queued requests and stops the threads; resolves once all have exited. */
  close(): Promise<void> {
    if (this.closed === null) {
      Atomics.store(this.signal, 2 * this.count, 1);
      this.workers.forEach((worker, w) => {
        this.ports[w].postMessage({ type: 'close' } satisfies WorkerRequest);
        // Referenced while closing, so that awaiting close() keeps the process alive until then.
        worker.ref();
        const force = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS);
        force.unref();
        void this.exited[w].then(() => clearTimeout(force));
      });
      this.closed = Promise.all(this.exited).then(() => undefined);
    }
    return this.closed;
  }

  get isClosed(): boolean {
    return this.closed !== null;
  }
}

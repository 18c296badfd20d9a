// Entry point of a DataLoader worker thread (see workers.ts for the protocol). It opens its own
// reader of the dataset (its own file descriptor), rebuilds the transform from its spec, and
// answers batch requests in the order they come: assembleBatch, then the float32 buffer is
// transferred (not copied) to the loader's thread, and the shared signal word is bumped so that a
// loader blocked in Atomics.wait wakes up.
//
// Only node built-ins are imported statically: the project's modules are imported inside a try,
// so that a failure to load or open them is answered to every request as an error instead of a
// worker that dies while the loader's thread waits for it without an event loop.
import { workerData, type MessagePort } from 'node:worker_threads';
import type { WorkerSource } from './dataset.js';
import type { TransformSpec } from './transforms.js';
import type { WorkerReply, WorkerRequest } from './workers.js';

interface Init {
  port: MessagePort;
  signal: Int32Array;
  slot: number;
  count: number;
  source: WorkerSource;
  transform: TransformSpec | null;
}

const { port, signal, slot, count, source, transform: spec } = workerData as Init;

function wake(): void {
  Atomics.add(signal, slot, 1);
  Atomics.notify(signal, slot);
}

function post(reply: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(reply, transfer);
  wake();
}

process.on('exit', () => {
  Atomics.store(signal, count + slot, 1);
  wake();
});

const describe = (e: unknown): { name: string; message: string; stack: string } =>
  e instanceof Error ? { name: e.name, message: e.message, stack: e.stack ?? '' } : { name: 'Error', message: String(e), stack: '' };

let setupError: unknown = null;
let handle: ((req: Extract<WorkerRequest, { type: 'batch' }>) => void) | null = null;
let closeReader = (): void => undefined;
try {
  const [{ openWorkerSource }, { transformFromSpec }, { assembleBatch, Scratch }] = await Promise.all([
    import('./folder.js'), import('./transforms.js'), import('./batch.js'),
  ]);
  const reader = openWorkerSource(source);
  closeReader = () => reader.close();
  const transform = spec === null ? undefined : transformFromSpec(spec);
  const scratch = new Scratch();
  handle = (req) => {
    const r = assembleBatch(reader, req.indices, transform, req.seed, req.b, scratch, req.out ?? undefined);
    post({ id: req.id, b: req.b, data: r.data, shape: r.shape }, [r.data.buffer as ArrayBuffer]);
  };
} catch (e) {
  setupError = e;
}

port.on('message', (req: WorkerRequest) => {
  if (req.type === 'close') {
    closeReader();
    port.close();
    return;
  }
  // Cancelled (the loader's iterator stopped early): skip the requests still queued.
  if (Atomics.load(signal, 2 * count) !== 0) return;
  try {
    if (handle === null) throw setupError;
    handle(req);
  } catch (e) {
    post({ id: req.id, b: req.b, error: describe(e) });
  }
});

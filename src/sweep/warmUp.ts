// A sweep worker's run process trains a small throw-away model before it reports ready. V8
// compiles the engine's hot JavaScript (tensor ops, autograd, optimizer, loader) to optimized code
// only after it has run for a while, so without this the first job of every run process paid
// about 100-300 ms more than the next ones (measured on quick fbn-batch-sweep runs of ~0.4 s,
// more when two run processes warm up on 2 cores at once). Measured with one thread, first job
// after the warm-up vs the steady ~370 ms: none 700 ms, 1 epoch of 384 digits 460-520 ms, 3
// epochs (~350 ms of warm-up, the choice here) ~405 ms. A worker waits for jobs anyway, so
// the warm-up costs the sweep nothing; it also loads the bundled MNIST subset into the process's
// dataset cache, which the quick experiments train on.
import { runTraining } from '../train/run.js';

/** Trains fbn-mnist with BN and with FBN for three short epochs each (384 digits) on the bundled digits; returns the time it took in ms. */
export async function warmUpRunProcess(): Promise<number> {
  const t0 = performance.now();
  for (const norm of ['bn', { kind: 'fbn', threshold: 4 }] as const) {
    await runTraining({ network: 'fbn-mnist', dataset: 'mnist-bundled', norm, trainLimit: 384, testLimit: 64, batchSize: 32, epochs: 3 }, { progress: 'none', checkpoints: false });
  }
  return performance.now() - t0;
}

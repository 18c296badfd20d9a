// A sweep worker's run process trains a few small throw-away runs before it reports ready. V8
// compiles the engine's hot JavaScript (tensor ops, autograd, optimizer, loader, the run's record
// and metrics) to optimized code only after it has run for a while, so without this the first
// job of every run process paid about 100-300 ms more than the next ones (measured on quick
// fbn-batch-sweep runs of ~0.4 s, more when two run processes warm up on 2 cores at once). A
// worker waits for jobs anyway, so the warm-up costs the sweep nothing; it also loads the
// bundled MNIST subset into the process's dataset cache, which the quick experiments train on.
// The runs go through executeRun, as jobs do: a warm-up of bare runTraining calls (2 x 3 epochs)
// still left the first job ~130 ms slower when two workers started together, since recording a
// run and evaluating on its test set stayed cold. Measured with one thread after this warm-up
// (~0.4 s): first job 357-361 ms, next ones 335-368 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expand } from '../experiments/experiment.js';
import { executeRun } from '../experiments/execute.js';
import { getExperiment } from '../experiments/registry.js';
import { resolveConfig } from '../experiments/runExperiment.js';

/**
 * Runs fbn-batch-sweep's quick runs shortened to 2 epochs of 384 digits (BN and FBN T = 4, batch
 * 64 and 32) as a job would run them (executeRun, in a temp folder removed afterwards); returns
 * the time it took in ms.
 */
export async function warmUpRunProcess(): Promise<number> {
  const t0 = performance.now();
  const exp = getExperiment('fbn-batch-sweep');
  const config = resolveConfig(exp.name, { mode: 'quick', sets: ['batchSizes=64,32', 'thresholds=4', 'epochs=2', 'trainLimit=384', 'testLimit=128'] });
  const dir = mkdtempSync(join(tmpdir(), 'normlab-warm-up-'));
  try {
    for (const spec of expand(exp, config)) await executeRun(spec, join(dir, spec.id), { threads: 1, checkpoints: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return performance.now() - t0;
}

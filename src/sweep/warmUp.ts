// A sweep worker's run process trains a few throw-away runs before it reports ready. V8 compiles
// the engine's hot JavaScript (tensor ops, autograd, optimizer, loader, the run's record and
// metrics) to optimized code only after it has run for a while, and it compiles on background
// threads. A job that runs while that is still going on pays twice when every core trains: once
// in slower unoptimized code, once in compile threads that take CPU from the other worker on the
// machine. A worker waits for jobs anyway, so the warm-up costs the sweep nothing; it also loads
// the bundled MNIST subset into the process's dataset cache, which the quick experiments train on.
//
// How long: the thin per-step wrappers (relu, reshape, crossEntropy, the optimizer's step) spend
// their time in native kernels, so V8's tier-up budget, counted in bytecode executed, runs out
// only after a few thousand calls. Measured on the bench's 8 quick fbn-batch-sweep runs (6 epochs,
// 1 thread, `node --trace-opt`): after 2 epochs of 384 digits (0.45 s), V8 still compiled 42
// functions (235 ms of compile-thread CPU) during those runs, and the process's background threads
// took 250 ms besides the 2.9 s of training; after the full quick runs below (1.6 s), 21 functions
// (106 ms) and 110-140 ms. Twice as long a warm-up took that only to 110-130 ms.
// The runs go through executeRun, as jobs do, so recording a run and evaluating on its test set
// are warm too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expand } from '../experiments/experiment.js';
import { executeRun } from '../experiments/execute.js';
import { getExperiment } from '../experiments/registry.js';
import { resolveConfig } from '../experiments/runExperiment.js';

/**
 * Runs fbn-batch-sweep's quick runs for BN and FBN T = 4 at batch 64 and 32 (6 epochs of 600
 * digits) as a job would run them (executeRun, in a temp folder removed afterwards); returns the
 * time it took in ms.
 */
export async function warmUpRunProcess(): Promise<number> {
  const t0 = performance.now();
  const exp = getExperiment('fbn-batch-sweep');
  const config = resolveConfig(exp.name, { mode: 'quick', sets: ['batchSizes=64,32', 'thresholds=4', 'epochs=6'] });
  const dir = mkdtempSync(join(tmpdir(), 'normlab-warm-up-'));
  try {
    for (const spec of expand(exp, config)) await executeRun(spec, join(dir, spec.id), { threads: 1, checkpoints: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return performance.now() - t0;
}

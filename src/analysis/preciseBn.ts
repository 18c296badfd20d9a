// Precise BN (Wu & Johnson 2021, "Rethinking Batch in BatchNorm"; fvcore's update_bn_stats):
// after training, replace every layer's running statistics, an exponential average dominated by
// the last batches of weights that kept changing, by the plain average over K batches of the
// final model's batch statistics: running_mean = (1/K) sum_k mean_k, running_var = (1/K)
// sum_k unbiased_var_k. Also the train-mode vs eval-mode accuracy of a model (the gap that
// stale running statistics open).
import { noGrad } from '../autograd/graph.js';
import type { Module } from '../nn/module.js';
import { RunningStats } from '../nn/norm/running_stats.js';
import type { Tensor } from '../tensor/tensor.js';
import { countCorrect } from './accuracy.js';
import { assignValues, copyValues } from '../tensor/assign.js';

/** Batches with an input (labels where accuracy is needed): a DataLoader or any iterable. */
export type BatchesOf<B> = { batches(): Iterable<B> } | { epoch(): Iterable<B> } | Iterable<B>;

function iterate<B>(source: BatchesOf<B>): Iterable<B> {
  if (Symbol.iterator in source) return source;
  return 'batches' in source ? source.batches() : source.epoch();
}

/** The layers whose running statistics precise BN recomputes. */
export function runningStatsLayers(model: Module): RunningStats[] {
  return model.modules().filter((m): m is RunningStats => m instanceof RunningStats && m.trackRunningStats);
}

type Mutable = { momentum: number | null };

/**
 * Recomputes the running statistics of every BN-family layer of `model` (those with running
 * statistics) as the average over the first `batches` batches of `source`, without gradients and
 * with every other module in eval mode (dropout off). The layers' other buffers (num_batches_tracked,
 * Batch Renorm's renorm buffers) and the training flags are restored. Returns the number of
 * batches used (fewer when the source ends first).
 */
export function preciseBn(model: Module, source: BatchesOf<{ x: Tensor }>, batches: number): number {
  if (!Number.isInteger(batches) || batches < 1) throw new RangeError(`preciseBn: batches must be an integer >= 1, got ${batches}`);
  const layers = runningStatsLayers(model);
  if (layers.length === 0) throw new Error('preciseBn: the model has no normalization layer with running statistics');
  const flags = model.modules().map((m) => [m, m.training] as const);
  const saved = layers.map((l) => ({
    momentum: l.momentum,
    frozen: l.statsFrozen,
    // Saved and restored on their device (copies of the values, no host read).
    others: Object.entries(l.stateDict()).filter(([k]) => k !== 'running_mean' && k !== 'running_var').map(([, t]) => [t, t.detach().clone()] as const),
  }));
  model.eval();
  for (const l of layers) {
    // momentum null: the running statistics become the cumulative average of the batches seen
    // from here (factor 1 / num_batches_tracked), so the first batch overwrites the old values.
    (l as unknown as Mutable).momentum = null;
    assignValues(l.numBatchesTracked!, [0]);
    l.statsFrozen = false;
    l.training = true;
  }
  let used = 0;
  try {
    noGrad(() => {
      for (const b of iterate(source)) {
        if (used === batches) break;
        model.call(b.x.to(model.device));
        used++;
      }
    });
  } finally {
    layers.forEach((l, i) => {
      (l as unknown as Mutable).momentum = saved[i].momentum;
      l.statsFrozen = saved[i].frozen;
      for (const [t, v] of saved[i].others) copyValues(t, v);
    });
    for (const [m, t] of flags) m.training = t;
  }
  return used;
}

/**
 * Accuracy of `model` over `source` in eval mode (running statistics) and in train mode (each
 * batch normalized with its own statistics, dropout off), leaving every running statistic and
 * training flag as it was: evalAcc - trainAcc is the gap stale or mismatched running
 * statistics cost. `evalMode: false` skips the eval-mode pass (evalModeAcc is then NaN), for
 * callers that already have it.
 */
export function trainEvalAccuracy(
  model: Module, source: BatchesOf<{ x: Tensor; y: Int32Array }>, options: { evalMode?: boolean } = {},
): { trainModeAcc: number; evalModeAcc: number; samples: number } {
  const r = trainEvalPass(model, source, options);
  // Metric read: the end of the pass.
  const count = (sum: Tensor | null): number => (sum === null ? 0 : sum.item());
  return { trainModeAcc: count(r.trainCorrect) / Math.max(1, r.n), evalModeAcc: r.withEval ? count(r.evalCorrect) / Math.max(1, r.n) : NaN, samples: r.n };
}

/** trainEvalAccuracy on any device: the two counts are read asynchronously at the end. */
export async function trainEvalAccuracyAsync(
  model: Module, source: BatchesOf<{ x: Tensor; y: Int32Array }>, options: { evalMode?: boolean } = {},
): Promise<{ trainModeAcc: number; evalModeAcc: number; samples: number }> {
  const r = trainEvalPass(model, source, options);
  // Metric read: the end of the pass.
  const count = async (sum: Tensor | null): Promise<number> => (sum === null ? 0 : sum.itemAsync());
  return { trainModeAcc: (await count(r.trainCorrect)) / Math.max(1, r.n), evalModeAcc: r.withEval ? (await count(r.evalCorrect)) / Math.max(1, r.n) : NaN, samples: r.n };
}

function trainEvalPass(
  model: Module, source: BatchesOf<{ x: Tensor; y: Int32Array }>, options: { evalMode?: boolean },
): { trainCorrect: Tensor | null; evalCorrect: Tensor | null; n: number; withEval: boolean } {
  const withEval = options.evalMode ?? true;
  const layers = runningStatsLayers(model);
  const flags = model.modules().map((m) => [m, m.training] as const);
  const state = layers.flatMap((l) => Object.values(l.stateDict())).map((t) => [t, t.detach().clone()] as const);
  // Correct counts add up on the model's device (exact integers in float32 up to 2^24 samples)
  // and are read once at the end.
  let trainCorrect: Tensor | null = null;
  let evalCorrect: Tensor | null = null;
  let n = 0;
  const plus = (sum: Tensor | null, c: Tensor): Tensor => (sum === null ? c : sum.add(c));
  try {
    noGrad(() => {
      for (const b of iterate(source)) {
        const x = b.x.to(model.device);
        model.eval();
        if (withEval) evalCorrect = plus(evalCorrect, countCorrect(model.call(x), b.y));
        for (const l of layers) l.training = true;
        trainCorrect = plus(trainCorrect, countCorrect(model.call(x), b.y));
        for (const [t, v] of state) copyValues(t, v);
        n += b.y.length;
      }
    });
  } finally {
    for (const [t, v] of state) copyValues(t, v);
    for (const [m, t] of flags) m.training = t;
  }
  return { trainCorrect, evalCorrect, n, withEval };
}

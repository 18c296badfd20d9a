// The order in which schedulers hand out runs: longest expected first (LPT). A sweep's runs are
// unequal (a smaller batch means more steps over the same samples, more epochs mean more of
// both), and with N workers taking runs in the given order the sweep ends when the last long run
// ends. Handing out the long runs first leaves the short ones to fill the gaps at the end, so
// the makespan comes close to (total work) / N; LPT's worst case is 4/3 of the optimum, against
// nearly 2x for an order that happens to put a long run last.
//
// The estimate only has to rank runs of one sweep, which normally share network and dataset, so
// it counts samples and steps and nothing about the network:
//   cost = epochs * (trainSamples + ceil(trainSamples / batchSize) * STEP_SAMPLES + evalSamples * EVAL_WEIGHT)
// (with stepsPerEpoch S: trainSamples = S * batchSize and S steps).
// Measured on the quick fbn-mnist runs with 1 thread: a step's fixed work (optimizer update,
// autograd graph, kernel calls) costs about as much as training 8 more samples (about 1.1 ms
// against 0.13 ms per sample), and evaluating a sample (forward only, once per epoch) about a
// third of training one.
import type { RunSpec } from './experiment.js';
import type { TrainConfig } from '../train/run.js';

/**
 * The defaults of train/run.ts's DEFAULT_CONFIG that the estimate reads, repeated here so that
 * enqueuing a sweep does not load the training engine (a test checks they agree).
 */
export const COST_DEFAULTS: Pick<TrainConfig, 'dataset' | 'batchSize' | 'epochs' | 'trainLimit' | 'testLimit' | 'valSplit'> = {
  dataset: 'mnist-bundled', batchSize: 64, epochs: 1, trainLimit: 0, testLimit: 0, valSplit: 0,
};

/** Fixed work of one training step, in samples' worth of training. */
export const STEP_SAMPLES = 8;
/** Work of evaluating one sample, relative to training one. */
export const EVAL_WEIGHT = 1 / 3;

/** Train / test samples of the datasets whose size is fixed ('folder' depends on the folder). */
const DATASET_SIZE: Record<string, { train: number; test: number }> = {
  mnist: { train: 60000, test: 10000 },
  'fashion-mnist': { train: 60000, test: 10000 },
  'mnist-bundled': { train: 8000, test: 2000 },
  cifar10: { train: 50000, test: 10000 },
  cifar100: { train: 50000, test: 10000 },
};
/** Stand-in size for a dataset of unknown size: every such run then ranks by epochs and batch size alone. */
const UNKNOWN_SIZE = { train: 10000, test: 2000 };

/** The relative work of a run (see the file comment); comparable between runs of one sweep. */
export function expectedCost(spec: Pick<RunSpec, 'train'>): number {
  const t = { ...COST_DEFAULTS, ...spec.train };
  const size = DATASET_SIZE[t.dataset] ?? UNKNOWN_SIZE;
  let train = t.trainLimit > 0 ? Math.min(t.trainLimit, size.train) : size.train;
  const test = t.testLimit > 0 ? Math.min(t.testLimit, size.test) : size.test;
  // valSplit takes its validation part out of the (limited) training set: a fraction or a count.
  const val = t.valSplit <= 0 ? 0 : t.valSplit < 1 ? Math.round(t.valSplit * train) : Math.min(t.valSplit, train - 1);
  train -= val;
  const batch = Math.max(1, t.batchSize);
  const epochs = Math.max(1, t.epochs);
  // stepsPerEpoch fixes the steps of an epoch (and so its samples) whatever the set's size.
  const steps = t.stepsPerEpoch !== undefined && t.stepsPerEpoch > 0 ? t.stepsPerEpoch : Math.ceil(train / batch);
  const trained = t.stepsPerEpoch !== undefined && t.stepsPerEpoch > 0 ? steps * batch : train;
  return epochs * (trained + steps * STEP_SAMPLES + (val + test) * EVAL_WEIGHT);
}

/**
 * The runs ordered longest expected first; runs of equal cost keep their given order, so the
 * order is deterministic. Returns a new array.
 */
export function longestFirst<T extends Pick<RunSpec, 'train'>>(specs: readonly T[]): T[] {
  return specs
    .map((s, i) => ({ s, i, c: expectedCost(s) }))
    .sort((a, b) => b.c - a.c || a.i - b.i)
    .map((x) => x.s);
}

// One training run from a typed configuration: the single code path behind `normlab train`,
// the experiments and the sweep workers. A run = (config, seed) → run directory.
import type { Module } from '../nn/module.js';
import { createModel, type NormSpec } from '../models/index.js';
import type { DatasetName } from '../data/load.js';
import { loadDatasetCached } from '../data/cache.js';
import { splitDataset } from '../data/split.js';
import type { Dataset, SubsetDataset } from '../data/dataset.js';
import { channelStats } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { compose, normalize, randomCrop, randomHorizontalFlip, randomAffine, randomResizedCrop, resize, type Transform } from '../data/transforms.js';
import { SGD } from '../optim/sgd.js';
import { Adam, AdamW } from '../optim/adam.js';
import { RMSprop } from '../optim/rmsprop.js';
import { CosineAnnealingLR, StepLR, ConstantLR, type Scheduler } from '../optim/scheduler.js';
import { paramGroups, describeParamGroups } from '../optim/paramGroups.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Optimizer } from '../optim/optimizer.js';
import { l1Penalty } from '../optim/penalty.js';
import { manualSeed } from '../tensor/random.js';
import { backendOn, setNumThreads, type Device } from '../backend/index.js';
import { md5Seed, streamSeed } from './seeds.js';
import { Trainer, type BatchSource, type TrainResult, type EpochMetrics } from './trainer.js';
import { stratifiedSplit } from '../data/split.js';
import { inputSizeProblem } from '../models/inputs.js';
import { openRunDir, configDifferences, RunDirError, type RunDir } from './runDir.js';
import { hasCheckpoint } from './checkpoint.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { join } from 'node:path';

export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'rmsprop';
export type SchedulerName = 'cos' | 'step' | 'none';

export interface TrainConfig {
  dataset: DatasetName;
  network: string;
  norm: NormSpec;
  batchSize: number;
  epochs: number;
  optimizer: OptimizerName;
  lr: number;
  scheduler: SchedulerName;
  momentum: number;
  weightDecay: number;
  /** Seed 001: initial BN γ (<= 0 → 1). */
  bnWeight: number;
  /**
   * Seed 001: BN γ learning rate ÷ c (c > 0). With c > 0 or bnWeight > 0 the optimizer gets seed
   * 001's parameter groups (usesSeed001Groups): no weight decay on biases and norm γ/β.
   */
  c: number;
  /** Seed 001: 'bn' prepends an input-normalization BN; 'dataset' normalizes by dataset mean/std. */
  inputNorm: 'bn' | 'dataset';
  /** Seed 002: L1 penalty λ on weights (0: off). */
  l1: number;
  /**
   * 'none' | 'crop-flip' (CIFAR: 4-pixel padded crop + flip) | 'keras' (shear 0.2, zoom 0.2, flip) |
   * 'imagenet' (random resized crop, scale [0.08, 1], + flip).
   */
  augment: 'none' | 'crop-flip' | 'keras' | 'imagenet';
  /** Input normalization by these per-channel mean/std instead of the computed ones (inputNorm 'dataset'). */
  mean?: number[];
  std?: number[];
  /** folder dataset: unreadable image files are an error instead of a warning. */
  strict?: boolean;
  /** Raw seed; the run uses md5Seed(seed) as in seed 001. */
  seed: number;
  threads: number;
  /** Validation part of the training set (fraction or count; 0: none). */
  valSplit: number;
  /** Use only the first N (stratified) training / test samples (0: all). */
  trainLimit: number;
  testLimit: number;
  /** Resize images to this size (0: keep), e.g. 224 for AlexNet; the folder dataset's cache resolution (0: 64). */
  imageSize: number;
  activation: 'relu' | 'sigmoid';
  /**
   * Training steps per epoch (Keras' steps_per_epoch over a looping generator, seed 003: 2,000 at
   * batch 80): each epoch takes this many batches, passes continuing across epochs, each new pass
   * reshuffled. 0 or unset: one pass over the training set per epoch.
   */
  stepsPerEpoch?: number;
  /** Dropout probability of models that take one (seed 002's network); unset: the model's own. */
  dropout?: number;
  dataDir?: string;
  download: boolean;
  /** Label used by reports to group runs. */
  label?: string;
}

export const DEFAULT_CONFIG: TrainConfig = {
  dataset: 'mnist-bundled', network: 'fbn-mnist', norm: 'bn', batchSize: 64, epochs: 1, optimizer: 'sgd', lr: 0.01,
  scheduler: 'none', momentum: 0.9, weightDecay: 0, bnWeight: 0, c: 0, inputNorm: 'dataset', l1: 0, augment: 'none', seed: 1,
  threads: 0, valSplit: 0, trainLimit: 0, testLimit: 0, imageSize: 0, activation: 'relu', download: false,
};

/** The model's input as trained, saved in config.json as `input`. */
export interface RunInput {
  numClasses: number;
  channels: number;
  /** Square input side. */
  imageSize: number;
  classNames?: string[];
  /** Per-channel normalization applied before the model (inputNorm 'dataset'). */
  mean?: number[];
  std?: number[];
}

export interface RunOptions {
  outDir?: string;
  /**
   * Where the model trains and evaluates (default 'cpu'); the device must have a backend
   * (resolveDevice in backend/select.ts). Recorded in config.json; a run resumes on any device.
   */
  device?: Device;
  /** Continue the run in outDir from its newest checkpoint (refused when the configuration changed, see allowConfigChange). */
  resume?: boolean;
  /** Replace the run in a non-empty outDir (its run files are removed once data and model are ready). */
  overwrite?: boolean;
  /** With resume: continue even though training settings differ from the stored config.json (the changes are recorded there). */
  allowConfigChange?: boolean;
  /** Notes about the run directory (stale temp files removed, resume point). */
  log?: (line: string) => void;
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  checkpoints?: boolean;
  /** Called after every epoch; a returned promise is awaited. */
  onEpoch?: (m: EpochMetrics) => void | Promise<void>;
  /**
   * Called after each epoch's evaluation with the model (on its training device), the epoch's
   * metrics and the test batches (eval transforms); a returned promise is awaited.
   */
  onEvaluate?: (model: Module, metrics: EpochMetrics, test: BatchSource) => void | Promise<void>;
  /** Called once with the initialized model, before the first step (and before a resume loads its checkpoint). */
  onStart?: (model: Module) => void;
  /**
   * Called with each training batch as the loader hands it out, before its step: the loader's
   * pass over the data (1-based; the epoch, unless stepsPerEpoch ends epochs inside passes) and
   * the batch's dataset indices. Used to replay the exact sample order elsewhere
   * (bench/accuracy_fashion.ts feeds it to PyTorch).
   */
  onTrainBatch?: (epoch: number, indices: Int32Array) => void;
}

export interface RunOutput {
  result: TrainResult;
  model: Module;
  config: TrainConfig;
  data: { train: SubsetDataset; val: SubsetDataset | null; test: SubsetDataset };
  /** A loader over a dataset with the run's evaluation transforms (resize, normalization): what the model expects. */
  evalLoader(ds: SubsetDataset, batchSize?: number): DataLoader;
}

/** A DataLoader as the trainer's BatchSource; `onBatch` sees each batch's epoch (1-based) and indices. */
export function loaderSource(loader: DataLoader, onBatch?: (epoch: number, indices: Int32Array) => void): BatchSource {
  return {
    numBatches: loader.length,
    numSamples: loader.dropLast ? loader.length * loader.batchSize : loader.dataset.n,
    epoch: onBatch === undefined ? () => loader.batches() : function* () {
      // loader.epoch counts finished epochs, also after setState, so a resumed run reports the right epoch.
      const epoch = loader.epoch + 1;
      for (const b of loader.batches()) {
        onBatch(epoch, b.indices);
        yield b;
      }
    },
    getState: () => loader.state(),
    setState: (s) => loader.setState(s as ReturnType<DataLoader['state']>),
  };
}

// Runs in one process share their loaded datasets (data/cache.ts); these keep what a run derives
// from them, so the next run with the same limit and seed (every run of a sweep's seed) or the
// same training set skips the split, the copy and the statistics pass. Keyed by the dataset
// instance, so they go when the cache drops it.
const LIMITS_PER_DATASET = 8;
const limited = new WeakMap<SubsetDataset, Map<string, SubsetDataset>>();
const statsOf = new WeakMap<Dataset, { mean: number[]; std: number[] }>();

function limit(ds: SubsetDataset, n: number, seed: number): SubsetDataset {
  if (n <= 0 || n >= ds.n) return ds;
  let byKey = limited.get(ds);
  if (byKey === undefined) limited.set(ds, (byKey = new Map()));
  const key = `${n}:${seed}`;
  const hit = byKey.get(key);
  if (hit !== undefined) return hit;
  const { val } = stratifiedSplit(ds.labels, { valSize: n, seed });
  const part = ds.subset(val, ds.name);
  byKey.set(key, part);
  // A sweep over many seeds makes one subset per seed; keep the most recent few.
  if (byKey.size > LIMITS_PER_DATASET) byKey.delete(byKey.keys().next().value!);
  return part;
}

function cachedChannelStats(ds: Dataset): { mean: number[]; std: number[] } {
  let st = statsOf.get(ds);
  if (st === undefined) statsOf.set(ds, (st = channelStats(ds)));
  return { mean: [...st.mean], std: [...st.std] };
}

/**
 * Seed 001's method is on when the config asks for any part of it that concerns the optimizer:
 * a BN γ initialisation (bnWeight > 0) or a BN-γ learning-rate divisor (c > 0).
 */
export function usesSeed001Groups(cfg: Pick<TrainConfig, 'bnWeight' | 'c'>): boolean {
  return cfg.bnWeight > 0 || cfg.c > 0;
}

/**
 * The optimizer's parameter groups: seed 001's (optim/paramGroups.ts, with c = 1 when only
 * bnWeight is set) when its method is on, else one group with the weight decay on every parameter
 * (PyTorch's default).
 */
export function trainParamGroups(cfg: TrainConfig, model: Module): { name: string; params: Tensor[]; lr: number; weightDecay: number }[] {
  if (usesSeed001Groups(cfg)) return paramGroups(model, { lr: cfg.lr, weightDecay: cfg.weightDecay, c: cfg.c > 0 ? cfg.c : 1 });
  return [{ name: 'all', params: model.parameters(), lr: cfg.lr, weightDecay: cfg.weightDecay }];
}

function makeOptimizer(cfg: TrainConfig, model: Module, groups: ReturnType<typeof trainParamGroups>): Optimizer<{ lr: number }> {
  const params = groups.map((g) => ({ params: g.params, lr: g.lr, weightDecay: g.weightDecay }));
  switch (cfg.optimizer) {
    case 'sgd': return new SGD(params, { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
    case 'adam': return new Adam(params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
    case 'adamw': return new AdamW(params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
    case 'rmsprop': return new RMSprop(params, { ...RMSprop.kerasDefaults, lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
    default: throw new RangeError(`train: optimizer must be sgd, adam, adamw or rmsprop, got '${String(cfg.optimizer)}'`);
  }
}

function makeScheduler(cfg: TrainConfig, opt: Optimizer<{ lr: number }>): Scheduler {
  switch (cfg.scheduler) {
    case 'cos': return new CosineAnnealingLR(opt, cfg.epochs);
    case 'step': return new StepLR(opt, Math.max(1, Math.floor(cfg.epochs / 3)), 0.1);
    case 'none': return new ConstantLR(opt);
    default: throw new RangeError(`train: scheduler must be cos, step or none, got '${String(cfg.scheduler)}'`);
  }
}

/** Loads the data, builds the model and optimizer from cfg, and trains. */
export async function runTraining(config: Partial<TrainConfig>, opts: RunOptions = {}): Promise<RunOutput> {
  const cfg: TrainConfig = { ...DEFAULT_CONFIG, ...config };
  if (opts.device !== undefined) backendOn(opts.device, 'train');
  // Checks that need no data come first, so a bad --out or a refused resume fails at once.
  if (cfg.imageSize > 0) {
    const problem = inputSizeProblem(cfg.network, cfg.imageSize);
    if (problem !== null) throw new RangeError(`train: ${problem}`);
  }
  const dir = opts.outDir === undefined ? null : openRunDir(opts.outDir, { resume: opts.resume, overwrite: opts.overwrite, log: opts.log });
  try {
    return await train(cfg, dir, opts);
  } finally {
    dir?.release();
  }
}

function refuseChanges(dir: RunDir, changes: string[], allow: boolean): void {
  if (changes.length === 0 || allow) return;
  throw new RunDirError(
    `--resume: the run in '${dir.path}' was trained with other settings:\n  ${changes.join('\n  ')}\n` +
      'pass --allow-config-change to continue it with the new ones (recorded in its config.json), or choose another --out',
  );
}

async function train(cfg: TrainConfig, dir: RunDir | null, opts: RunOptions): Promise<RunOutput> {
  const resuming = dir !== null && opts.resume === true && hasCheckpoint(dir.path);
  const stored = resuming ? dir.storedConfig() : null;
  const changes: string[] = [];
  if (stored !== null) {
    // More epochs without a schedule is a longer run of the same training: the resumed part
    // continues exactly as an uninterrupted run of the new length would. (A cosine or step
    // schedule depends on the epoch count, so there it is a change like any other.)
    const longer = cfg.scheduler === 'none' && typeof stored.epochs === 'number' && cfg.epochs > stored.epochs;
    changes.push(...configDifferences(stored, cfg as unknown as Record<string, unknown>).filter((l) => !(longer && l.startsWith('epochs:'))));
    refuseChanges(dir!, changes, opts.allowConfigChange === true);
  }
  if (cfg.threads > 0) setNumThreads(cfg.threads);
  const seed = md5Seed(cfg.seed);
  manualSeed(seed);
  const load = (split: 'train' | 'test'): Promise<SubsetDataset> => loadDatasetCached(cfg.dataset, {
    dataDir: cfg.dataDir, split, download: cfg.download, strict: cfg.strict, imageSize: cfg.imageSize > 0 ? cfg.imageSize : undefined,
  });
  // The weight init draws from manualSeed(seed); subsets and the data order get streams of their own.
  const subsetSeed = streamSeed(seed, 'subset');
  let train = limit(await load('train'), cfg.trainLimit, subsetSeed);
  const test = limit(await load('test'), cfg.testLimit, subsetSeed);
  let val: SubsetDataset | null = null;
  if (cfg.valSplit > 0) {
    // The validation split is fixed by md5Seed(0), as seed 001 creates it with seed 0.
    const n = train.n;
    const valid = cfg.valSplit < 1 || (Number.isInteger(cfg.valSplit) && cfg.valSplit < n);
    if (!valid) throw new RangeError(`train: valSplit (--val-split) must be a fraction in (0, 1) or a count from 1 to ${n - 1} (the training set has ${n} samples), got ${cfg.valSplit}`);
    const parts = splitDataset(train, { valSize: cfg.valSplit, seed: md5Seed(0) });
    train = parts.train;
    val = parts.val;
  }
  const geometry = { channels: train.channels, size: cfg.imageSize > 0 ? cfg.imageSize : train.height };
  for (const [flag, v] of [['mean', cfg.mean], ['std', cfg.std]] as const) {
    if (v !== undefined && v.length !== train.channels) {
      throw new RangeError(`train: ${flag} (--${flag}) needs one value per channel of the data (${train.channels}), got ${v.length}: ${v.join(',')}`);
    }
  }
  if (cfg.std !== undefined && cfg.std.some((x) => !(x > 0))) throw new RangeError(`train: std (--std) values must be > 0, got ${cfg.std.join(',')}`);
  const evalT: Transform[] = [];
  const trainT: Transform[] = [];
  if (cfg.imageSize > 0 && cfg.imageSize !== train.height) {
    evalT.push(resize(cfg.imageSize));
    trainT.push(resize(cfg.imageSize));
  }
  if (cfg.augment === 'crop-flip') trainT.push(randomCrop(geometry.size, { padding: 4 }), randomHorizontalFlip());
  if (cfg.augment === 'keras') trainT.push(randomAffine({ shearRange: 0.2, zoomRange: 0.2 }), randomHorizontalFlip());
  if (cfg.augment === 'imagenet') trainT.push(randomResizedCrop(geometry.size), randomHorizontalFlip());
  let stats: { mean: number[]; std: number[] } | null = null;
  if (cfg.inputNorm === 'dataset') {
    stats = cfg.mean !== undefined && cfg.std !== undefined ? { mean: cfg.mean, std: cfg.std } : cachedChannelStats(train);
    evalT.push(normalize(stats.mean, stats.std));
    trainT.push(normalize(stats.mean, stats.std));
  }
  // What `normlab eval/predict/export` need to rebuild the model and its input from the run.
  const input: RunInput = {
    numClasses: train.numClasses, channels: geometry.channels, imageSize: geometry.size,
    ...(train.classNames !== undefined ? { classNames: [...train.classNames] } : {}), ...(stats ?? {}),
  };
  const sizeProblem = inputSizeProblem(cfg.network, geometry.size);
  if (sizeProblem !== null) throw new RangeError(`train: ${sizeProblem}`);
  if (stored !== null && stored.input !== undefined) {
    const inputChanges = configDifferences(stored.input as Record<string, unknown>, input as unknown as Record<string, unknown>).map((l) => `input.${l}`);
    changes.push(...inputChanges);
    refuseChanges(dir!, inputChanges, opts.allowConfigChange === true);
  }
  const model = createModel(cfg.network, {
    norm: cfg.norm, numClasses: train.numClasses, inChannels: train.channels, imageSize: geometry.size,
    bnWeight: cfg.bnWeight, inputNorm: cfg.inputNorm, activation: cfg.activation, dropout: cfg.dropout,
  });
  const device = opts.device ?? 'cpu';
  // Created where tensors are created by default (the CPU unless setDefaultDevice), then moved once.
  if (model.device !== device) await model.toAsync(device);
  const groups = trainParamGroups(cfg, model);
  const groupLines = describeParamGroups(groups);
  if ((opts.progress ?? 'auto') !== 'none') process.stderr.write(groupLines.join('\n') + '\n');
  const optimizer = makeOptimizer(cfg, model, groups);
  const scheduler = makeScheduler(cfg, optimizer);
  const loaderSeed = streamSeed(seed, 'loader');
  const mk = (ds: SubsetDataset, t: Transform[], shuffle: boolean, batchSize = cfg.batchSize): DataLoader =>
    new DataLoader(ds, { batchSize, shuffle, seed: loaderSeed, transform: t.length > 0 ? compose(...t) : undefined });
  const runConfig = { ...cfg, derivedSeed: seed, input, paramGroups: groupLines, device };
  // Everything that can fail before training has passed: only now is an old run replaced.
  if (dir !== null && opts.overwrite && !resuming) dir.clear();
  if (stored !== null && (changes.length > 0 || stored.epochs !== cfg.epochs)) {
    const earlier = Array.isArray(stored.config_changes) ? stored.config_changes as unknown[] : [];
    const recorded = changes.length > 0 ? [...earlier, { at: new Date().toISOString(), changes }] : earlier;
    writeJsonAtomic(join(dir!.path, 'config.json'), { ...runConfig, ...(recorded.length > 0 ? { config_changes: recorded } : {}) });
  }
  const testSource = loaderSource(mk(test, evalT, false));
  const onEpoch = opts.onEvaluate === undefined ? opts.onEpoch : async (m: EpochMetrics): Promise<void> => {
    await opts.onEpoch?.(m);
    await opts.onEvaluate!(model, m, testSource);
  };
  const trainer = new Trainer({
    model, optimizer, scheduler, epochs: cfg.epochs,
    stepsPerEpoch: cfg.stepsPerEpoch !== undefined && cfg.stepsPerEpoch > 0 ? cfg.stepsPerEpoch : undefined,
    train: loaderSource(mk(train, trainT, true), opts.onTrainBatch),
    val: val === null ? undefined : loaderSource(mk(val, evalT, false)),
    test: testSource,
    outDir: dir?.path, resume: opts.resume, progress: opts.progress, checkpoints: opts.checkpoints, onEpoch, log: opts.log,
    config: runConfig,
    penalty: cfg.l1 > 0 ? (m) => l1Penalty(m, cfg.l1) : undefined,
  });
  opts.onStart?.(model);
  const result = await trainer.fitAsync();
  return { result, model, config: cfg, data: { train, val, test }, evalLoader: (ds, batchSize = cfg.batchSize) => mk(ds, evalT, false, batchSize) };
}

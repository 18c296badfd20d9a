// Small-vs-large batch statistics (seed 000, CIFAR/alexnet_small_large_compare.py): how well do
// the statistics of a small batch approximate those of the whole dataset, for BN and for Filtered
// BN at several thresholds?
//
// For one normalization layer, its input is captured over the dataset (forward hook, eval mode,
// no gradients, so nothing in the model changes). The population statistics per channel c are
// taken over every sample and position (N, *):
//   mu_pop[c] = mean(x), var_pop[c] = mean((x - mu_pop)^2)   (population = biased variance).
// Then, for each batch size b, R batches of b distinct samples are drawn at random (seeded) and
// per channel:
//   BN:  mu_b and the biased variance var_b over (b, *), as BN normalizes in training;
//   FBN: mu0 and the unbiased var0 over (b, *); z = (x - mu0) / sqrt(var0 + 1e-10); the values
//        with -T < z < T (strict) are kept; mu_b, var_b = mean and biased variance of the kept
//        values (DESIGN.md, "Filtered BN"; the statistics FilteredBatchNorm normalizes with).
// The errors are relative to the population:
//   meanErr = |mu_b - mu_pop| / sigma_pop,   varErr = |var_b - var_pop| / var_pop,
// averaged over the channels and the R batches; meanErrStd/varErrStd are the standard deviations
// over the R batches of the channel-averaged errors. Channels whose population variance is 0
// (constant channels, e.g. a dead ReLU) have no relative error and are left out of the averages.
// All sums are in float64.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/graph.js';
import { Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import { moduleByName } from './capture.js';

/** Seed 000's batch sizes. */
export const DEFAULT_BATCH_SIZES: readonly number[] = [2, 4, 8, 16, 32, 64, 128, 256, 512];
export const DEFAULT_THRESHOLDS: readonly number[] = [1, 2, 3, 4];

export interface BatchStatsOptions {
  /** Batch sizes b to compare (default 2, 4, ..., 512); each must be <= the captured samples. */
  batchSizes?: readonly number[];
  /** FBN thresholds T (default 1, 2, 3, 4); each must be > 0. */
  thresholds?: readonly number[];
  /** Random batches R per batch size (default 20). */
  repeats?: number;
  /** Seed of the batch draws (default 0). */
  seed?: number;
}

export interface CaptureOptions {
  /**
   * Capture at most this many samples (default 10,000). Memory is samples * C * H * W * 4 bytes,
   * e.g. 10,000 * 64 * 16 * 16 * 4 = 655 MB: lower it for wide layers.
   */
  maxSamples?: number;
}

/** Errors of one statistics estimator, one entry per batch size. */
export interface ErrorCurve {
  /** Mean over channels and batches of |mu_b - mu_pop| / sigma_pop. */
  meanErr: number[];
  /** Mean over channels and batches of |var_b - var_pop| / var_pop. */
  varErr: number[];
  /** Std over the R batches of the channel-averaged mean error. */
  meanErrStd: number[];
  /** Std over the R batches of the channel-averaged variance error. */
  varErrStd: number[];
}

export interface FilteredErrorCurve extends ErrorCurve {
  /** Fraction of the batch's values kept by the filter, averaged over channels and batches. */
  keptFraction: number[];
}

export interface BatchStatsComparison {
  /** Samples the population statistics are taken over. */
  samples: number;
  /** Activation shape per sample: [C, ...spatial]. */
  sampleShape: number[];
  batchSizes: number[];
  thresholds: number[];
  repeats: number;
  /** Channels left out of the error averages because their population variance is 0. */
  constantChannels: number[];
  bn: ErrorCurve;
  /** Keyed by String(T). */
  fbn: Record<string, FilteredErrorCurve>;
  population: { mean: number[]; var: number[] };
}

export interface BatchStatsResult extends BatchStatsComparison {
  /** Dotted module name of the layer whose input was analysed. */
  layer: string;
}

/** A layer's inputs, one sample per entry (each C * S values, channel-major), all of one shape. */
export interface CapturedActivations {
  samples: Float32Array[];
  /** Shape of one sample: [C, ...spatial]. */
  sampleShape: number[];
}

/**
 * Captures the first input of the module named `layer` over the batches, up to maxSamples
 * samples: the model runs in eval mode under noGrad (each module's mode is restored after), the
 * hook is removed at the end, also when a forward pass throws.
 */
export function captureLayerInput(model: Module, layer: string, batches: Iterable<{ x: Tensor }>, options: CaptureOptions = {}): CapturedActivations {
  const fn = 'captureLayerInput';
  const maxSamples = options.maxSamples ?? 10000;
  if (!Number.isInteger(maxSamples) || maxSamples < 1) throw new RangeError(`${fn}: maxSamples must be an integer >= 1, got ${maxSamples}`);
  const target = moduleByName(model, layer, fn);
  const samples: Float32Array[] = [];
  let sampleShape: number[] | null = null;
  const remove = target.registerForwardHook((_m, inputs) => {
    const x = inputs[0];
    if (x.ndim < 2) throw new RangeError(`${fn}: the input of '${layer}' must have rank >= 2 (N, C, *), got shape ${formatShape(x.shape)}`);
    const shape = x.shape.slice(1);
    if (sampleShape === null) sampleShape = shape;
    else if (formatShape(shape) !== formatShape(sampleShape)) {
      throw new RangeError(`${fn}: the input of '${layer}' changed shape from [N, ${sampleShape.join(', ')}] to ${formatShape(x.shape)}`);
    }
    const per = x.size / x.shape[0];
    const take = Math.min(x.shape[0], maxSamples - samples.length);
    // Statistics read: one host copy per forward; samples are views into it.
    const all = x.data();
    const copy = take === x.shape[0] ? all : all.slice(0, take * per);
    for (let i = 0; i < take; i++) samples.push(copy.subarray(i * per, (i + 1) * per));
  });
  const modes = model.modules().map((m) => [m, m.training] as const);
  model.eval();
  try {
    noGrad(() => {
      for (const batch of batches) {
        model.call(batch.x.to(model.device));
        if (samples.length >= maxSamples) break;
      }
    });
  } finally {
    remove();
    for (const [m, mode] of modes) m.training = mode;
  }
  if (sampleShape === null || samples.length === 0) throw new Error(`${fn}: layer '${layer}' was never called (no batches, or it is not on the forward path)`);
  return { samples, sampleShape };
}

/** Per-channel statistics of a set of values: count, mean and biased variance (float64). */
interface Moments {
  count: number;
  mean: number;
  var: number;
}

/** Mean and biased variance of channel c over the given samples (two passes). */
function channelMoments(samples: readonly Float32Array[], idx: ArrayLike<number>, c: number, S: number): Moments {
  let sum = 0;
  for (let i = 0; i < idx.length; i++) {
    const s = samples[idx[i]];
    for (let k = c * S, end = k + S; k < end; k++) sum += s[k];
  }
  const count = idx.length * S;
  const mean = sum / count;
  let sq = 0;
  for (let i = 0; i < idx.length; i++) {
    const s = samples[idx[i]];
    for (let k = c * S, end = k + S; k < end; k++) {
      const d = s[k] - mean;
      sq += d * d;
    }
  }
  return { count, mean, var: sq / count };
}

/**
 * FBN's statistics of channel c given its unfiltered moments: keep -T < z < T with
 * z = (x - mu0) / sqrt(var0_unbiased + 1e-10); mean and biased variance of the kept values.
 * Returns count 0 (and NaN statistics) when nothing is kept.
 */
function filteredMoments(samples: readonly Float32Array[], idx: ArrayLike<number>, c: number, S: number, all: Moments, T: number): Moments {
  const unbiased = all.count > 1 ? (all.var * all.count) / (all.count - 1) : 0;
  const sigma0 = Math.sqrt(unbiased + 1e-10);
  let count = 0;
  let sum = 0;
  for (let i = 0; i < idx.length; i++) {
    const s = samples[idx[i]];
    for (let k = c * S, end = k + S; k < end; k++) {
      const v = s[k];
      const z = (v - all.mean) / sigma0;
      if (z > -T && z < T) {
        count++;
        sum += v;
      }
    }
  }
  if (count === 0) return { count: 0, mean: NaN, var: NaN };
  const mean = sum / count;
  let sq = 0;
  for (let i = 0; i < idx.length; i++) {
    const s = samples[idx[i]];
    for (let k = c * S, end = k + S; k < end; k++) {
      const v = s[k];
      const z = (v - all.mean) / sigma0;
      if (z > -T && z < T) sq += (v - mean) * (v - mean);
    }
  }
  return { count, mean, var: sq / count };
}

/** Mean and standard deviation (over R - 1; 0 when R = 1) of a list of numbers. */
function meanStd(xs: readonly number[]): [number, number] {
  const m = xs.reduce((a, v) => a + v, 0) / xs.length;
  if (xs.length < 2) return [m, 0];
  const ss = xs.reduce((a, v) => a + (v - m) * (v - m), 0);
  return [m, Math.sqrt(ss / (xs.length - 1))];
}

/** b distinct indices out of 0..n-1 (partial Fisher–Yates over a scratch permutation). */
function drawBatch(perm: Int32Array, b: number, gen: Generator): Int32Array {
  const n = perm.length;
  for (let i = 0; i < b; i++) {
    const j = i + gen.int(n - i);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, b);
}

function checkList(fn: string, arg: string, xs: readonly number[], ok: (v: number) => boolean, what: string): number[] {
  if (xs.length === 0) throw new RangeError(`${fn}: ${arg} must not be empty`);
  for (const v of xs) if (!ok(v)) throw new RangeError(`${fn}: ${arg} must hold ${what}, got ${v}`);
  return [...xs];
}

/**
 * The small-vs-large batch comparison on captured activations (see the top of this file for
 * the statistics and errors).
 */
export function compareBatchStatistics(activations: CapturedActivations, options: BatchStatsOptions = {}): BatchStatsComparison {
  const fn = 'compareBatchStatistics';
  const { samples, sampleShape } = activations;
  const n = samples.length;
  const batchSizes = checkList(fn, 'batchSizes', options.batchSizes ?? DEFAULT_BATCH_SIZES, (b) => Number.isInteger(b) && b >= 1, 'integers >= 1');
  const thresholds = checkList(fn, 'thresholds', options.thresholds ?? DEFAULT_THRESHOLDS, (t) => t > 0, 'numbers > 0');
  const repeats = options.repeats ?? 20;
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`${fn}: repeats must be an integer >= 1, got ${repeats}`);
  const tooBig = batchSizes.filter((b) => b > n);
  if (tooBig.length > 0) throw new RangeError(`${fn}: batch sizes ${tooBig.join(', ')} exceed the ${n} captured samples; capture more or drop them`);
  const C = sampleShape[0];
  const S = sampleShape.slice(1).reduce((a, d) => a * d, 1);
  for (const s of samples) if (s.length !== C * S) throw new RangeError(`${fn}: every sample must have ${C * S} values (shape ${formatShape(sampleShape)}), got ${s.length}`);

  const everyone = Int32Array.from({ length: n }, (_, i) => i);
  const popMean: number[] = [];
  const popVar: number[] = [];
  for (let c = 0; c < C; c++) {
    const m = channelMoments(samples, everyone, c, S);
    popMean.push(m.mean);
    popVar.push(m.var);
  }
  const channels = popVar.map((_, c) => c).filter((c) => popVar[c] > 0);
  const constantChannels = popVar.map((_, c) => c).filter((c) => !(popVar[c] > 0));

  const bn: ErrorCurve = { meanErr: [], varErr: [], meanErrStd: [], varErrStd: [] };
  const fbn: Record<string, FilteredErrorCurve> = {};
  for (const T of thresholds) fbn[String(T)] = { meanErr: [], varErr: [], meanErrStd: [], varErrStd: [], keptFraction: [] };
  const gen = new Generator(options.seed ?? 0);
  const perm = everyone.slice();
  const nc = Math.max(channels.length, 1);
  // Estimator e: 0 is BN, 1 + t is FBN at thresholds[t].
  const E = thresholds.length + 1;

  for (const b of batchSizes) {
    // Channel-averaged errors of each of the R batches, per estimator.
    const meanErrs: number[][] = Array.from({ length: E }, () => []);
    const varErrs: number[][] = Array.from({ length: E }, () => []);
    const kept: number[][] = thresholds.map(() => []);
    for (let r = 0; r < repeats; r++) {
      const idx = drawBatch(perm, b, gen);
      const me = new Float64Array(E);
      const ve = new Float64Array(E);
      const kf = new Float64Array(thresholds.length);
      for (const c of channels) {
        const sigma = Math.sqrt(popVar[c]);
        const all = channelMoments(samples, idx, c, S);
        me[0] += Math.abs(all.mean - popMean[c]) / sigma;
        ve[0] += Math.abs(all.var - popVar[c]) / popVar[c];
        thresholds.forEach((T, t) => {
          const f = filteredMoments(samples, idx, c, S, all, T);
          me[1 + t] += Math.abs(f.mean - popMean[c]) / sigma;
          ve[1 + t] += Math.abs(f.var - popVar[c]) / popVar[c];
          kf[t] += f.count / all.count;
        });
      }
      for (let e = 0; e < E; e++) {
        meanErrs[e].push(me[e] / nc);
        varErrs[e].push(ve[e] / nc);
      }
      for (let t = 0; t < thresholds.length; t++) kept[t].push(kf[t] / nc);
    }
    const push = (dst: ErrorCurve, e: number): void => {
      const [mm, ms] = meanStd(meanErrs[e]);
      const [vm, vs] = meanStd(varErrs[e]);
      dst.meanErr.push(mm);
      dst.meanErrStd.push(ms);
      dst.varErr.push(vm);
      dst.varErrStd.push(vs);
    };
    push(bn, 0);
    thresholds.forEach((T, t) => {
      push(fbn[String(T)], 1 + t);
      fbn[String(T)].keptFraction.push(meanStd(kept[t])[0]);
    });
  }
  return {
    samples: n, sampleShape: [...sampleShape], batchSizes, thresholds, repeats, constantChannels,
    bn, fbn, population: { mean: popMean, var: popVar },
  };
}

/**
 * Seed 000's small-vs-large batch comparison for the input of one normalization layer of a
 * (trained) model: captures the layer's input over the batches (at most maxSamples samples),
 * then compares BN's and FBN's batch statistics with the population ones (see the top of this
 * file). The model's parameters, buffers and modes are unchanged.
 */
export function batchStatsComparison(
  model: Module, layer: string, batches: Iterable<{ x: Tensor }>, options: BatchStatsOptions & CaptureOptions = {},
): BatchStatsResult {
  const acts = captureLayerInput(model, layer, batches, options);
  return { layer, ...compareBatchStatistics(acts, options) };
}

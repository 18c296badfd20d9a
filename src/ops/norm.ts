// Normalization ops (functional forms of the layers in src/nn/norm/), on the fused kernels of
// native/norm.cc. Inputs are (N, C, *): the channel dim is 1 and S is the product of the dims
// after it. Conventions (DESIGN.md, "Semantics"):
// - Training normalizes with the batch mean and the *biased* batch variance:
//   y = (x - mean) / sqrt(var + eps) * weight + bias.
// - Running statistics (when given) are updated in place in forward under training, PyTorch's
//   way: running = (1 - momentum) * running + momentum * batch, with the *unbiased* batch
//   variance (var * m / (m - 1), m values per channel) going into running_var. `momentum` here is
//   the factor to use; layers turn momentum = null (cumulative average) into 1 / batches.
// - Eval with running statistics is one per-channel scale + shift: y = x * scale + shift.
import { backendFor, type Backend, type Storage } from '../backend/index.js';
import type { NormAct } from '../backend/kernels/norm.js';
import { needsGrad, record } from '../autograd/graph.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank, formatShape, numelOf } from '../tensor/shape.js';
import { leakyRelu, relu, sigmoid, tanh } from './elementwise.js';

/** act(x) as a separate elementwise op (the unfused path: eval with running statistics). */
function applyNormAct(x: Tensor, act: NormAct, actParam: number): Tensor {
  switch (act) {
    case 'none':
      return x;
    case 'relu':
      return relu(x);
    case 'leakyRelu':
      return leakyRelu(x, actParam);
    case 'sigmoid':
      return sigmoid(x);
    case 'tanh':
      return tanh(x);
  }
}

/** (N, C, S) view of an (N, C, *) input. */
export interface ChannelView {
  N: number;
  C: number;
  S: number;
}

export function channelView(x: Tensor): ChannelView {
  return { N: x.shape[0], C: x.shape[1], S: numelOf(x.shape.slice(2)) };
}

/** Checks a (N, C, *) input against the expected channel count and ranks. */
export function checkChannels(fn: string, x: Tensor, channels: number, ranks: readonly number[]): ChannelView {
  checkRank(fn, 'input', x.shape, ranks);
  if (x.shape[1] !== channels) {
    throw new RangeError(`${fn}: input must have ${channels} channels in dim 1, got ${x.shape[1]} (shape ${formatShape(x.shape)})`);
  }
  return channelView(x);
}

/** Batch statistics need two or more values per channel (PyTorch's message). */
export function checkBatchValues(fn: string, x: Tensor, v: ChannelView): void {
  if (v.N * v.S <= 1) {
    throw new RangeError(`${fn}: Expected more than 1 value per channel when training, got input size ${formatShape(x.shape)}`);
  }
}

/** Instance statistics need two or more spatial values (PyTorch's message). */
export function checkSpatialValues(fn: string, x: Tensor, v: ChannelView): void {
  if (v.S <= 1) {
    throw new RangeError(`${fn}: Expected more than 1 spatial element when training, got input size ${formatShape(x.shape)}`);
  }
}

function checkParam(fn: string, arg: string, t: Tensor | null, n: number): void {
  if (t !== null && t.size !== n) {
    throw new RangeError(`${fn}: ${arg} must have ${n} values (one per channel), got shape ${formatShape(t.shape)}`);
  }
}

/** Records a rule over [x, weight?, bias?] with absent inputs skipped. */
function recordNorm(
  out: Tensor, name: string, x: Tensor, weight: Tensor | null, bias: Tensor | null,
  rule: (g: Storage, want: { x: boolean; weight: boolean; bias: boolean }) => [Storage | null, Storage | null, Storage | null],
): Tensor {
  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  if (!needsGrad(...inputs)) return out;
  return record(out, name, inputs, (g) => {
    const [gx, gw, gb] = rule(g, { x: x.requiresGrad, weight: weight?.requiresGrad ?? false, bias: bias?.requiresGrad ?? false });
    const grads: (Storage | null)[] = [gx];
    if (weight !== null) grads.push(gw);
    if (bias !== null) grads.push(gb);
    return grads;
  });
}

/** The storage of an optional tensor. */
function st(t: Tensor | null): Storage | null {
  return t === null ? null : t.storage;
}

/**
 * Adds one batch to num_batches_tracked, on its device (the layers call this once per training
 * forward that updates running statistics, before the update reads it for momentum null).
 */
export function countBatch(numBatchesTracked: Tensor): void {
  const be = backendFor('countBatch', numBatchesTracked);
  const one = be.full(1, 1);
  be.accumulate(numBatchesTracked.storage, one);
  be.release(one);
}

/**
 * running = (1 - f) * running + f * batch statistic, on the device of the running statistics:
 * running_var receives the unbiased variance biasedVar * m / (m - 1), m = count (a number, or
 * storage with one count per statistic, e.g. Filtered BN's kept values). f = momentum, or
 * 1 / numBatchesTracked when momentum is null (the cumulative average; the batch already counted).
 * mean and biasedVar hold C values, one value (pooled statistics: every channel gets it) or
 * R * C values viewed as [R, C] (their average over R is the statistic: InstanceNorm's batch mean).
 */
export function updateRunningStats(
  runningMean: Tensor | null, runningVar: Tensor | null, mean: Storage, biasedVar: Storage,
  count: Storage | number, momentum: number | null, numBatchesTracked: Tensor | null = null,
): void {
  const be = backendFor('updateRunningStats', runningMean, runningVar, numBatchesTracked);
  const batches = numBatchesTracked === null ? null : numBatchesTracked.storage;
  if (momentum === null && batches === null) throw new Error('updateRunningStats: numBatchesTracked is required when momentum is null (cumulative average)');
  if (runningMean !== null) be.runningStatsUpdate({ running: runningMean.storage, batch: mean, momentum, batches, transform: 'value', count: null, eps: 0 });
  if (runningVar !== null) be.runningStatsUpdate({ running: runningVar.storage, batch: biasedVar, momentum, batches, transform: 'unbiased', count, eps: 0 });
}

/**
 * Per-channel eval scale/shift as tensors of shape [C] on the statistics' device:
 * scale = weight / sqrt(running_var + eps), shift = bias - running_mean * scale, invstd = 1 / sqrt(running_var + eps).
 */
export function evalScaleShift(runningMean: Tensor, runningVar: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): { scale: Tensor; shift: Tensor; invstd: Tensor } {
  const be = backendFor('evalScaleShift', runningMean, runningVar, weight, bias);
  const C = runningMean.size;
  const scale = be.empty(C);
  const shift = be.empty(C);
  const invstd = be.empty(C);
  be.normEvalScaleShift({ runningMean: runningMean.storage, runningVar: runningVar.storage, weight: st(weight), bias: st(bias), eps, scale, shift, invstd });
  return { scale: new Tensor(scale, [C]), shift: new Tensor(shift, [C]), invstd: new Tensor(invstd, [C]) };
}

/** Eval with running statistics: y = x * scale + shift, gradients through the fixed statistics. */
function normalizeWithRunningStats(name: string, x: Tensor, v: ChannelView, runningMean: Tensor, runningVar: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const be = backendFor(name, x, runningMean, runningVar, weight, bias);
  const scale = be.empty(v.C);
  const shift = be.empty(v.C);
  const invstd = be.empty(v.C);
  be.normEvalScaleShift({ runningMean: runningMean.storage, runningVar: runningVar.storage, weight: st(weight), bias: st(bias), eps, scale, shift, invstd });
  const out = new Tensor(be.empty(x.size), x.shape);
  be.normChannelAffine({ x: x.storage, N: v.N, C: v.C, S: v.S, scale, shift, y: out.storage });
  traceOp('batchNormEval', [x, runningMean, runningVar, weight, bias], out, { eps });
  if (!needsGrad(x, weight, bias)) return out;
  // The statistics as they are now: a later training forward may update the running buffers in place.
  const mean = be.empty(v.C);
  be.copy(runningMean.storage, mean);
  return recordNorm(out, name, x, weight, bias, batchNormRule(be, x, v, weight, mean, invstd, false));
}

/**
 * The gradient rule of BatchNorm over [x, weight?, bias?]: through the batch statistics
 * (batchStats true) or of the fixed affine y = (x - mean) * invstd * gamma + beta (false).
 */
function batchNormRule(
  be: Backend, x: Tensor, v: ChannelView, weight: Tensor | null, mean: Storage, invstd: Storage, batchStats: boolean,
  fused: { act: NormAct; actParam: number; bias: Tensor | null } = { act: 'none', actParam: 0, bias: null },
): (g: Storage, want: { x: boolean; weight: boolean; bias: boolean }) => [Storage | null, Storage | null, Storage | null] {
  return (g, want) => {
    const gx = want.x ? be.empty(x.size) : null;
    const gw = want.weight ? be.zeros(v.C) : null;
    const gb = want.bias ? be.zeros(v.C) : null;
    be.batchNormBackward({
      x: x.storage, dy: g, N: v.N, C: v.C, S: v.S, mean, invstd, gamma: st(weight), batchStats,
      dx: gx, dgamma: gw, dbeta: gb, count: null, threshold: 0, mu0: null, rstd0: null,
      beta: st(fused.bias), act: fused.act, actParam: fused.actParam,
    });
    return [gx, gw, gb];
  };
}

export interface BatchNormOptions {
  /** Normalize with batch statistics (and update the running ones, when given). */
  training?: boolean;
  /**
   * Factor of the running-statistics update (PyTorch convention, default 0.1); null: the
   * cumulative average, factor 1 / numBatchesTracked.
   */
  momentum?: number | null;
  /** num_batches_tracked (shape []), read on its device when momentum is null; the caller counts the batch. */
  numBatchesTracked?: Tensor | null;
  eps?: number;
}

function momentumOf(options: BatchNormOptions): number | null {
  return options.momentum === undefined ? 0.1 : options.momentum;
}

/**
 * Batch normalization (as torch.nn.functional.batch_norm). With training false the running
 * statistics are required and used; with training true, batch statistics are used and the
 * running ones (if given) updated in place.
 */
export function batchNorm(
  x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null = null, bias: Tensor | null = null,
  options: BatchNormOptions = {},
): Tensor {
  return batchNormAct(x, runningMean, runningVar, weight, bias, 'none', 0, options);
}

/**
 * act(batchNorm(...)) (timm's BatchNormAct2d). Training runs the activation inside the BN
 * kernels (one forward sweep writes act(v), the backward applies act' in its reductions, no
 * pre-activation tensor); eval with running statistics applies it as a separate op.
 * actParam: leaky relu's negative slope (else unused).
 */
export function batchNormAct(
  x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null,
  act: NormAct, actParam: number, options: BatchNormOptions = {},
): Tensor {
  const fn = act === 'none' ? 'batchNorm' : 'batchNormAct';
  const be = backendFor(fn, x, runningMean, runningVar, weight, bias, options.numBatchesTracked);
  checkRank(fn, 'input', x.shape, [2, 3, 4, 5]);
  const v = channelView(x);
  const training = options.training ?? false;
  const eps = options.eps ?? 1e-5;
  checkParam(fn, 'weight', weight, v.C);
  checkParam(fn, 'bias', bias, v.C);
  checkParam(fn, 'runningMean', runningMean, v.C);
  checkParam(fn, 'runningVar', runningVar, v.C);
  if (!training) {
    if (runningMean === null || runningVar === null) {
      throw new Error(`${fn}: running_mean and running_var are required when training is false`);
    }
    return applyNormAct(normalizeWithRunningStats(fn, x, v, runningMean, runningVar, weight, bias, eps), act, actParam);
  }
  checkBatchValues(fn, x, v);
  const out = new Tensor(be.empty(x.size), x.shape);
  const mean = be.empty(v.C);
  const invstd = be.empty(v.C);
  const bvar = be.empty(v.C);
  be.batchNormForward({
    x: x.storage, N: v.N, C: v.C, S: v.S, gamma: st(weight), beta: st(bias), eps, y: out.storage, mean, invstd, variance: bvar,
    threshold: 0, mu0: null, rstd0: null, kept: null, act, actParam,
  });
  if (runningMean !== null || runningVar !== null) {
    updateRunningStats(runningMean, runningVar, mean, bvar, v.N * v.S, momentumOf(options), options.numBatchesTracked ?? null);
  }
  return recordNorm(out, fn, x, weight, bias, batchNormRule(be, x, v, weight, mean, invstd, true, { act, actParam, bias }));
}

export interface FilteredBatchNormOptions extends BatchNormOptions {
  /** Filter threshold T in standard deviations (default 4); must be > 0. */
  threshold?: number;
  /** Pool every feature into one scalar mean/variance (the seed's 1-D variant). */
  pooled?: boolean;
}

export interface FilteredStats {
  /** Fraction of the values kept by the filter, per channel (shape [C]; [1] when pooled), on the input's device. */
  keptFraction: Tensor;
  /** Number of values kept, per channel (as keptFraction). */
  kept: Tensor;
}

/**
 * Filtered batch normalization (seed 000). Per channel: mu0 and the unbiased var0 over all
 * values; z = (x - mu0) / sqrt(var0 + 1e-10); values with -T < z < T are kept; mean and the
 * biased variance of the kept values normalize *all* values. The mask is a constant of the
 * batch: the gradient is BN's with the statistics depending on the kept values only.
 * Eval (training false) uses the running statistics like batchNorm.
 */
export function filteredBatchNorm(
  x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null = null, bias: Tensor | null = null,
  options: FilteredBatchNormOptions = {},
): Tensor {
  return filteredBatchNormWithStats(x, runningMean, runningVar, weight, bias, options).out;
}

/**
 * filteredBatchNorm and, in training, the filter's statistics as tensors (read them with
 * read()/data() where they are needed; forward never waits for them). A channel whose values
 * all lie outside the threshold (possible only for T < 1) is an error on the CPU, where the count
 * is at hand; on other devices its outputs are NaN.
 */
export function filteredBatchNormWithStats(
  x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null,
  options: FilteredBatchNormOptions, fn = 'filteredBatchNorm',
): { out: Tensor; stats: FilteredStats | null } {
  const be = backendFor(fn, x, runningMean, runningVar, weight, bias, options.numBatchesTracked);
  const T = options.threshold ?? 4;
  if (!(T > 0)) throw new RangeError(`${fn}: threshold must be > 0, got ${T}`);
  checkRank(fn, 'input', x.shape, [2, 3, 4, 5]);
  const v = channelView(x);
  const eps = options.eps ?? 1e-5;
  checkParam(fn, 'weight', weight, v.C);
  checkParam(fn, 'bias', bias, v.C);
  checkParam(fn, 'runningMean', runningMean, v.C);
  checkParam(fn, 'runningVar', runningVar, v.C);
  if (!(options.training ?? false)) {
    if (runningMean === null || runningVar === null) {
      throw new Error(`${fn}: running_mean and running_var are required when training is false`);
    }
    return { out: normalizeWithRunningStats(fn, x, v, runningMean, runningVar, weight, bias, eps), stats: null };
  }
  checkBatchValues(fn, x, v);
  const pooled = options.pooled ?? false;
  // Pooled: one statistics channel spanning every feature; the affine is applied after it.
  const sv: ChannelView = pooled ? { N: v.N, C: 1, S: v.C * v.S } : v;
  const kw = pooled ? null : weight;
  const kb = pooled ? null : bias;
  const C = sv.C;
  const y = new Tensor(be.empty(x.size), x.shape);
  const mean = be.empty(C);
  const invstd = be.empty(C);
  const bvar = be.empty(C);
  const mu0 = be.empty(C);
  const rstd0 = be.empty(C);
  const kept = be.empty(C);
  be.batchNormForward({
    x: x.storage, N: sv.N, C, S: sv.S, gamma: st(kw), beta: st(kb), eps, y: y.storage, mean, invstd, variance: bvar,
    threshold: T, mu0, rstd0, kept,
  });
  // With T >= 1 some value of every channel has |z| < 1 (the mean of z^2 is (m - 1) / m < 1).
  if (T < 1 && kept.device === 'cpu') {
    const counts = be.downloadSync(kept);
    const empty = counts.findIndex((k) => k === 0);
    if (empty >= 0) {
      throw new RangeError(`${fn}: no value of channel ${empty} lies within threshold ${T} standard deviations of its mean; use a larger threshold (T >= 1 always keeps some)`);
    }
  }
  // keptFraction = kept / (values per statistic): the affine kernel on a [1, C, 1] view.
  const fraction = be.empty(C);
  const inv = be.full(C, 1 / (sv.N * sv.S));
  const zero = be.zeros(C);
  be.normChannelAffine({ x: kept, N: 1, C, S: 1, scale: inv, shift: zero, y: fraction });
  be.release(inv);
  be.release(zero);
  const stats: FilteredStats = { keptFraction: new Tensor(fraction, [C]), kept: new Tensor(kept, [C]) };
  if (runningMean !== null || runningVar !== null) {
    updateRunningStats(runningMean, runningVar, mean, bvar, kept, momentumOf(options), options.numBatchesTracked ?? null);
  }
  const core = recordNorm(y, fn, x, kw, kb, (g, want) => {
    const gx = want.x ? be.empty(x.size) : null;
    const gw = want.weight ? be.zeros(C) : null;
    const gb = want.bias ? be.zeros(C) : null;
    be.batchNormBackward({
      x: x.storage, dy: g, N: sv.N, C, S: sv.S, mean, invstd, gamma: st(kw), batchStats: true,
      dx: gx, dgamma: gw, dbeta: gb, count: kept, threshold: T, mu0, rstd0,
    });
    return [gx, gw, gb];
  });
  if (!pooled || (weight === null && bias === null)) return { out: core, stats };
  return { out: channelAffine(fn, be, core, v, weight, bias), stats };
}

/**
 * y = x * weight[c] + bias[c] (absent: 1 and 0) on the norm kernels: forward the per-channel
 * affine, backward BN's eval-mode rule with mean 0 and invstd 1 (xhat = x, dx = weight * dy,
 * dweight = sum(dy * x), dbias = sum(dy)).
 */
function channelAffine(fn: string, be: Backend, x: Tensor, v: ChannelView, weight: Tensor | null, bias: Tensor | null): Tensor {
  const scale = weight === null ? be.full(v.C, 1) : weight.storage;
  const shift = bias === null ? be.zeros(v.C) : bias.storage;
  const out = new Tensor(be.empty(x.size), x.shape);
  be.normChannelAffine({ x: x.storage, N: v.N, C: v.C, S: v.S, scale, shift, y: out.storage });
  if (!needsGrad(x, weight, bias)) return out;
  return recordNorm(out, fn, x, weight, bias, (g, want) => {
    const gx = want.x ? be.empty(x.size) : null;
    const gw = want.weight ? be.zeros(v.C) : null;
    const gb = want.bias ? be.zeros(v.C) : null;
    const mean = be.zeros(v.C);
    const invstd = be.full(v.C, 1);
    be.batchNormBackward({
      x: x.storage, dy: g, N: v.N, C: v.C, S: v.S, mean, invstd, gamma: st(weight), batchStats: false,
      dx: gx, dgamma: gw, dbeta: gb, count: null, threshold: 0, mu0: null, rstd0: null,
    });
    be.release(mean);
    be.release(invstd);
    return [gx, gw, gb];
  });
}

export interface BatchRenormOptions extends BatchNormOptions {
  /** r is clipped to [1/rMax, rMax] (default 3). */
  rMax?: number;
  /** d is clipped to [-dMax, dMax] (default 5). */
  dMax?: number;
  /** r = 1, d = 0 (plain BN) while true. */
  warmup?: boolean;
  /**
   * Also warm-up while numBatchesTracked (read on its device, the batches before this one) is
   * below this count (default 0).
   */
  warmupSteps?: number;
}

/** The batch statistics Batch Renorm hands to its caller for the running updates (tensors of shape [C]). */
export interface BatchStats {
  mean: Tensor;
  /** The biased batch variance. */
  biasedVar: Tensor;
  /** Values per channel behind them (N * S). */
  count: number;
}

/**
 * Batch Renormalization (Ioffe 2017; Keras renorm=True). Training:
 *   sigma_B = sqrt(var_B + eps) (biased var), r = clip(sigma_B / renormStd, 1/rMax, rMax),
 *   d = clip((mean_B - renormMean) / renormStd, -dMax, dMax), both constants for the gradient,
 *   y = ((x - mean_B) / sigma_B * r + d) * weight + bias.
 * The caller updates renormMean/renormStd and the running statistics with `onBatchStats`, which
 * receives the batch statistics as tensors on the input's device.
 * Eval uses running statistics as batchNorm.
 */
export function batchRenorm(
  x: Tensor, renormMean: Tensor, renormStd: Tensor, runningMean: Tensor | null, runningVar: Tensor | null,
  weight: Tensor | null, bias: Tensor | null, options: BatchRenormOptions = {},
  onBatchStats?: (stats: BatchStats) => void,
): Tensor {
  const fn = 'batchRenorm';
  const be = backendFor(fn, x, renormMean, renormStd, runningMean, runningVar, weight, bias, options.numBatchesTracked);
  checkRank(fn, 'input', x.shape, [2, 3, 4, 5]);
  const v = channelView(x);
  const eps = options.eps ?? 1e-5;
  checkParam(fn, 'weight', weight, v.C);
  checkParam(fn, 'bias', bias, v.C);
  if (!(options.training ?? false)) {
    if (runningMean === null || runningVar === null) {
      throw new Error(`${fn}: running_mean and running_var are required when training is false`);
    }
    return normalizeWithRunningStats(fn, x, v, runningMean, runningVar, weight, bias, eps);
  }
  checkBatchValues(fn, x, v);
  checkParam(fn, 'renormMean', renormMean, v.C);
  checkParam(fn, 'renormStd', renormStd, v.C);
  const C = v.C;
  const mean = be.empty(C);
  const invstd = be.empty(C);
  const bvar = be.empty(C);
  be.batchNormForward({
    x: x.storage, N: v.N, C, S: v.S, gamma: null, beta: null, eps, y: null, mean, invstd, variance: bvar,
    threshold: 0, mu0: null, rstd0: null, kept: null,
  });
  // y = xhat * (r * gamma) + (d * gamma + beta): BN with an effective gamma' = r * gamma.
  const r = be.empty(C);
  const d = be.empty(C);
  const effGamma = be.empty(C);
  const scale = be.empty(C);
  const shift = be.empty(C);
  be.batchRenormParams({
    mean, variance: bvar, invstd, renormMean: renormMean.storage, renormStd: renormStd.storage, weight: st(weight), bias: st(bias),
    eps, rMax: options.rMax ?? 3, dMax: options.dMax ?? 5, warmup: options.warmup ?? false,
    batches: options.numBatchesTracked?.storage ?? null, warmupSteps: options.warmupSteps ?? 0, r, d, gamma: effGamma, scale, shift,
  });
  const out = new Tensor(be.empty(x.size), x.shape);
  be.normChannelAffine({ x: x.storage, N: v.N, C, S: v.S, scale, shift, y: out.storage });
  be.release(scale);
  be.release(shift);
  onBatchStats?.({ mean: new Tensor(mean, [C]), biasedVar: new Tensor(bvar, [C]), count: v.N * v.S });
  return recordNorm(out, fn, x, weight, bias, (g, want) => {
    const gx = want.x ? be.empty(x.size) : null;
    const sdyxhat = be.zeros(C);
    const sdy = be.zeros(C);
    be.batchNormBackward({
      x: x.storage, dy: g, N: v.N, C, S: v.S, mean, invstd, gamma: effGamma, batchStats: true,
      dx: gx, dgamma: sdyxhat, dbeta: sdy, count: null, threshold: 0, mu0: null, rstd0: null,
    });
    // dgamma = sum(dy * (xhat * r + d)) = r * sum(dy * xhat) + d * sum(dy), two per-channel
    // affines on [1, C, 1] views: t = sum(dy) * d, dgamma = sum(dy * xhat) * r + t. dbeta = sum(dy).
    let gw: Storage | null = null;
    if (want.weight) {
      const zero = be.zeros(C);
      const t = be.empty(C);
      be.normChannelAffine({ x: sdy, N: 1, C, S: 1, scale: d, shift: zero, y: t });
      gw = be.empty(C);
      be.normChannelAffine({ x: sdyxhat, N: 1, C, S: 1, scale: r, shift: t, y: gw });
      be.release(zero);
      be.release(t);
    }
    be.release(sdyxhat);
    if (!want.bias) be.release(sdy);
    return [gx, gw, want.bias ? sdy : null];
  });
}

/**
 * Normalizes each contiguous group of x viewed as [N, G, Cg, S] with its own mean and biased
 * variance, then applies the per-channel weight/bias. `variance` (optional) receives the biased
 * variance per (n, g).
 */
function groupNormCore(
  fn: string, be: Backend, x: Tensor, N: number, G: number, Cg: number, S: number, weight: Tensor | null, bias: Tensor | null, eps: number,
  variance: Storage | null = null, act: NormAct = 'none', actParam = 0,
): { out: Tensor; mean: Storage } {
  const out = new Tensor(be.empty(x.size), x.shape);
  const mean = be.empty(N * G);
  const invstd = be.empty(N * G);
  be.groupNormForward({ x: x.storage, N, G, Cg, S, gamma: st(weight), beta: st(bias), eps, y: out.storage, mean, invstd, variance, act, actParam });
  const C = G * Cg;
  const rec = recordNorm(out, fn, x, weight, bias, (g, want) => {
    const gx = want.x ? be.empty(x.size) : null;
    const gw = want.weight ? be.zeros(C) : null;
    const gb = want.bias ? be.zeros(C) : null;
    be.groupNormBackward({
      x: x.storage, dy: g, N, G, Cg, S, mean, invstd, gamma: st(weight), dx: gx, dgamma: gw, dbeta: gb, beta: st(bias), act, actParam,
    });
    return [gx, gw, gb];
  });
  return { out: rec, mean };
}

/** Group normalization (torch.nn.functional.group_norm): statistics per (n, group), biased variance. */
export function groupNorm(x: Tensor, groups: number, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const out = groupNormFusedAct('groupNorm', x, groups, weight, bias, eps, 'none', 0);
  traceOp('groupNorm', [x, weight, bias], out, { groups, eps });
  return out;
}

/**
 * act(groupNorm(...)) on the GN kernels with the activation fused (see batchNormAct), not traced
 * (the caller records its own trace entry). fn names the caller in errors.
 */
export function groupNormFusedAct(
  fn: string, x: Tensor, groups: number, weight: Tensor | null, bias: Tensor | null, eps: number, act: NormAct, actParam: number,
): Tensor {
  const be = backendFor(fn, x, weight, bias);
  if (x.ndim < 2) throw new RangeError(`${fn}: input must have rank >= 2 (N, C, *), got rank ${x.ndim} (shape ${formatShape(x.shape)})`);
  const v = channelView(x);
  if (!Number.isInteger(groups) || groups < 1 || v.C % groups !== 0) {
    throw new RangeError(`${fn}: channels (${v.C}) must be divisible by groups, got groups = ${groups}`);
  }
  checkParam(fn, 'weight', weight, v.C);
  checkParam(fn, 'bias', bias, v.C);
  return groupNormCore(fn, be, x, v.N, groups, v.C / groups, v.S, weight, bias, eps, null, act, actParam).out;
}

/** Layer normalization over the trailing dims `normalizedShape`, elementwise affine (as PyTorch). */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const fn = 'layerNorm';
  const be = backendFor(fn, x, weight, bias);
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || x.ndim < k || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new RangeError(`${fn}: input must end with the normalized shape ${formatShape(normalizedShape)}, got shape ${formatShape(x.shape)}`);
  }
  const D = numelOf(normalizedShape);
  checkParam(fn, 'weight', weight, D);
  checkParam(fn, 'bias', bias, D);
  const out = groupNormCore(fn, be, x, x.size / Math.max(D, 1), 1, D, 1, weight, bias, eps).out;
  traceOp('layerNorm', [x, weight, bias], out, { normalizedShape: [...normalizedShape], eps });
  return out;
}

export interface InstanceNormOptions {
  /** Use the statistics of each instance (PyTorch: training or no running statistics). */
  useInputStats?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Instance normalization: statistics per (n, c) over the spatial dims, biased variance. With
 * running statistics and useInputStats, they are updated with the average over the batch of
 * the per-instance mean and unbiased variance (as PyTorch does).
 */
export function instanceNorm(
  x: Tensor, runningMean: Tensor | null = null, runningVar: Tensor | null = null, weight: Tensor | null = null, bias: Tensor | null = null,
  options: InstanceNormOptions = {},
): Tensor {
  const fn = 'instanceNorm';
  const be = backendFor(fn, x, runningMean, runningVar, weight, bias);
  checkRank(fn, 'input', x.shape, [3, 4, 5]);
  const v = channelView(x);
  const eps = options.eps ?? 1e-5;
  checkParam(fn, 'weight', weight, v.C);
  checkParam(fn, 'bias', bias, v.C);
  const useInput = options.useInputStats ?? true;
  if (!useInput) {
    if (runningMean === null || runningVar === null) {
      throw new Error(`${fn}: running_mean and running_var are required when useInputStats is false`);
    }
    return normalizeWithRunningStats(fn, x, v, runningMean, runningVar, weight, bias, eps);
  }
  checkSpatialValues(fn, x, v);
  const tracking = runningMean !== null || runningVar !== null;
  const bvar = tracking ? be.empty(v.N * v.C) : null;
  const { out, mean } = groupNormCore(fn, be, x, v.N, v.C, 1, v.S, weight, bias, eps, bvar);
  // Instance statistics are GroupNorm's with one channel per group.
  traceOp('groupNorm', [x, weight, bias], out, { groups: v.C, eps });
  // The per-instance statistics ([N, C]) averaged over the batch, by the running update itself.
  if (bvar !== null) updateRunningStats(runningMean, runningVar, mean, bvar, v.S, options.momentum ?? 0.1);
  return out;
}

/** The 2-norm of v over every dim except `dim`, shaped to broadcast against v (dim -1 or null: the whole tensor, shape []). */
export function normExceptDim(v: Tensor, dim: number | null): Tensor {
  const sq = v.mul(v);
  if (dim === null || dim === -1) return sq.sum().sqrt();
  if (!Number.isInteger(dim) || dim < 0 || dim >= v.ndim) {
    throw new RangeError(`normExceptDim: dim must be -1, null or in [0, ${v.ndim - 1}], got ${dim} (shape ${formatShape(v.shape)})`);
  }
  const dims = v.shape.map((_, i) => i).filter((i) => i !== dim);
  return dims.length === 0 ? sq.sqrt() : sq.sum(dims, true).sqrt();
}

/** Sets every value of t to `value` in place, on its device (resets of parameters and buffers). */
export function fill_(t: Tensor, value: number): Tensor {
  const be = backendFor('fill_', t);
  const src = be.full(t.size, value);
  be.copy(src, t.storage);
  be.release(src);
  return t;
}

/** dst = src in place (same number of values, same device). */
export function copyInto_(dst: Tensor, src: Tensor, fn = 'copyInto_'): Tensor {
  if (dst.size !== src.size) throw new RangeError(`${fn}: dst has ${dst.size} values (shape ${formatShape(dst.shape)}), src ${src.size} (shape ${formatShape(src.shape)})`);
  backendFor(fn, dst, src).copy(src.storage, dst.storage);
  return dst;
}

/**
 * Batch Renorm's renorm statistics, in place on their device, with factor f:
 * renormMean = (1 - f) renormMean + f mean_B, renormStd = (1 - f) renormStd + f sqrt(var_B + eps).
 */
export function updateRenormStats(renormMean: Tensor, renormStd: Tensor, stats: BatchStats, factor: number, eps: number): void {
  const be = backendFor('updateRenormStats', renormMean, renormStd, stats.mean, stats.biasedVar);
  be.runningStatsUpdate({ running: renormMean.storage, batch: stats.mean.storage, momentum: factor, batches: null, transform: 'value', count: null, eps: 0 });
  be.runningStatsUpdate({ running: renormStd.storage, batch: stats.biasedVar.storage, momentum: factor, batches: null, transform: 'std', count: null, eps });
}

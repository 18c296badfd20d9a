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
import { backend } from '../backend/index.js';
import { needsGrad } from '../autograd/graph.js';
import { recordHost } from '../autograd/hostRules.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank, formatShape, numelOf } from '../tensor/shape.js';
import { cloneFloats, emptyFloats, zeroFloats } from '../backend/cpu/alloc.js';

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
  rule: (g: Float32Array, want: { x: boolean; weight: boolean; bias: boolean }) => [Float32Array | null, Float32Array | null, Float32Array | null],
): Tensor {
  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  if (!needsGrad(...inputs)) return out;
  return recordHost(out, name, inputs, (g) => {
    const [gx, gw, gb] = rule(g, { x: x.requiresGrad, weight: weight?.requiresGrad ?? false, bias: bias?.requiresGrad ?? false });
    const grads: (Float32Array | null)[] = [gx];
    if (weight !== null) grads.push(gw);
    if (bias !== null) grads.push(gb);
    return grads;
  });
}

/** running = (1 - m) * running + m * batch; running_var gets var * count / (count - 1). */
export function updateRunningStats(
  runningMean: Tensor | null, runningVar: Tensor | null, mean: ArrayLike<number>, biasedVar: ArrayLike<number>,
  count: ArrayLike<number> | number, momentum: number,
): void {
  const rm = runningMean?.buffer;
  const rv = runningVar?.buffer;
  for (let c = 0; c < mean.length; c++) {
    const m = typeof count === 'number' ? count : count[c];
    // With a single value (possible only for FBN's kept set) the unbiased variance is undefined;
    // the biased one (0) is used.
    const unbiased = m > 1 ? (biasedVar[c] * m) / (m - 1) : biasedVar[c];
    if (rm) rm[c] = (1 - momentum) * rm[c] + momentum * mean[c];
    if (rv) rv[c] = (1 - momentum) * rv[c] + momentum * unbiased;
  }
}

/** Per-channel eval scale/shift: scale = weight / sqrt(running_var + eps), shift = bias - running_mean * scale. */
export function evalScaleShift(runningMean: Tensor, runningVar: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): { scale: Float32Array; shift: Float32Array; invstd: Float32Array } {
  const C = runningMean.size;
  const scale = zeroFloats(C);
  const shift = zeroFloats(C);
  const invstd = zeroFloats(C);
  for (let c = 0; c < C; c++) {
    const r = 1 / Math.sqrt(runningVar.buffer[c] + eps);
    const s = (weight ? weight.buffer[c] : 1) * r;
    invstd[c] = r;
    scale[c] = s;
    shift[c] = (bias ? bias.buffer[c] : 0) - runningMean.buffer[c] * s;
  }
  return { scale, shift, invstd };
}

/** Eval with running statistics: y = x * scale + shift, gradients through the fixed statistics. */
function normalizeWithRunningStats(name: string, x: Tensor, v: ChannelView, runningMean: Tensor, runningVar: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const { scale, shift, invstd } = evalScaleShift(runningMean, runningVar, weight, bias, eps);
  const out = new Tensor(emptyFloats(x.size), x.shape);
  backend.normChannelAffine(x.buffer, v.N, v.C, v.S, scale, shift, out.buffer);
  traceOp('batchNormEval', [x, runningMean, runningVar, weight, bias], out, { eps });
  const mean = cloneFloats(runningMean.buffer);
  return recordNorm(out, name, x, weight, bias, (g, want) => {
    const gx = want.x ? emptyFloats(x.size) : null;
    const gw = want.weight ? zeroFloats(v.C) : null;
    const gb = want.bias ? zeroFloats(v.C) : null;
    backend.batchNormBackward(x.buffer, g, v.N, v.C, v.S, mean, invstd, weight?.buffer ?? null, false, gx, gw, gb, null, 0, null, null);
    return [gx, gw, gb];
  });
}

export interface BatchNormOptions {
  /** Normalize with batch statistics (and update the running ones, when given). */
  training?: boolean;
  /** Factor of the running-statistics update (PyTorch convention, default 0.1). */
  momentum?: number;
  eps?: number;
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
  const fn = 'batchNorm';
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
    return normalizeWithRunningStats(fn, x, v, runningMean, runningVar, weight, bias, eps);
  }
  checkBatchValues(fn, x, v);
  const out = new Tensor(emptyFloats(x.size), x.shape);
  const mean = zeroFloats(v.C);
  const invstd = zeroFloats(v.C);
  const bvar = zeroFloats(v.C);
  backend.batchNormForward(x.buffer, v.N, v.C, v.S, weight?.buffer ?? null, bias?.buffer ?? null, eps, out.buffer, mean, invstd, bvar, 0, null, null, null);
  updateRunningStats(runningMean, runningVar, mean, bvar, v.N * v.S, options.momentum ?? 0.1);
  return recordNorm(out, fn, x, weight, bias, (g, want) => {
    const gx = want.x ? emptyFloats(x.size) : null;
    const gw = want.weight ? zeroFloats(v.C) : null;
    const gb = want.bias ? zeroFloats(v.C) : null;
    backend.batchNormBackward(x.buffer, g, v.N, v.C, v.S, mean, invstd, weight?.buffer ?? null, true, gx, gw, gb, null, 0, null, null);
    return [gx, gw, gb];
  });
}

export interface FilteredBatchNormOptions extends BatchNormOptions {
  /** Filter threshold T in standard deviations (default 4); must be > 0. */
  threshold?: number;
  /** Pool every feature into one scalar mean/variance (the seed's 1-D variant). */
  pooled?: boolean;
}

export interface FilteredStats {
  /** Fraction of the values kept by the filter, per channel (one value when pooled). */
  keptFraction: Float32Array;
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

export function filteredBatchNormWithStats(
  x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null,
  options: FilteredBatchNormOptions, fn = 'filteredBatchNorm',
): { out: Tensor; stats: FilteredStats | null } {
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
  const y = new Tensor(emptyFloats(x.size), x.shape);
  const mean = zeroFloats(C);
  const invstd = zeroFloats(C);
  const bvar = zeroFloats(C);
  const mu0 = zeroFloats(C);
  const rstd0 = zeroFloats(C);
  const kept = zeroFloats(C);
  backend.batchNormForward(x.buffer, sv.N, C, sv.S, kw?.buffer ?? null, kb?.buffer ?? null, eps, y.buffer, mean, invstd, bvar, T, mu0, rstd0, kept);
  for (let c = 0; c < C; c++) {
    if (kept[c] === 0) {
      throw new RangeError(`${fn}: no value of channel ${c} lies within threshold ${T} standard deviations of its mean; use a larger threshold (T >= 1 always keeps some)`);
    }
  }
  const stats: FilteredStats = { keptFraction: kept.map((k) => k / (sv.N * sv.S)) };
  if (pooled) {
    updateRunningStats(runningMean, runningVar, zeroFloats(v.C).fill(mean[0]), zeroFloats(v.C).fill(bvar[0]), kept[0], options.momentum ?? 0.1);
  } else {
    updateRunningStats(runningMean, runningVar, mean, bvar, kept, options.momentum ?? 0.1);
  }
  const core = recordNorm(y, fn, x, kw, kb, (g, want) => {
    const gx = want.x ? emptyFloats(x.size) : null;
    const gw = want.weight ? zeroFloats(C) : null;
    const gb = want.bias ? zeroFloats(C) : null;
    backend.batchNormBackward(x.buffer, g, sv.N, C, sv.S, mean, invstd, kw?.buffer ?? null, true, gx, gw, gb, kept, T, mu0, rstd0);
    return [gx, gw, gb];
  });
  if (!pooled) return { out: core, stats };
  const bshape = [1, v.C, ...x.shape.slice(2).map(() => 1)];
  let out = core;
  if (weight !== null) out = out.mul(weight.reshape(bshape));
  if (bias !== null) out = out.add(bias.reshape(bshape));
  return { out, stats };
}

export interface BatchRenormOptions extends BatchNormOptions {
  /** r is clipped to [1/rMax, rMax] (default 3). */
  rMax?: number;
  /** d is clipped to [-dMax, dMax] (default 5). */
  dMax?: number;
  /** r = 1, d = 0 (plain BN) while true. */
  warmup?: boolean;
}

/**
 * Batch Renormalization (Ioffe 2017; Keras renorm=True). Training:
 *   sigma_B = sqrt(var_B + eps) (biased var), r = clip(sigma_B / renormStd, 1/rMax, rMax),
 *   d = clip((mean_B - renormMean) / renormStd, -dMax, dMax), both constants for the gradient,
 *   y = ((x - mean_B) / sigma_B * r + d) * weight + bias.
 * The caller updates renormMean/renormStd and the running statistics with `onBatchStats`.
 * Eval uses running statistics as batchNorm.
 */
export function batchRenorm(
  x: Tensor, renormMean: Tensor, renormStd: Tensor, runningMean: Tensor | null, runningVar: Tensor | null,
  weight: Tensor | null, bias: Tensor | null, options: BatchRenormOptions = {},
  onBatchStats?: (mean: Float32Array, biasedVar: Float32Array, count: number) => void,
): Tensor {
  const fn = 'batchRenorm';
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
  const rMax = options.rMax ?? 3;
  const dMax = options.dMax ?? 5;
  const mean = zeroFloats(v.C);
  const invstd = zeroFloats(v.C);
  const bvar = zeroFloats(v.C);
  backend.batchNormForward(x.buffer, v.N, v.C, v.S, null, null, eps, null, mean, invstd, bvar, 0, null, null, null);
  const r = zeroFloats(v.C).fill(1);
  const d = zeroFloats(v.C);
  if (!(options.warmup ?? false)) {
    for (let c = 0; c < v.C; c++) {
      const sigmaB = Math.sqrt(bvar[c] + eps);
      const s = renormStd.buffer[c];
      r[c] = Math.min(Math.max(sigmaB / s, 1 / rMax), rMax);
      d[c] = Math.min(Math.max((mean[c] - renormMean.buffer[c]) / s, -dMax), dMax);
    }
  }
  // y = xhat * (r * gamma) + (d * gamma + beta): BN with an effective gamma' = r * gamma.
  const effGamma = zeroFloats(v.C);
  const scale = zeroFloats(v.C);
  const shift = zeroFloats(v.C);
  for (let c = 0; c < v.C; c++) {
    const gm = weight ? weight.buffer[c] : 1;
    const bt = bias ? bias.buffer[c] : 0;
    effGamma[c] = r[c] * gm;
    scale[c] = effGamma[c] * invstd[c];
    shift[c] = d[c] * gm + bt - mean[c] * scale[c];
  }
  const out = new Tensor(emptyFloats(x.size), x.shape);
  backend.normChannelAffine(x.buffer, v.N, v.C, v.S, scale, shift, out.buffer);
  onBatchStats?.(mean, bvar, v.N * v.S);
  return recordNorm(out, fn, x, weight, bias, (g, want) => {
    const gx = want.x ? emptyFloats(x.size) : null;
    const sdyxhat = zeroFloats(v.C);
    const sdy = zeroFloats(v.C);
    backend.batchNormBackward(x.buffer, g, v.N, v.C, v.S, mean, invstd, effGamma, true, gx, sdyxhat, sdy, null, 0, null, null);
    // dgamma = sum(dy * (xhat * r + d)) = r * sum(dy * xhat) + d * sum(dy); dbeta = sum(dy).
    const gw = want.weight ? sdyxhat.map((s, c) => r[c] * s + d[c] * sdy[c]) : null;
    return [gx, gw, want.bias ? sdy : null];
  });
}

/**
 * Normalizes each contiguous group of x viewed as [N, G, Cg, S] with its own mean and biased
 * variance, then applies the per-channel weight/bias. `var` (optional) receives the biased
 * variance per (n, g).
 */
function groupNormCore(fn: string, x: Tensor, N: number, G: number, Cg: number, S: number, weight: Tensor | null, bias: Tensor | null, eps: number, variance: Float32Array | null = null): { out: Tensor; mean: Float32Array } {
  const out = new Tensor(emptyFloats(x.size), x.shape);
  const mean = zeroFloats(N * G);
  const invstd = zeroFloats(N * G);
  backend.groupNormForward(x.buffer, N, G, Cg, S, weight?.buffer ?? null, bias?.buffer ?? null, eps, out.buffer, mean, invstd, variance);
  const C = G * Cg;
  const rec = recordNorm(out, fn, x, weight, bias, (g, want) => {
    const gx = want.x ? emptyFloats(x.size) : null;
    const gw = want.weight ? zeroFloats(C) : null;
    const gb = want.bias ? zeroFloats(C) : null;
    backend.groupNormBackward(x.buffer, g, N, G, Cg, S, mean, invstd, weight?.buffer ?? null, gx, gw, gb);
    return [gx, gw, gb];
  });
  return { out: rec, mean };
}

/** Group normalization (torch.nn.functional.group_norm): statistics per (n, group), biased variance. */
export function groupNorm(x: Tensor, groups: number, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const fn = 'groupNorm';
  if (x.ndim < 2) throw new RangeError(`${fn}: input must have rank >= 2 (N, C, *), got rank ${x.ndim} (shape ${formatShape(x.shape)})`);
  const v = channelView(x);
  if (!Number.isInteger(groups) || groups < 1 || v.C % groups !== 0) {
    throw new RangeError(`${fn}: channels (${v.C}) must be divisible by groups, got groups = ${groups}`);
  }
  checkParam(fn, 'weight', weight, v.C);
  checkParam(fn, 'bias', bias, v.C);
  const out = groupNormCore(fn, x, v.N, groups, v.C / groups, v.S, weight, bias, eps).out;
  traceOp('groupNorm', [x, weight, bias], out, { groups, eps });
  return out;
}

/** Layer normalization over the trailing dims `normalizedShape`, elementwise affine (as PyTorch). */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const fn = 'layerNorm';
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || x.ndim < k || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new RangeError(`${fn}: input must end with the normalized shape ${formatShape(normalizedShape)}, got shape ${formatShape(x.shape)}`);
  }
  const D = numelOf(normalizedShape);
  checkParam(fn, 'weight', weight, D);
  checkParam(fn, 'bias', bias, D);
  const out = groupNormCore(fn, x, x.size / Math.max(D, 1), 1, D, 1, weight, bias, eps).out;
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
  const bvar = zeroFloats(v.N * v.C);
  const { out, mean } = groupNormCore(fn, x, v.N, v.C, 1, v.S, weight, bias, eps, bvar);
  // Instance statistics are GroupNorm's with one channel per group.
  traceOp('groupNorm', [x, weight, bias], out, { groups: v.C, eps });
  if (runningMean !== null || runningVar !== null) {
    const m = new Float64Array(v.C);
    const s = new Float64Array(v.C);
    for (let n = 0; n < v.N; n++) {
      for (let c = 0; c < v.C; c++) {
        m[c] += mean[n * v.C + c] / v.N;
        s[c] += bvar[n * v.C + c] / v.N;
      }
    }
    updateRunningStats(runningMean, runningVar, m, s, v.S, options.momentum ?? 0.1);
  }
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

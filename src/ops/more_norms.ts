// The normalizations beyond the seeds' layers: RMSNorm, channels-first LayerNorm / RMSNorm
// (timm's LayerNorm2d / RmsNorm2d), LocalResponseNorm, Filter Response Normalization with TLU,
// EvoNorm B0 and S0, GroupNorm + activation. LayerNorm2d, RmsNorm2d, FRN and EvoNorm B0/S0 run
// on the fused kernels of native/channel_norm.cc, LocalResponseNorm on those of
// native/kernels/local_response_norm.cc, with their own gradient rules; the others are
// built from elementwise and reduction ops (whose rules give the gradients) with the trace tape
// paused. Each records itself as one trace entry that src/interop/onnx_norm.ts decomposes into
// ONNX opset-13 nodes. Inputs are (N, C, *) unless stated.
import { traceOp, untraced } from '../autograd/trace.js';
import { needsGrad, record } from '../autograd/graph.js';
import { backendFor, type Backend, type Storage } from '../backend/index.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank, formatShape, numelOf } from '../tensor/shape.js';
import { sigmoid, relu, rsqrt, tanh } from './elementwise.js';
import { groupNormFusedAct } from './norm.js';
import type { NormAct } from '../backend/kernels/norm.js';

function checkPerChannel(fn: string, arg: string, t: Tensor | null, C: number): void {
  if (t !== null && t.size !== C) throw new RangeError(`${fn}: ${arg} must have ${C} values (one per channel), got shape ${formatShape(t.shape)}`);
}

/** [1, C, 1, ...] for broadcasting a per-channel vector against x. */
function channelShape(x: Tensor): number[] {
  return x.shape.map((d, i) => (i === 1 ? d : 1));
}

/**
 * RMSNorm (Zhang & Sennrich 2019; torch.nn.RMSNorm since PyTorch 2.4):
 * y = x / sqrt(mean(x^2 over the trailing dims normalizedShape) + eps) * weight.
 * eps null: float32's machine epsilon (1.1920929e-7), PyTorch's default.
 */
export function rmsNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, eps: number | null = null): Tensor {
  const fn = 'rmsNorm';
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || x.ndim < k || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new RangeError(`${fn}: input must end with the normalized shape ${formatShape(normalizedShape)}, got shape ${formatShape(x.shape)}`);
  }
  if (weight !== null && weight.size !== numelOf(normalizedShape)) {
    throw new RangeError(`${fn}: weight must have shape ${formatShape(normalizedShape)}, got ${formatShape(weight.shape)}`);
  }
  const e = eps ?? 1.1920928955078125e-7;
  const dims = normalizedShape.map((_, i) => x.ndim - k + i);
  const out = untraced(() => {
    const y = x.mul(rsqrt(x.mul(x).mean(dims, true).add(e)));
    return weight === null ? y : y.mul(weight.reshape([...normalizedShape]));
  });
  traceOp('rmsNorm', [x, weight], out, { eps: e, axes: dims });
  return out;
}

/**
 * Channels-first RMSNorm (timm's RmsNorm2d): per (n, h, w), y = x / sqrt(mean(x^2 over C) + eps)
 * * weight[c].
 */
export function rmsNorm2d(x: Tensor, weight: Tensor | null = null, eps = 1e-6): Tensor {
  const fn = 'rmsNorm2d';
  checkRank(fn, 'input', x.shape, [3, 4, 5]);
  checkPerChannel(fn, 'weight', weight, x.shape[1]);
  const out = channelNorm(fn, x, weight, null, eps, false);
  traceOp('rmsNorm', [x, weight], out, { eps, axes: [1] });
  return out;
}

/**
 * Normalization over the channels at each position on the fused kernel (native/channel_norm.cc):
 * center true is LayerNorm2d, false RmsNorm2d. One read of x and one write of y forward; one read
 * of x and dy and one write of dx backward.
 */
function channelNorm(fn: string, x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, center: boolean): Tensor {
  const be = backendFor(fn, x, weight, bias);
  const [N, C] = x.shape;
  const S = x.size / (N * C);
  const out = new Tensor(be.empty(x.size), x.shape);
  const mean = center ? be.empty(N * S) : null;
  const invstd = be.empty(N * S);
  const gamma = weight?.storage ?? null;
  be.channelNormForward({ x: x.storage, N, C, S, gamma, beta: bias?.storage ?? null, eps, center, y: out.storage, mean, invstd });
  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  if (!needsGrad(...inputs)) return out;
  return record(out, fn, inputs, (g) => {
    const gx = x.requiresGrad ? be.empty(x.size) : null;
    const gw = weight?.requiresGrad ? be.zeros(C) : null;
    const gb = bias?.requiresGrad ? be.zeros(C) : null;
    be.channelNormBackward({ x: x.storage, dy: g, N, C, S, mean, invstd, gamma, center, dx: gx, dgamma: gw, dbeta: gb });
    const grads: (Storage | null)[] = [gx];
    if (weight !== null) grads.push(gw);
    if (bias !== null) grads.push(gb);
    return grads;
  });
}

/** The storage of a per-channel tensor, or C copies of `value` when it is absent. */
function orFull(be: Backend, t: Tensor | null, C: number, value: number): Storage {
  return t === null ? be.full(C, value) : t.storage;
}

/**
 * Channels-first LayerNorm (timm's LayerNorm2d): per (n, h, w), the mean and biased variance over
 * C; y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c].
 */
export function layerNorm2d(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-6): Tensor {
  const fn = 'layerNorm2d';
  checkRank(fn, 'input', x.shape, [3, 4, 5]);
  const C = x.shape[1];
  checkPerChannel(fn, 'weight', weight, C);
  checkPerChannel(fn, 'bias', bias, C);
  const out = channelNorm(fn, x, weight, bias, eps, true);
  traceOp('layerNorm2d', [x, weight, bias], out, { eps });
  return out;
}

export interface LocalResponseNormOptions {
  alpha?: number;
  beta?: number;
  k?: number;
}

/**
 * Local response normalization across channels (torch.nn.LocalResponseNorm):
 * b_c = a_c / (k + alpha / size * sum_{c' = c - floor(size/2)}^{c + floor((size-1)/2)} a_{c'}^2)^beta,
 * channels outside [0, C) count as zero (the sum is always divided by size, as PyTorch does).
 * Inputs of any rank >= 3, channels on dim 1.
 */
export function localResponseNorm(x: Tensor, size: number, options: LocalResponseNormOptions = {}): Tensor {
  const fn = 'localResponseNorm';
  if (x.ndim < 3) throw new RangeError(`${fn}: input must have rank 3 or more, got rank ${x.ndim} (shape ${formatShape(x.shape)})`);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`${fn}: size must be a positive integer, got ${size}`);
  const alpha = options.alpha ?? 1e-4;
  const beta = options.beta ?? 0.75;
  const k = options.k ?? 1;
  // The fused kernels (native/kernels/local_response_norm.cc): one read of x and one write of y
  // forward; one read of x and dy and one write of dx backward (the window sums are recomputed).
  const be = backendFor(fn, x);
  const [N, C] = x.shape;
  const S = numelOf(x.shape.slice(2));
  const out = new Tensor(be.empty(x.size), x.shape);
  be.localResponseNormForward({ x: x.storage, N, C, S, size, alpha, beta, k, y: out.storage });
  if (needsGrad(x)) {
    record(out, fn, [x], (g) => {
      const gx = be.empty(x.size);
      be.localResponseNormBackward({ x: x.storage, dy: g, N, C, S, size, alpha, beta, k, dx: gx });
      return [gx];
    });
  }
  traceOp('localResponseNorm', [x], out, { size, alpha, beta, k });
  return out;
}

/**
 * Filter Response Normalization with a thresholded linear unit (Singh & Krishnan 2019, timm's
 * FilterResponseNormTlu2d): nu2 = mean(x^2 over H, W) per (n, c);
 * y = max(x / sqrt(nu2 + eps) * weight + bias, tau); tau null: no TLU.
 */
export function filterResponseNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, tau: Tensor | null, eps = 1e-5): Tensor {
  const fn = 'filterResponseNorm';
  checkRank(fn, 'input', x.shape, [3, 4, 5]);
  const C = x.shape[1];
  checkPerChannel(fn, 'weight', weight, C);
  checkPerChannel(fn, 'bias', bias, C);
  checkPerChannel(fn, 'tau', tau, C);
  // The fused kernel (native/channel_norm.cc): one read of x and one write of y forward, one
  // read of x and dy and one write of dx backward.
  const be = backendFor(fn, x, weight, bias, tau);
  const [N] = x.shape;
  const S = x.size / (N * C);
  const gamma = orFull(be, weight, C, 1);
  const beta = orFull(be, bias, C, 0);
  const tauS = tau?.storage ?? null;
  const out = new Tensor(be.empty(x.size), x.shape);
  const rstd = be.empty(N * C);
  be.frnForward({ x: x.storage, N, C, S, gamma, beta, tau: tauS, eps, y: out.storage, rstd });
  const inputs = [x, weight, bias, tau].filter((t): t is Tensor => t !== null);
  if (needsGrad(...inputs)) {
    record(out, fn, inputs, (g) => {
      const gx = x.requiresGrad ? be.empty(x.size) : null;
      const gw = weight?.requiresGrad ? be.zeros(C) : null;
      const gb = bias?.requiresGrad ? be.zeros(C) : null;
      const gt = tau?.requiresGrad ? be.zeros(C) : null;
      be.frnBackward({ x: x.storage, dy: g, N, C, S, rstd, gamma, beta, tau: tauS, dx: gx, dgamma: gw, dbeta: gb, dtau: gt });
      const grads: (Storage | null)[] = [gx];
      if (weight !== null) grads.push(gw);
      if (bias !== null) grads.push(gb);
      if (tau !== null) grads.push(gt);
      return grads;
    });
  }
  traceOp('filterResponseNorm', [x, weight, bias, tau], out, { eps });
  return out;
}

export interface EvoNormB0Options {
  /** Batch variance over (N, H, W) (training) instead of runningVar (eval). */
  training?: boolean;
  eps?: number;
  /**
   * Training: receives the biased batch variance per channel (a tensor of shape [C] on the
   * input's device) and the values behind it, for the running update.
   */
  onBatchVar?: (biasedVar: Tensor, count: number) => void;
}

/**
 * EvoNorm-B0 (Liu et al. 2020, as timm's EvoNorm2dB0):
 * y = x / max(sqrt(var_B + eps), v * x + sqrt(var_instance + eps)) * weight + bias, var_B the
 * biased batch variance over (N, H, W) in training (gradient flows through it) and runningVar
 * in eval; var_instance the biased variance over (H, W) per (n, c). v null: y = x * weight + bias.
 * Runs on the fused kernel of native/channel_norm.cc (batch statistics from the BN kernel).
 */
export function evoNormB0(x: Tensor, runningVar: Tensor | null, v: Tensor | null, weight: Tensor | null, bias: Tensor | null, options: EvoNormB0Options = {}): Tensor {
  const fn = 'evoNormB0';
  checkRank(fn, 'input', x.shape, [3, 4, 5]);
  const C = x.shape[1];
  for (const [n, t] of [['runningVar', runningVar], ['v', v], ['weight', weight], ['bias', bias]] as const) checkPerChannel(fn, n, t, C);
  const training = options.training ?? false;
  const eps = options.eps ?? 1e-3;
  if (v !== null && !training && runningVar === null) throw new Error(`${fn}: runningVar is required in eval when v is given`);
  const cs = channelShape(x);
  let out: Tensor;
  if (v !== null) {
    const be = backendFor(fn, x, training ? null : runningVar, v, weight, bias);
    const N = x.shape[0];
    const S = x.size / (N * C);
    const gamma = orFull(be, weight, C, 1);
    const beta = orFull(be, bias, C, 0);
    let variance: Storage;
    let batchMean: Storage | null = null;
    if (training) {
      batchMean = be.empty(C);
      variance = be.empty(C);
      const invstd = be.empty(C);
      be.batchNormForward({
        x: x.storage, N, C, S, gamma: null, beta: null, eps, y: null, mean: batchMean, invstd, variance,
        threshold: 0, mu0: null, rstd0: null, kept: null,
      });
      be.release(invstd);
      options.onBatchVar?.(new Tensor(variance, [C]), N * S);
    } else {
      // The running variance as it is now: a later training forward updates it in place.
      variance = be.empty(C);
      be.copy(runningVar!.storage, variance);
    }
    const out0 = new Tensor(be.empty(x.size), x.shape);
    const mean = be.empty(N * C);
    const sd = be.empty(N * C);
    be.evoNormB0Forward({ x: x.storage, N, C, S, variance, v: v.storage, w: gamma, b: beta, eps, y: out0.storage, mean, sd });
    const inputs = [x, v, weight, bias].filter((t): t is Tensor => t !== null);
    out = record(out0, fn, inputs, (g) => {
      const gx = x.requiresGrad ? be.empty(x.size) : null;
      const gv = v.requiresGrad ? be.zeros(C) : null;
      const gw = weight?.requiresGrad ? be.zeros(C) : null;
      const gb = bias?.requiresGrad ? be.zeros(C) : null;
      be.evoNormB0Backward({
        x: x.storage, dy: g, N, C, S, variance, v: v.storage, w: gamma, eps, mean, sd, batchMean, dx: gx, dv: gv, dw: gw, db: gb,
      });
      const grads: (Storage | null)[] = [gx, gv];
      if (weight !== null) grads.push(gw);
      if (bias !== null) grads.push(gb);
      return grads;
    });
  } else {
    out = untraced(() => {
      let y = x;
      if (weight !== null) y = y.mul(weight.reshape(cs));
      if (bias !== null) y = y.add(bias.reshape(cs));
      return y;
    });
  }
  traceOp('evoNormB0', [x, training ? null : runningVar, v, weight, bias], out, { eps });
  return out;
}

/**
 * EvoNorm-S0 (Liu et al. 2020, as timm's EvoNorm2dS0):
 * y = x * sigmoid(v * x) / sqrt(var_group + eps) * weight + bias, var_group the biased variance
 * per (n, group) over the group's channels and spatial dims. v null: y = x * weight + bias.
 */
export function evoNormS0(x: Tensor, groups: number, v: Tensor | null, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const fn = 'evoNormS0';
  checkRank(fn, 'input', x.shape, [3, 4, 5]);
  const C = x.shape[1];
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) throw new RangeError(`${fn}: channels (${C}) must be divisible by groups, got groups = ${groups}`);
  for (const [n, t] of [['v', v], ['weight', weight], ['bias', bias]] as const) checkPerChannel(fn, n, t, C);
  const cs = channelShape(x);
  let out: Tensor;
  if (v !== null) {
    // The fused kernel (native/channel_norm.cc): statistics, sigmoid and affine in one pass.
    const be = backendFor(fn, x, v, weight, bias);
    const N = x.shape[0];
    const S = x.size / (N * C);
    const Cg = C / groups;
    const gamma = orFull(be, weight, C, 1);
    const beta = orFull(be, bias, C, 0);
    const out0 = new Tensor(be.empty(x.size), x.shape);
    const mean = be.empty(N * groups);
    const rstd = be.empty(N * groups);
    be.evoNormS0Forward({ x: x.storage, N, G: groups, Cg, S, v: v.storage, w: gamma, b: beta, eps, y: out0.storage, mean, rstd });
    const inputs = [x, v, weight, bias].filter((t): t is Tensor => t !== null);
    out = record(out0, fn, inputs, (g) => {
      const gx = x.requiresGrad ? be.empty(x.size) : null;
      const gv = v.requiresGrad ? be.zeros(C) : null;
      const gw = weight?.requiresGrad ? be.zeros(C) : null;
      const gb = bias?.requiresGrad ? be.zeros(C) : null;
      be.evoNormS0Backward({ x: x.storage, dy: g, N, G: groups, Cg, S, v: v.storage, w: gamma, mean, rstd, dx: gx, dv: gv, dw: gw, db: gb });
      const grads: (Storage | null)[] = [gx, gv];
      if (weight !== null) grads.push(gw);
      if (bias !== null) grads.push(gb);
      return grads;
    });
  } else {
    out = untraced(() => {
      let y = x;
      if (weight !== null) y = y.mul(weight.reshape(cs));
      if (bias !== null) y = y.add(bias.reshape(cs));
      return y;
    });
  }
  traceOp('evoNormS0', [x, v, weight, bias], out, { eps, groups });
  return out;
}

export type NormActivation = 'relu' | 'sigmoid' | 'tanh' | 'identity';
export const NORM_ACTIVATIONS: readonly NormActivation[] = ['relu', 'sigmoid', 'tanh', 'identity'];

export function applyActivation(x: Tensor, act: NormActivation): Tensor {
  switch (act) {
    case 'relu':
      return relu(x);
    case 'sigmoid':
      return sigmoid(x);
    case 'tanh':
      return tanh(x);
    case 'identity':
      return x;
  }
}

/** The fused-kernel activation of a layer activation ('identity': none). */
export function normKernelAct(act: NormActivation): NormAct {
  return act === 'identity' ? 'none' : act;
}

/**
 * GroupNorm followed by an activation (timm's GroupNormAct), traced as one entry. The activation
 * runs inside the GN kernels: one forward sweep writes act(v) and the backward applies act' in
 * its reductions, with no pre-activation tensor.
 */
export function groupNormAct(x: Tensor, groups: number, weight: Tensor | null, bias: Tensor | null, eps: number, act: NormActivation): Tensor {
  const out = groupNormFusedAct('groupNormAct', x, groups, weight, bias, eps, normKernelAct(act), 0);
  traceOp('groupNormAct', [x, weight, bias], out, { eps, groups, act: NORM_ACTIVATIONS.indexOf(act) });
  return out;
}

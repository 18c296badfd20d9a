// Normalization kernels (native/norm.cc, native/channel_norm.cc, native/local_response_norm.cc). x is viewed as [N, C, S]
// (S = product of the dims after the channel dim). Every kernel takes one argument object: storage
// handles for arrays (optional ones null), numbers and flags for sizes and options. Kernels
// write their results into the output handles they are given and return nothing.
import type { Storage } from '../storage.js';

/** x viewed as [N, C, S]. */
export interface NormView {
  x: Storage;
  N: number;
  C: number;
  S: number;
}

/**
 * An activation fused into a normalization kernel: the forward writes act(v) for the normalized
 * affine value v and stores no v; the backward recomputes v from x and the statistics and
 * applies act'(v) inside its reductions. 'none': the plain kernel. 'leakyRelu' takes its
 * negative slope from actParam.
 */
export type NormAct = 'none' | 'relu' | 'leakyRelu' | 'sigmoid' | 'tanh';

/** The fused activation fields of the BN and GN kernel arguments (absent: 'none', 0). */
export interface NormActArgs {
  act?: NormAct;
  actParam?: number;
}

export interface BatchNormForwardArgs extends NormView, NormActArgs {
  /** Per-channel scale and shift (C values each); null: 1 and 0. */
  gamma: Storage | null;
  beta: Storage | null;
  eps: number;
  /** The output (N * C * S values); null computes the statistics only. */
  y: Storage | null;
  /** Per-channel outputs (C values each): the batch mean, invstd = 1 / sqrt(var + eps), the biased var. */
  mean: Storage;
  invstd: Storage;
  variance: Storage;
  /**
   * > 0 selects Filtered BN with this threshold T in standard deviations: mu0, rstd0 (= 1 /
   * sqrt(unbiased var0 + 1e-10)) and kept (the number of values with |z| < T, as a float) are
   * written, C values each; mean, invstd and variance are then those of the kept values.
   * <= 0: plain BN (mu0, rstd0, kept null). Filtered BN takes no activation (act 'none').
   */
  threshold: number;
  mu0: Storage | null;
  rstd0: Storage | null;
  kept: Storage | null;
}

export interface BatchNormBackwardArgs extends NormView, NormActArgs {
  dy: Storage;
  /** Saved per-channel mean and invstd (C values each). */
  mean: Storage;
  invstd: Storage;
  gamma: Storage | null;
  /** True: the gradient of batchNormForward (statistics depend on x); false: of the eval-mode affine. */
  batchStats: boolean;
  /** Outputs; null skips a gradient. dgamma and dbeta (C values) are overwritten. */
  dx: Storage | null;
  dgamma: Storage | null;
  dbeta: Storage | null;
  /** Filtered BN: the kept counts, threshold, mu0 and rstd0 of the forward (else null, 0, null, null). */
  count: Storage | null;
  threshold: number;
  mu0: Storage | null;
  rstd0: Storage | null;
  /** The forward's beta (null or absent: 0); read only with an activation, to recompute its input. */
  beta?: Storage | null;
}

export interface NormChannelAffineArgs extends NormView {
  /** y = x * scale[c] + shift[c] (C values each). */
  scale: Storage;
  shift: Storage;
  y: Storage;
}

/**
 * Per-channel scale and shift of eval-mode batch normalization from running statistics (C values
 * each): invstd = 1 / sqrt(runningVar + eps), scale = weight * invstd, shift = bias - runningMean *
 * scale (weight null: 1, bias null: 0).
 */
export interface NormEvalScaleShiftArgs {
  runningMean: Storage;
  runningVar: Storage;
  weight: Storage | null;
  bias: Storage | null;
  eps: number;
  scale: Storage;
  shift: Storage;
  invstd: Storage;
}

/**
 * In-place update of a running statistic (C = running.length values):
 * running = (1 - f) * running + f * value, f = momentum, or 1 / batches[0] when momentum is null
 * (the cumulative average over the batches counted so far, this one included).
 * `batch` holds R * C values viewed as [R, C], whose average over the R rows is the batch
 * statistic, or 1 value used for every channel (pooled statistics). `value` is the batch
 * statistic itself ('value'), its unbiased form stat * m / (m - 1) for a biased variance over m
 * values ('unbiased'; the biased one when m <= 1), or sqrt(stat + eps) ('std').
 */
export interface RunningStatsUpdateArgs {
  running: Storage;
  batch: Storage;
  momentum: number | null;
  /** num_batches_tracked (1 value); read only when momentum is null. */
  batches: Storage | null;
  transform: 'value' | 'unbiased' | 'std';
  /** 'unbiased': values behind each statistic, one number for all, or one per entry of batch. */
  count: number | Storage | null;
  /** 'std': added to the variance before the square root. */
  eps: number;
}

/**
 * Batch Renormalization's per-channel terms (C values each), from the batch mean and biased
 * variance and the renorm statistics: sigma_B = sqrt(variance + eps),
 * r = clip(sigma_B / renormStd, 1/rMax, rMax), d = clip((mean - renormMean) / renormStd, -dMax, dMax)
 * (r = 1, d = 0 during warm-up); gamma = r * weight (the effective gamma of BN's backward), and
 * y = x * scale + shift with scale = gamma * invstd, shift = d * weight + bias - mean * scale.
 */
export interface BatchRenormParamsArgs {
  mean: Storage;
  variance: Storage;
  invstd: Storage;
  renormMean: Storage;
  renormStd: Storage;
  weight: Storage | null;
  bias: Storage | null;
  eps: number;
  rMax: number;
  dMax: number;
  /** Warm-up: while warmup is true, or batches[0] < warmupSteps (batches null: no count). */
  warmup: boolean;
  batches: Storage | null;
  warmupSteps: number;
  r: Storage;
  d: Storage;
  gamma: Storage;
  scale: Storage;
  shift: Storage;
}

/** x viewed as [N, G, Cg, S]: statistics per (n, group), per-channel affine (C = G * Cg). */
export interface GroupView {
  x: Storage;
  N: number;
  G: number;
  Cg: number;
  S: number;
}

export interface GroupNormForwardArgs extends GroupView, NormActArgs {
  gamma: Storage | null;
  beta: Storage | null;
  eps: number;
  y: Storage;
  /** N * G values each; variance (the biased one) null: not written. */
  mean: Storage;
  invstd: Storage;
  variance: Storage | null;
}

export interface GroupNormBackwardArgs extends GroupView, NormActArgs {
  dy: Storage;
  mean: Storage;
  invstd: Storage;
  gamma: Storage | null;
  dx: Storage | null;
  dgamma: Storage | null;
  dbeta: Storage | null;
  /** The forward's beta (null or absent: 0); read only with an activation, to recompute its input. */
  beta?: Storage | null;
}

/**
 * Channels-first normalization per position: each (n, s) over its C values; center true:
 * LayerNorm2d (mean written), false: RmsNorm2d (mean null). invstd (and mean) hold N * S values.
 */
export interface ChannelNormForwardArgs extends NormView {
  gamma: Storage | null;
  beta: Storage | null;
  eps: number;
  center: boolean;
  y: Storage;
  mean: Storage | null;
  invstd: Storage;
}

export interface ChannelNormBackwardArgs extends NormView {
  dy: Storage;
  mean: Storage | null;
  invstd: Storage;
  gamma: Storage | null;
  center: boolean;
  dx: Storage | null;
  dgamma: Storage | null;
  dbeta: Storage | null;
}

/**
 * Filter Response Normalization + TLU per row (n, c) of x viewed as [N * C, S]; rstd receives
 * 1 / sqrt(mean(x^2) + eps) per row (N * C values); tau null: no TLU.
 */
export interface FrnForwardArgs extends NormView {
  gamma: Storage;
  beta: Storage;
  tau: Storage | null;
  eps: number;
  y: Storage;
  rstd: Storage;
}

export interface FrnBackwardArgs extends NormView {
  dy: Storage;
  rstd: Storage;
  gamma: Storage;
  beta: Storage;
  tau: Storage | null;
  dx: Storage | null;
  dgamma: Storage | null;
  dbeta: Storage | null;
  dtau: Storage | null;
}

/**
 * EvoNorm-S0 per group (n, g) of x viewed as [N, G, Cg, S]: y = x * sigmoid(v x) * rstd * w + b,
 * rstd = 1 / sqrt(biased group variance + eps); mean and rstd receive N * G values.
 */
export interface EvoNormS0ForwardArgs extends GroupView {
  v: Storage;
  w: Storage;
  b: Storage;
  eps: number;
  y: Storage;
  mean: Storage;
  rstd: Storage;
}

export interface EvoNormS0BackwardArgs extends GroupView {
  dy: Storage;
  v: Storage;
  w: Storage;
  mean: Storage;
  rstd: Storage;
  dx: Storage | null;
  dv: Storage | null;
  dw: Storage | null;
  db: Storage | null;
}

/**
 * EvoNorm-B0 per row (n, c) of x viewed as [N * C, S]: y = x / max(left, v x + sqrt(row var + eps))
 * * w + b with left[c] = sqrt(variance[c] + eps): variance is the biased batch variance (training)
 * or running_var (eval), C values. mean and sd receive N * C values.
 */
export interface EvoNormB0ForwardArgs extends NormView {
  variance: Storage;
  v: Storage;
  w: Storage;
  b: Storage;
  eps: number;
  y: Storage;
  mean: Storage;
  sd: Storage;
}

/**
 * batchMean: the batch mean (training: left depends on x through the biased batch variance) or
 * null (eval: left is constant).
 */
export interface EvoNormB0BackwardArgs extends NormView {
  dy: Storage;
  variance: Storage;
  v: Storage;
  w: Storage;
  eps: number;
  mean: Storage;
  sd: Storage;
  batchMean: Storage | null;
  dx: Storage | null;
  dv: Storage | null;
  dw: Storage | null;
  db: Storage | null;
}

/**
 * Local response normalization across channels (torch.nn.LocalResponseNorm) of x viewed as
 * [N, C, S]: y_c = x_c * (k + alpha / size * sum of x_{c'}^2 over c' in [c - floor(size / 2),
 * c + floor((size - 1) / 2)])^(-beta), channels outside [0, C) counting as zero.
 */
export interface LocalResponseNormForwardArgs extends NormView {
  size: number;
  alpha: number;
  beta: number;
  k: number;
  y: Storage;
}

/** dx receives the input gradient for output gradient dy (the window sums are recomputed from x). */
export interface LocalResponseNormBackwardArgs extends NormView {
  dy: Storage;
  size: number;
  alpha: number;
  beta: number;
  k: number;
  dx: Storage;
}

export interface NormKernels {
  /**
   * Training-mode batch statistics per channel and y = (x - mean) * invstd * gamma + beta (plain
   * or Filtered BN, see BatchNormForwardArgs).
   */
  batchNormForward(args: BatchNormForwardArgs): void;
  /** Gradients of batchNormForward (batchStats true) or of the eval-mode affine (batchStats false). */
  batchNormBackward(args: BatchNormBackwardArgs): void;
  /** y = x * scale[c] + shift[c]. */
  normChannelAffine(args: NormChannelAffineArgs): void;
  /** Eval-mode scale, shift and invstd from running statistics. */
  normEvalScaleShift(args: NormEvalScaleShiftArgs): void;
  /** running = (1 - f) running + f batch statistic, in place. */
  runningStatsUpdate(args: RunningStatsUpdateArgs): void;
  /** Batch Renorm's r, d, effective gamma, scale and shift. */
  batchRenormParams(args: BatchRenormParamsArgs): void;
  groupNormForward(args: GroupNormForwardArgs): void;
  groupNormBackward(args: GroupNormBackwardArgs): void;
  channelNormForward(args: ChannelNormForwardArgs): void;
  channelNormBackward(args: ChannelNormBackwardArgs): void;
  frnForward(args: FrnForwardArgs): void;
  frnBackward(args: FrnBackwardArgs): void;
  evoNormS0Forward(args: EvoNormS0ForwardArgs): void;
  evoNormS0Backward(args: EvoNormS0BackwardArgs): void;
  evoNormB0Forward(args: EvoNormB0ForwardArgs): void;
  evoNormB0Backward(args: EvoNormB0BackwardArgs): void;
  localResponseNormForward(args: LocalResponseNormForwardArgs): void;
  localResponseNormBackward(args: LocalResponseNormBackwardArgs): void;
}

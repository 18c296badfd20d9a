// Loss-family kernels: softmax over the last dim of an [rows, cols] view, cross-entropy / NLL
// with int32 class indices, MSE, BCE-with-logits and dropout masks. Every kernel takes one
// argument object of storage handles and sizes; results, including a loss value or a count of
// rows, are written into output storage (nothing comes back to the host).
import type { Storage } from '../storage.js';

/**
 * How a loss over many terms (rows, elements) is reduced: 'mean' (one value), 'sum' (one
 * value) or 'none' (one value per term).
 */
export type LossReduction = 'mean' | 'sum' | 'none';

export interface SoftmaxForwardArgs {
  /** [rows, cols] input, softmax taken along cols. */
  x: Storage;
  rows: number;
  cols: number;
  /** [rows, cols] output. */
  y: Storage;
  /** Log-softmax instead of softmax. */
  log: boolean;
}

export interface SoftmaxBackwardArgs {
  /** The forward's output (softmax or log-softmax values), [rows, cols]. */
  y: Storage;
  /** Gradient of the output. */
  gy: Storage;
  rows: number;
  cols: number;
  /** Gradient of the input (written). */
  gx: Storage;
  log: boolean;
}

export interface CrossEntropyForwardArgs {
  /** [N, C] logits. */
  logits: Storage;
  N: number;
  C: number;
  /** int32, N class indices in [0, C) or equal to ignoreIndex. */
  target: Storage;
  /** Label smoothing: the target distribution is (1 - eps) * onehot + eps / C. */
  eps: number;
  /** Rows whose target equals this contribute 0 and are not counted. */
  ignoreIndex: number;
  reduction: LossReduction;
  /** 1 value ('mean': over the counted rows; 'sum') or N values ('none', 0 on ignored rows). */
  out: Storage;
  /** 1 value: the number of rows whose target is not ignoreIndex (what crossEntropyBackward's 'mean' divides by). */
  count: Storage;
}

export interface CrossEntropyBackwardArgs {
  logits: Storage;
  N: number;
  C: number;
  target: Storage;
  eps: number;
  ignoreIndex: number;
  reduction: LossReduction;
  /** Upstream gradient: 1 value ('mean', 'sum') or N values ('none'). */
  gy: Storage;
  /** The forward's count (read for 'mean' only). */
  count: Storage;
  /** [N, C]: row scale s_i * (softmax(logits_i) - target distribution), 0 on ignored rows. */
  gx: Storage;
}

export interface NllLossForwardArgs {
  /** [N, C] log-probabilities. */
  logp: Storage;
  N: number;
  C: number;
  /** int32, N class indices in [0, C) or equal to ignoreIndex. */
  target: Storage;
  ignoreIndex: number;
  reduction: LossReduction;
  /** 1 value (mean or sum of -logp[i, t_i] over counted rows) or N values ('none', 0 on ignored rows). */
  out: Storage;
  /** 1 value: the number of rows whose target is not ignoreIndex. */
  count: Storage;
}

export interface NllLossBackwardArgs {
  N: number;
  C: number;
  target: Storage;
  ignoreIndex: number;
  reduction: LossReduction;
  /** Upstream gradient: 1 value ('mean', 'sum') or N values ('none'). */
  gy: Storage;
  /** The forward's count (read for 'mean' only). */
  count: Storage;
  /** [N, C]: -(row's upstream gradient, / count for 'mean') at [i, t_i], 0 elsewhere. */
  gx: Storage;
}

export interface ClassTargetsArgs {
  /** n float32 values that must be integer class indices (a user's target tensor). */
  values: Storage;
  n: number;
  /** Number of classes C: each value must be in [0, C) or equal ignoreIndex. */
  classes: number;
  ignoreIndex: number;
  /** int32, n values (written). */
  out: Storage;
  /** Function name for the error a bad value raises ("<fn>: target[i] = v ..."). */
  fn: string;
}

export interface MseLossForwardArgs {
  a: Storage;
  b: Storage;
  n: number;
  reduction: LossReduction;
  /** 1 value (mean or sum of (a - b)^2) or n values ('none'). */
  out: Storage;
}

export interface MseLossBackwardArgs {
  a: Storage;
  b: Storage;
  n: number;
  reduction: LossReduction;
  /** Upstream gradient: 1 value ('mean', 'sum') or n values ('none'). */
  gy: Storage;
  /** d/da = 2 (a - b) * upstream (/ n for 'mean'); null when not wanted. */
  ga: Storage | null;
  /** d/db = -d/da; null when not wanted. */
  gb: Storage | null;
}

export interface BceWithLogitsForwardArgs {
  /** Logits. */
  x: Storage;
  /** Targets in [0, 1]. */
  y: Storage;
  n: number;
  reduction: LossReduction;
  /** max(x, 0) - x*y + log(1 + exp(-|x|)): 1 value (mean or sum) or n values ('none'). */
  out: Storage;
}

export interface BceWithLogitsBackwardArgs {
  x: Storage;
  y: Storage;
  n: number;
  reduction: LossReduction;
  /** Upstream gradient: 1 value ('mean', 'sum') or n values ('none'). */
  gy: Storage;
  /** d/dx = (sigmoid(x) - y) * upstream (/ n for 'mean'); null when not wanted. */
  gx: Storage | null;
  /** d/dy = -x * upstream (/ n for 'mean'); null when not wanted. */
  gTarget: Storage | null;
}

export interface DropoutMaskArgs {
  /** Safe integer seed of the counter-based generator: u(seed, i) uniform in [0, 1). */
  seed: number;
  /** Drop probability in [0, 1). */
  p: number;
  n: number;
  /** n values (written): 1/(1-p) where u(seed, i) >= p, else 0. */
  mask: Storage;
}

export interface LossKernels {
  /** y = softmax(x) row-wise, or log-softmax when `log` (max-subtracted, stable). */
  softmaxForward(args: SoftmaxForwardArgs): void;
  /** gx from the saved output y: softmax y*(gy - sum(gy*y)); log-softmax gy - exp(y)*sum(gy). */
  softmaxBackward(args: SoftmaxBackwardArgs): void;
  /**
   * loss_i = (1 - eps) * (-logp[i, t_i]) + eps * mean_c(-logp[i, c]), logp = logSoftmax(logits);
   * reduced over the rows whose target is not ignoreIndex.
   */
  crossEntropyForward(args: CrossEntropyForwardArgs): void;
  /** The fused gradient (softmax - target distribution) times each row's upstream scale. */
  crossEntropyBackward(args: CrossEntropyBackwardArgs): void;
  /** loss_i = -logp[i, t_i], reduced over the rows whose target is not ignoreIndex. */
  nllLossForward(args: NllLossForwardArgs): void;
  /** The gradient of nllLossForward: a scatter of the upstream gradient to [i, t_i]. */
  nllLossBackward(args: NllLossBackwardArgs): void;
  /** Converts float class indices to int32, rejecting a non-integer or out-of-range value. */
  classTargets(args: ClassTargetsArgs): void;
  /** (a - b)^2, reduced. */
  mseLossForward(args: MseLossForwardArgs): void;
  mseLossBackward(args: MseLossBackwardArgs): void;
  /** max(x, 0) - x*y + log(1 + exp(-|x|)), reduced. */
  bceWithLogitsForward(args: BceWithLogitsForwardArgs): void;
  bceWithLogitsBackward(args: BceWithLogitsBackwardArgs): void;
  /** mask[i] = 1/(1-p) where the counter-based uniform u(seed, i) >= p, else 0. */
  dropoutMask(args: DropoutMaskArgs): void;
}

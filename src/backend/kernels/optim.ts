// Fused optimizer updates (formulas in native/optim.cc and src/optim/*.ts). Each kernel updates
// the parameter and its state buffers in place; every buffer has the parameter's length.
import type { Storage } from '../storage.js';

export interface SgdStepArgs {
  /** Parameter (updated in place). */
  p: Storage;
  /** Gradient. */
  g: Storage;
  /** Momentum buffer (updated); null when momentum is 0. */
  buf: Storage | null;
  lr: number;
  momentum: number;
  dampening: number;
  /** L2 weight decay added to the gradient. */
  weightDecay: number;
  nesterov: boolean;
  /** The buffer's first update: buf = d (no dampening), as torch.optim.SGD. */
  firstStep: boolean;
}

export interface AdamStepArgs {
  p: Storage;
  g: Storage;
  /** First-moment estimate exp_avg (updated). */
  m: Storage;
  /** Second-moment estimate exp_avg_sq (updated). */
  v: Storage;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** This parameter's update count, starting at 1 (bias corrections 1 - beta^step). */
  step: number;
  /** AdamW: p *= 1 - lr * weightDecay instead of adding weightDecay * p to the gradient. */
  decoupled: boolean;
}

export interface RmspropStepArgs {
  p: Storage;
  g: Storage;
  /** Running mean of g^2, square_avg (updated). */
  sq: Storage;
  /** Momentum buffer (updated); null when momentum is 0. */
  buf: Storage | null;
  /** Running mean of g, grad_avg (updated); null unless centered. */
  gAvg: Storage | null;
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

export interface OptimKernels {
  sgdStep(args: SgdStepArgs): void;
  adamStep(args: AdamStepArgs): void;
  rmspropStep(args: RmspropStepArgs): void;
}

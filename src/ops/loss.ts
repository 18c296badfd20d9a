// Loss functions: cross-entropy from logits, NLL on log-probabilities, MSE and
// BCE-with-logits. Each returns a 0-d tensor (or per-row losses with reduction 'none').
import { backendFor, type Backend, type Storage } from '../backend/index.js';
import type { LossReduction } from '../backend/kernels/loss.js';
import { needsGrad, record } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank, checkShape, formatShape } from '../tensor/shape.js';

export type Reduction = LossReduction;

/** Class indices for an [N, C] input: Int32Array, number[] or a 1-D Tensor of integer values. */
export type Target = Int32Array | number[] | Tensor;

export interface CrossEntropyOptions {
  /**
   * Label smoothing eps in [0, 1], as PyTorch 1.13: loss = (1 - eps) * nll + eps * mean_c(-logp_c),
   * i.e. the target distribution is (1 - eps) * onehot + eps / C.
   */
  labelSmoothing?: number;
  /** Rows whose target equals this index contribute nothing, and are not counted by 'mean'. Default -100. */
  ignoreIndex?: number;
  /** 'mean' (default, over non-ignored rows), 'sum' or 'none' (one loss per row, 0 on ignored rows). */
  reduction?: Reduction;
}

export interface NllLossOptions {
  ignoreIndex?: number;
  reduction?: Reduction;
}

const DEFAULT_IGNORE = -100;

function checkReduction(fn: string, r: string): void {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new RangeError(`${fn}: reduction must be 'mean', 'sum' or 'none', got '${r}'`);
}

/**
 * Validates an [N, C] input and puts the target's class indices into int32 storage on the
 * input's device: host indices (number[], Int32Array) are checked here and uploaded (the op's
 * one upload); a Tensor of indices is converted and checked by the classTargets kernel.
 */
function classTargets(fn: string, be: Backend, input: Tensor, target: Target, ignoreIndex: number): Storage {
  checkRank(fn, 'logits', input.shape, [2]);
  const [N, C] = input.shape;
  if (!Number.isInteger(ignoreIndex)) throw new RangeError(`${fn}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  if (target instanceof Tensor) {
    checkRank(fn, 'target', target.shape, [1]);
    checkBatch(fn, input, target.size);
    backendFor(fn, input, target);
    const out = be.emptyIndex(N);
    be.classTargets({ values: target.storage, n: N, classes: C, ignoreIndex, out, fn });
    return out;
  }
  if (!(target instanceof Int32Array || Array.isArray(target))) {
    throw new TypeError(`${fn}: target must be an Int32Array, a number[] or a Tensor of class indices`);
  }
  checkBatch(fn, input, target.length);
  target.forEach((v: number, i: number) => {
    if (!Number.isInteger(v)) throw new RangeError(`${fn}: target[${i}] = ${v} is not an integer class index`);
    if (v !== ignoreIndex && (v < 0 || v >= C)) {
      throw new RangeError(`${fn}: target[${i}] = ${v} is out of range [0, ${C}) for logits of shape ${formatShape(input.shape)}`);
    }
  });
  return be.uploadIndex(target instanceof Int32Array ? target : Int32Array.from(target));
}

function checkBatch(fn: string, input: Tensor, entries: number): void {
  if (entries !== input.shape[0]) {
    throw new RangeError(`${fn}: target has ${entries} entries but logits have batch size ${input.shape[0]} (shape ${formatShape(input.shape)})`);
  }
}

/**
 * Cross-entropy of logits [N, C] against class indices (as torch.nn.functional.cross_entropy),
 * computed from a stable log-softmax. The gradient is fused: (softmax - target distribution)
 * scaled by the upstream gradient / number of non-ignored rows.
 */
export function crossEntropy(logits: Tensor, target: Target, options: CrossEntropyOptions = {}): Tensor {
  const fn = 'crossEntropy';
  const eps = options.labelSmoothing ?? 0;
  const ignoreIndex = options.ignoreIndex ?? DEFAULT_IGNORE;
  const reduction = options.reduction ?? 'mean';
  checkReduction(fn, reduction);
  if (!(eps >= 0 && eps <= 1)) throw new RangeError(`${fn}: labelSmoothing must be in [0, 1], got ${eps}`);
  const be = backendFor(fn, logits);
  const t = classTargets(fn, be, logits, target, ignoreIndex);
  const [N, C] = logits.shape;
  const loss = be.empty(reduction === 'none' ? N : 1);
  const count = be.empty(1);
  be.crossEntropyForward({ logits: logits.storage, N, C, target: t, eps, ignoreIndex, reduction, out: loss, count });
  const out = new Tensor(loss, reduction === 'none' ? [N] : []);
  if (!needsGrad(logits)) return out;
  return record(out, fn, [logits], (g) => {
    const gx = be.empty(N * C);
    be.crossEntropyBackward({ logits: logits.storage, N, C, target: t, eps, ignoreIndex, reduction, gy: g, count, gx });
    return [gx];
  });
}

/** Negative log-likelihood of log-probabilities [N, C] at the target classes (torch nll_loss). */
export function nllLoss(logProbs: Tensor, target: Target, options: NllLossOptions = {}): Tensor {
  const fn = 'nllLoss';
  const ignoreIndex = options.ignoreIndex ?? DEFAULT_IGNORE;
  const reduction = options.reduction ?? 'mean';
  checkReduction(fn, reduction);
  const be = backendFor(fn, logProbs);
  const t = classTargets(fn, be, logProbs, target, ignoreIndex);
  const [N, C] = logProbs.shape;
  const loss = be.empty(reduction === 'none' ? N : 1);
  const count = be.empty(1);
  be.nllLossForward({ logp: logProbs.storage, N, C, target: t, ignoreIndex, reduction, out: loss, count });
  const out = new Tensor(loss, reduction === 'none' ? [N] : []);
  if (!needsGrad(logProbs)) return out;
  return record(out, fn, [logProbs], (g) => {
    const gx = be.empty(N * C);
    be.nllLossBackward({ N, C, target: t, ignoreIndex, reduction, gy: g, count, gx });
    return [gx];
  });
}

function checkSameShape(fn: string, input: Tensor, target: Tensor): void {
  if (!(input instanceof Tensor) || !(target instanceof Tensor)) throw new TypeError(`${fn}: input and target must be Tensors`);
  checkShape(fn, 'target', target.shape, input.shape);
}

export interface ElementwiseLossOptions {
  /** 'mean' (default) over all elements, 'sum', or 'none' (per-element losses, input's shape). */
  reduction?: Reduction;
}

/**
 * Mean squared error (input - target)^2, reduced as options.reduction says (default mean, as
 * torch.nn.functional.mse_loss); gradients to both arguments.
 */
export function mseLoss(input: Tensor, target: Tensor, options: ElementwiseLossOptions = {}): Tensor {
  const fn = 'mseLoss';
  checkSameShape(fn, input, target);
  const reduction = options.reduction ?? 'mean';
  checkReduction(fn, reduction);
  const be = backendFor(fn, input, target);
  const n = input.size;
  const loss = be.empty(reduction === 'none' ? n : 1);
  be.mseLossForward({ a: input.storage, b: target.storage, n, reduction, out: loss });
  const out = new Tensor(loss, reduction === 'none' ? input.shape : []);
  if (!needsGrad(input, target)) return out;
  return record(out, fn, [input, target], (g) => {
    // d/da = 2 (a - b) * upstream (/ n for 'mean'); d/db = -d/da.
    const ga = input.requiresGrad ? be.empty(n) : null;
    const gb = target.requiresGrad ? be.empty(n) : null;
    be.mseLossBackward({ a: input.storage, b: target.storage, n, reduction, gy: g, ga, gb });
    return [ga, gb];
  });
}

/**
 * Binary cross-entropy on logits in the stable form max(x, 0) - x*y + log(1 + exp(-|x|)) (as
 * torch binary_cross_entropy_with_logits), reduced as options.reduction says (default mean).
 * Gradients: d/dx = sigmoid(x) - y, d/dy = -x (times the reduction's factor).
 */
export function bceWithLogits(logits: Tensor, targets: Tensor, options: ElementwiseLossOptions = {}): Tensor {
  const fn = 'bceWithLogits';
  checkSameShape(fn, logits, targets);
  const reduction = options.reduction ?? 'mean';
  checkReduction(fn, reduction);
  const be = backendFor(fn, logits, targets);
  const n = logits.size;
  const loss = be.empty(reduction === 'none' ? n : 1);
  be.bceWithLogitsForward({ x: logits.storage, y: targets.storage, n, reduction, out: loss });
  const out = new Tensor(loss, reduction === 'none' ? logits.shape : []);
  if (!needsGrad(logits, targets)) return out;
  return record(out, fn, [logits, targets], (g) => {
    const gx = logits.requiresGrad ? be.empty(n) : null;
    const gy = targets.requiresGrad ? be.empty(n) : null;
    be.bceWithLogitsBackward({ x: logits.storage, y: targets.storage, n, reduction, gy: g, gx, gTarget: gy });
    return [gx, gy];
  });
}

// Loss functions: cross-entropy from logits, NLL on log-probabilities, MSE and
// BCE-with-logits. Each returns a 0-d tensor (or per-row losses with reduction 'none').
import { backend } from '../backend/index.js';
import { UnaryOp } from '../backend/kernels/elementwise.js';
import { needsGrad } from '../autograd/graph.js';
import { recordHost } from '../autograd/hostRules.js';
import { Tensor } from '../tensor/tensor.js';
import { zeroFloats } from '../backend/cpu/alloc.js';
import { hostArray, hostStorage } from '../backend/cpu/storage.js';
import { checkRank, checkShape, formatShape } from '../tensor/shape.js';
import { sub, mul, negRaw } from './elementwise.js';

export type Reduction = 'mean' | 'sum' | 'none';

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

/** Validates an [N, C] input and converts the target to Int32Array class indices. */
function classTargets(fn: string, input: Tensor, target: Target, ignoreIndex: number): Int32Array {
  checkRank(fn, 'logits', input.shape, [2]);
  const [N, C] = input.shape;
  let values: ArrayLike<number>;
  if (target instanceof Tensor) {
    checkRank(fn, 'target', target.shape, [1]);
    values = target.buffer;
  } else if (target instanceof Int32Array || Array.isArray(target)) {
    values = target;
  } else {
    throw new TypeError(`${fn}: target must be an Int32Array, a number[] or a Tensor of class indices`);
  }
  if (values.length !== N) {
    throw new RangeError(`${fn}: target has ${values.length} entries but logits have batch size ${N} (shape ${formatShape(input.shape)})`);
  }
  if (!Number.isInteger(ignoreIndex)) throw new RangeError(`${fn}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  const out = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) throw new RangeError(`${fn}: target[${i}] = ${v} is not an integer class index`);
    if (v !== ignoreIndex && (v < 0 || v >= C)) {
      throw new RangeError(`${fn}: target[${i}] = ${v} is out of range [0, ${C}) for logits of shape ${formatShape(input.shape)}`);
    }
    out[i] = v;
  }
  return out;
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
  const t = classTargets(fn, logits, target, ignoreIndex);
  const [N, C] = logits.shape;
  const scalar = new Float32Array(1);
  const rowLoss = reduction === 'none' ? zeroFloats(N) : undefined;
  const valid = backend.crossEntropyForward(logits.buffer, N, C, t, eps, ignoreIndex, scalar, rowLoss);
  let out: Tensor;
  if (rowLoss !== undefined) out = new Tensor(rowLoss, [N]);
  else out = new Tensor(reduction === 'sum' ? new Float32Array([scalar[0] * valid]) : scalar, []);
  if (!needsGrad(logits)) return out;
  const x = logits.buffer;
  return recordHost(out, fn, [logits], (g) => {
    const gx = zeroFloats(N * C);
    if (reduction === 'none') backend.crossEntropyBackward(x, N, C, t, eps, ignoreIndex, 1, gx, g);
    else backend.crossEntropyBackward(x, N, C, t, eps, ignoreIndex, reduction === 'mean' ? g[0] / valid : g[0], gx);
    return [gx];
  });
}

/** Negative log-likelihood of log-probabilities [N, C] at the target classes (torch nll_loss). */
export function nllLoss(logProbs: Tensor, target: Target, options: NllLossOptions = {}): Tensor {
  const fn = 'nllLoss';
  const ignoreIndex = options.ignoreIndex ?? DEFAULT_IGNORE;
  const reduction = options.reduction ?? 'mean';
  checkReduction(fn, reduction);
  const t = classTargets(fn, logProbs, target, ignoreIndex);
  const [N, C] = logProbs.shape;
  let out: Tensor;
  let valid = 0;
  if (reduction === 'none') {
    const rows = zeroFloats(N);
    for (let i = 0; i < N; i++) if (t[i] !== ignoreIndex) rows[i] = -logProbs.buffer[i * C + t[i]];
    out = new Tensor(rows, [N]);
  } else {
    const scalar = new Float32Array(1);
    valid = backend.nllLossForward(logProbs.buffer, N, C, t, ignoreIndex, scalar);
    out = new Tensor(reduction === 'sum' ? new Float32Array([scalar[0] * valid]) : scalar, []);
  }
  return recordHost(out, fn, [logProbs], (g) => {
    // d loss / d logp[i, t_i] = -(upstream of row i) (/ M for 'mean'); 0 elsewhere.
    const gx = zeroFloats(N * C);
    for (let i = 0; i < N; i++) {
      if (t[i] === ignoreIndex) continue;
      gx[i * C + t[i]] = reduction === 'none' ? -g[i] : reduction === 'mean' ? -g[0] / valid : -g[0];
    }
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
  if (reduction === 'none') {
    const d = sub(input, target);
    return mul(d, d);
  }
  const n = input.size;
  // The kernel returns the mean; 'sum' is n times it with the gradient 2 (a - b) * g.
  const per = reduction === 'sum' ? 1 : n;
  const out = new Tensor(new Float32Array(1), []);
  backend.mseLossForward(input.buffer, target.buffer, n, out.buffer);
  if (reduction === 'sum') out.buffer[0] = n === 0 ? 0 : out.buffer[0] * n;
  if (!needsGrad(input, target)) return out;
  return recordHost(out, fn, [input, target], (g) => {
    // d/da = 2 (a - b) / per; d/db = -d/da.
    const ga = zeroFloats(n);
    backend.mseLossBackward(input.buffer, target.buffer, n, (2 * g[0]) / per, ga);
    return [ga, target.requiresGrad ? hostArray(negRaw(hostStorage(ga))) : null];
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
  const n = logits.size;
  if (reduction === 'none') return bceWithLogitsPerElement(fn, logits, targets);
  const per = reduction === 'sum' ? 1 : n;
  const out = new Tensor(new Float32Array(1), []);
  backend.bceWithLogitsForward(logits.buffer, targets.buffer, n, out.buffer);
  if (reduction === 'sum') out.buffer[0] = n === 0 ? 0 : out.buffer[0] * n;
  if (!needsGrad(logits, targets)) return out;
  return recordHost(out, fn, [logits, targets], (g) => {
    let gx: Float32Array | null = null;
    let gy: Float32Array | null = null;
    if (logits.requiresGrad) {
      gx = zeroFloats(n);
      backend.bceWithLogitsBackward(logits.buffer, targets.buffer, n, g[0] / per, gx);
    }
    if (targets.requiresGrad) {
      gy = zeroFloats(n);
      backend.unary({ op: UnaryOp.mulScalar, x: logits.storage, y: hostStorage(gy), p0: -g[0] / per });
    }
    return [gx, gy];
  });
}

/** reduction 'none': one loss per element, each with its own incoming gradient. */
function bceWithLogitsPerElement(fn: string, logits: Tensor, targets: Tensor): Tensor {
  const x = logits.buffer;
  const y = targets.buffer;
  const out = new Tensor(zeroFloats(x.length), logits.shape);
  for (let i = 0; i < x.length; i++) out.buffer[i] = Math.max(x[i], 0) - x[i] * y[i] + Math.log1p(Math.exp(-Math.abs(x[i])));
  if (!needsGrad(logits, targets)) return out;
  return recordHost(out, fn, [logits, targets], (g) => {
    const gx = logits.requiresGrad ? zeroFloats(x.length) : null;
    const gy = targets.requiresGrad ? zeroFloats(x.length) : null;
    for (let i = 0; i < x.length; i++) {
      if (gx) gx[i] = (1 / (1 + Math.exp(-x[i])) - y[i]) * g[i];
      if (gy) gy[i] = -x[i] * g[i];
    }
    return [gx, gy];
  });
}

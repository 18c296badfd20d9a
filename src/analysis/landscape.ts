// Loss and gradient landscapes (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets";
// seed 000's MNIST/mnist_loss_test.py and ImageNet/vgg_loss_landscape.py plot them for BN vs FBN).
//
// Directions are filter-normalized: for each parameter tensor of rank >= 2 (conv and linear
// weights), d ~ N(0, 1) of the same shape, then every filter i (slice i along dim 0) is rescaled
// so that ||d_i|| = ||theta_i||, i.e. d_i <- d_i / (||d_i|| + 1e-10) * ||theta_i|| (as Li et
// al.'s code). Parameters of rank <= 1 (biases, BN gamma and beta) get a zero direction, Li et
// al.'s default `ignore_biasbn`; with ignoreBiasBn false they get d = theta instead, Li et al.'s
// other option. Buffers (running statistics) are not moved.
//
// The landscape evaluates the model at theta + alpha * d1 (1-D) or theta + alpha * d1 + beta * d2
// (2-D) over a fixed list of batches:
//   loss = sum_b n_b * loss_b / sum_b n_b   (loss_b the batch's mean loss, n_b its samples),
//   acc  = correct / samples,
//   gradNorm = ||grad of loss w.r.t. all parameters||_2 (one backward per batch and grid point,
//              the batch losses weighted by n_b / sum n_b so the gradients add up to that of loss).
// Mode 'eval' (default): BN-type layers normalize with their running statistics. Mode 'train':
// with batch statistics, as in training; the running statistics (every buffer of the model) are
// restored after each forward pass, so they neither change nor depend on the evaluation order.
// Dropout layers stay in eval mode in both modes, so the landscape is deterministic.
// The parameters are restored bitwise at the end (copied back), as are the modules' modes,
// their buffers and the parameters' .grad.
import type { Module, Parameter } from '../nn/module.js';
import { Dropout, Dropout2d } from '../nn/dropout.js';
import type { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import { noGrad, enableGrad } from '../autograd/graph.js';
import { crossEntropy } from '../ops/loss.js';
import { countCorrect, RunningMetrics } from './accuracy.js';
import { assignValues, copyValues } from '../tensor/assign.js';

/** A batch of inputs and class labels (DataLoader batches qualify). */
export interface LandscapeBatch {
  x: Tensor;
  y: Int32Array;
}

/** One value per parameter, by its name in model.namedParameters(). */
export type Direction = Record<string, Float32Array>;

export interface DirectionOptions {
  /** Seed of the Gaussian draws (default 0). */
  seed?: number;
  /** Zero direction for parameters of rank <= 1 (default true); false: d = theta for them. */
  ignoreBiasBn?: boolean;
}

/** n evenly spaced values from start to end inclusive (as numpy.linspace). */
export function linspace(start: number, end: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`linspace: n must be an integer >= 1, got ${n}`);
  if (n === 1) return [start];
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? end : start + ((end - start) * i) / (n - 1)));
}

/**
 * A filter-normalized random direction for the model's parameters (see the top of this file).
 * Every parameter gets Gaussian draws, in namedParameters() order, whatever ignoreBiasBn says,
 * so the weights' directions depend on the seed only.
 */
export function filterNormalizedDirection(model: Module, options: DirectionOptions = {}): Direction {
  const gen = new Generator(options.seed ?? 0);
  const ignoreBiasBn = options.ignoreBiasBn ?? true;
  const dir: Direction = {};
  for (const [name, p] of model.namedParameters()) {
    // Parameter read: the direction is computed on the host from the parameter's values.
    const theta = p.data();
    const d = new Float32Array(p.size);
    for (let i = 0; i < d.length; i++) d[i] = gen.normal();
    if (p.ndim <= 1) {
      if (ignoreBiasBn) d.fill(0);
      else d.set(theta);
    } else {
      const filters = p.shape[0];
      const per = p.size / filters;
      for (let f = 0; f < filters; f++) {
        let dn = 0;
        let tn = 0;
        for (let k = f * per; k < (f + 1) * per; k++) {
          dn += d[k] * d[k];
          tn += theta[k] * theta[k];
        }
        const scale = Math.sqrt(tn) / (Math.sqrt(dn) + 1e-10);
        for (let k = f * per; k < (f + 1) * per; k++) d[k] *= scale;
      }
    }
    dir[name] = d;
  }
  return dir;
}

export interface LandscapeOptions extends DirectionOptions {
  /** 1-D (theta + alpha d1, default) or 2-D (theta + alpha d1 + beta d2). */
  dims?: 1 | 2;
  /** Grid along d1 (default linspace(-1, 1, 21)). */
  alphas?: readonly number[];
  /** Grid along d2 for dims 2 (default: the alphas). */
  betas?: readonly number[];
  /**
   * The directions (default: filterNormalizedDirection with seed and seed + 1). Each must hold
   * every parameter of the model with its size.
   */
  directions?: readonly Direction[];
  /** Statistics of BN-type layers (default 'eval'; see the top of this file). */
  mode?: 'eval' | 'train';
  /** Mean loss of a batch (default crossEntropy(output, batch.y)). */
  loss?: (output: Tensor, batch: LandscapeBatch) => Tensor;
  /**
   * Correctly classified samples of a batch, a number or a one-value tensor (default countCorrect:
   * arg-max of [N, C] logits, counted on the output's device).
   */
  correct?: (output: Tensor, batch: LandscapeBatch) => number | Tensor;
  /** Also compute the gradient norm at every grid point (default true). */
  gradNorm?: boolean;
}

/**
 * Values on the grid, indexed [j][i] for (alpha_i, beta_j): one row per beta (a single row in
 * 1-D), the layout of contour plots' Z with alphas along x.
 */
export interface LandscapeResult {
  alphas: number[];
  betas?: number[];
  loss: number[][];
  acc: number[][];
  /** Present when options.gradNorm is not false. */
  gradNorm?: number[][];
}

function checkDirection(fn: string, params: [string, Parameter][], d: Direction, which: string): Float32Array[] {
  return params.map(([name, p]) => {
    const v = d[name];
    if (v === undefined) throw new RangeError(`${fn}: ${which} has no entry for parameter '${name}'`);
    if (v.length !== p.size) throw new RangeError(`${fn}: ${which}['${name}'] has ${v.length} values, the parameter has ${p.size} (shape ${formatShape(p.shape)})`);
    return v;
  });
}

/**
 * The loss, accuracy and gradient-norm landscape of the model around its current parameters
 * over a fixed list of batches (see the top of this file for the definitions). The batches are
 * held in memory for the whole grid. The model's parameters, buffers, modes and gradients are
 * the same afterwards as before.
 */
export function lossLandscape(model: Module, batches: Iterable<LandscapeBatch>, options: LandscapeOptions = {}): LandscapeResult {
  const fn = 'lossLandscape';
  const dims = options.dims ?? 1;
  if (dims !== 1 && dims !== 2) throw new RangeError(`${fn}: dims must be 1 or 2, got ${String(dims)}`);
  const mode = options.mode ?? 'eval';
  if (mode !== 'eval' && mode !== 'train') throw new RangeError(`${fn}: mode must be 'eval' or 'train', got '${String(mode)}'`);
  const alphas = [...(options.alphas ?? linspace(-1, 1, 21))];
  const betas = dims === 2 ? [...(options.betas ?? alphas)] : [0];
  for (const v of [...alphas, ...betas]) if (!Number.isFinite(v)) throw new RangeError(`${fn}: grid values must be finite, got ${v}`);
  if (alphas.length === 0 || betas.length === 0) throw new RangeError(`${fn}: alphas and betas must not be empty`);
  const list = [...batches];
  if (list.length === 0) throw new RangeError(`${fn}: no batches`);
  const total = list.reduce((a, b) => a + b.x.shape[0], 0);
  const lossFn = options.loss ?? ((out: Tensor, b: LandscapeBatch) => crossEntropy(out, b.y));
  const correctFn = options.correct ?? ((out: Tensor, b: LandscapeBatch) => countCorrect(out, b.y));
  const withGrad = options.gradNorm ?? true;

  const params = model.namedParameters();
  const given = options.directions ?? [];
  if (given.length > 0 && given.length < dims) throw new RangeError(`${fn}: dims ${dims} needs ${dims} directions, got ${given.length}`);
  const seed = options.seed ?? 0;
  const dirs = Array.from({ length: dims }, (_, k) =>
    checkDirection(fn, params, given[k] ?? filterNormalizedDirection(model, { seed: seed + k, ignoreBiasBn: options.ignoreBiasBn }), `direction ${k + 1}`));

  // Parameter read: the grid points are computed on the host from theta and the directions.
  const theta = params.map(([, p]) => p.data());
  const grads = params.map(([, p]) => p.grad);
  const modes = model.modules().map((m) => [m, m.training] as const);
  // Buffers are saved and restored on their device, without a host copy.
  const buffers = model.namedBuffers().map(([, b]) => [b, b.detach().clone()] as const);
  const restoreBuffers = (): void => {
    for (const [b, v] of buffers) copyValues(b, v);
  };

  const result: LandscapeResult = { alphas, ...(dims === 2 ? { betas } : {}), loss: [], acc: [], ...(withGrad ? { gradNorm: [] } : {}) };
  try {
    for (const [m] of modes) m.training = mode === 'train' && !(m instanceof Dropout || m instanceof Dropout2d);
    for (const beta of betas) {
      const lossRow: number[] = [];
      const accRow: number[] = [];
      const gradRow: number[] = [];
      for (const alpha of alphas) {
        // theta + alpha d1 + beta d2, in float64 then rounded once to float32.
        // Parameter write: one upload per parameter and grid point.
        params.forEach(([, p], k) => {
          const t = theta[k];
          const d1 = dirs[0][k];
          const d2 = dims === 2 ? dirs[1][k] : null;
          const v = new Float32Array(t.length);
          for (let i = 0; i < t.length; i++) v[i] = t[i] + alpha * d1[i] + (d2 === null ? 0 : beta * d2[i]);
          assignValues(p, v);
          p.grad = null;
        });
        const sums = new RunningMetrics();
        const evaluate = (): void => {
          for (const b of list) {
            const out = model.call(b.x.to(model.device));
            if (mode === 'train') restoreBuffers();
            const l = lossFn(out, b);
            const w = b.x.shape[0] / total;
            sums.add(l, correctFn(out, b), b.x.shape[0], w);
            if (withGrad && l.requiresGrad) l.mul(w).backward();
          }
        };
        if (withGrad) enableGrad(evaluate);
        else noGrad(evaluate);
        // Metric read: the grid point's loss and accuracy, then its gradient norm.
        sums.read();
        lossRow.push(sums.lossSum);
        accRow.push(sums.correct / total);
        if (withGrad) {
          let sq = 0;
          for (const [, p] of params) if (p.grad !== null) for (const g of p.grad.data()) sq += g * g;
          gradRow.push(Math.sqrt(sq));
        }
      }
      result.loss.push(lossRow);
      result.acc.push(accRow);
      if (withGrad) result.gradNorm!.push(gradRow);
    }
  } finally {
    params.forEach(([, p], k) => {
      assignValues(p, theta[k]);
      p.grad = grads[k];
    });
    restoreBuffers();
    for (const [m, training] of modes) m.training = training;
  }
  return result;
}

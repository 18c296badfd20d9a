// NormMonitor: what normalization does during training, per layer.
// - drift: at every training forward of a layer with running statistics, the distance between
//   its running statistics (after this step's update) and the plain statistics of the batch it
//   saw: meanShift = mean_c |mu_B,c - mu_run,c| / sqrt(var_run,c + eps) and
//   varLogRatio = mean_c |ln((var_B,c + eps) / (var_run,c + eps))|, var_B biased. For Filtered BN
//   the batch statistics are those of all values (the filter's effect shows up as drift).
// - keptFraction: Filtered BN's fraction of kept values per step (mean over channels).
// - affine: at each epoch end (and at attach, epoch 0), the quantiles (min, 25%, median, 75%,
//   max) over channels of every norm layer's gamma (weight) and beta (bias).
// - gap: accuracy in train mode (batch statistics) and eval mode (running statistics) at each
//   evaluation, recorded by recordGap.
import type { Module } from '../nn/module.js';
import { RunningStats } from '../nn/norm/running_stats.js';
import { FilteredBatchNorm1d, FilteredBatchNorm2d } from '../nn/norm/filtered_batch_norm.js';
import type { Tensor } from '../tensor/tensor.js';

export interface DriftPoint {
  step: number;
  meanShift: number;
  varLogRatio: number;
}

export interface KeptPoint {
  step: number;
  fraction: number;
}

/** [min, q25, median, q75, max]. */
export type Quantiles = [number, number, number, number, number];

export interface AffinePoint {
  epoch: number;
  weight: Quantiles | null;
  bias: Quantiles | null;
}

export interface GapPoint {
  epoch: number;
  trainModeAcc: number;
  evalModeAcc: number;
}

export interface NormMonitorSummary {
  steps: number;
  drift: Record<string, DriftPoint[]>;
  keptFraction: Record<string, KeptPoint[]>;
  affine: Record<string, AffinePoint[]>;
  gap: GapPoint[];
}

export interface NormMonitorOptions {
  /** Record drift and kept fraction every `every` training steps (default 1). */
  every?: number;
}

/** Per-channel mean and biased variance of an (N, C, *) tensor, in float64. */
export function channelMoments(x: Tensor): { mean: Float64Array; variance: Float64Array } {
  const [N, C] = x.shape;
  const S = x.size / (N * C);
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  // Statistics read: the values come to the host, where the moments are summed in float64.
  const d = x.data();
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, e = i + S; i < e; i++) s += d[i];
    const m = s / (N * S);
    let q = 0;
    for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, e = i + S; i < e; i++) q += (d[i] - m) ** 2;
    mean[c] = m;
    variance[c] = q / (N * S);
  }
  return { mean, variance };
}

/** Linear-interpolation quantiles (numpy's default) of the values. */
export function quantiles(values: ArrayLike<number>): Quantiles {
  const v = Float64Array.from(values).sort();
  const q = (p: number): number => {
    const pos = p * (v.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, v.length - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
  };
  return [v[0], q(0.25), q(0.5), q(0.75), v[v.length - 1]];
}

const isFbn = (m: Module): m is FilteredBatchNorm1d | FilteredBatchNorm2d => m instanceof FilteredBatchNorm1d || m instanceof FilteredBatchNorm2d;

/** The 1-D weight/bias of a normalization layer (any class under nn/norm with them). */
function affineOf(m: Module): { weight: Tensor | null; bias: Tensor | null } {
  const w = m.getParameter('weight') ?? m.getBuffer('weight');
  const b = m.getParameter('bias') ?? m.getBuffer('bias');
  return { weight: w !== null && w.ndim === 1 ? w : null, bias: b !== null && b.ndim === 1 ? b : null };
}

/** Layers whose affine is tracked: every module defined under nn/norm with a 1-D weight or bias. */
function isNormLayer(m: Module): boolean {
  const name = m.constructor.name;
  return /Norm|Frozen/.test(name) && (affineOf(m).weight !== null || affineOf(m).bias !== null);
}

export class NormMonitor {
  private readonly every: number;
  private readonly removers: (() => void)[] = [];
  private steps = 0;
  private readonly drift = new Map<string, DriftPoint[]>();
  private readonly kept = new Map<string, KeptPoint[]>();
  private readonly affine = new Map<string, AffinePoint[]>();
  private readonly gap: GapPoint[] = [];
  private readonly normLayers: [string, Module][];

  constructor(readonly model: Module, options: NormMonitorOptions = {}) {
    this.every = options.every ?? 1;
    if (!Number.isInteger(this.every) || this.every < 1) throw new RangeError(`NormMonitor: options.every must be an integer >= 1, got ${this.every}`);
    // The step counter advances with each training forward of the whole model.
    this.removers.push(model.registerForwardHook((m) => {
      if (m.training) this.steps++;
    }));
    this.normLayers = model.namedModules().filter(([, m]) => isNormLayer(m));
    for (const [name, m] of model.namedModules()) {
      if (m instanceof RunningStats && m.trackRunningStats) {
        this.drift.set(name, []);
        if (isFbn(m)) this.kept.set(name, []);
        this.removers.push(m.registerForwardHook((layer, inputs) => this.onNormForward(name, layer as RunningStats, inputs[0])));
      }
    }
    this.recordAffine(0);
  }

  private onNormForward(name: string, layer: RunningStats, x: Tensor): void {
    // Only training steps of the whole model (trainEvalAccuracy runs layers in training mode under an eval model).
    if (!this.model.training || !layer.training || layer.statsFrozen) return;
    // The model's own hook runs after its forward, so this step is steps + 1.
    const step = this.steps + 1;
    if ((step - 1) % this.every !== 0) return;
    const { mean, variance } = channelMoments(x);
    // Statistics read: the running statistics come to the host.
    const rm = layer.runningMean!.data();
    const rv = layer.runningVar!.data();
    const eps = layer.eps;
    let shift = 0;
    let ratio = 0;
    for (let c = 0; c < mean.length; c++) {
      shift += Math.abs(mean[c] - rm[c]) / Math.sqrt(rv[c] + eps);
      ratio += Math.abs(Math.log((variance[c] + eps) / (rv[c] + eps)));
    }
    this.drift.get(name)!.push({ step, meanShift: shift / mean.length, varLogRatio: ratio / mean.length });
    if (isFbn(layer) && layer.lastKeptFraction !== null) {
      const f = layer.lastKeptFraction;
      this.kept.get(name)!.push({ step, fraction: f.reduce((a, v) => a + v, 0) / f.length });
    }
  }

  /** Records the gamma/beta quantiles of every norm layer for `epoch`. */
  recordAffine(epoch: number): void {
    for (const [name, m] of this.normLayers) {
      const { weight, bias } = affineOf(m);
      const list = this.affine.get(name) ?? [];
      // Statistics read: gamma and beta come to the host for their quantiles.
      list.push({ epoch, weight: weight === null ? null : quantiles(weight.data()), bias: bias === null ? null : quantiles(bias.data()) });
      this.affine.set(name, list);
    }
  }

  /** Records the train-mode / eval-mode accuracy of an evaluation (see trainEvalAccuracy). */
  recordGap(epoch: number, accuracies: { trainModeAcc: number; evalModeAcc: number }): void {
    this.gap.push({ epoch, trainModeAcc: accuracies.trainModeAcc, evalModeAcc: accuracies.evalModeAcc });
  }

  /** Removes the hooks. */
  detach(): void {
    for (const r of this.removers.splice(0)) r();
  }

  summary(): NormMonitorSummary {
    return {
      steps: this.steps,
      drift: Object.fromEntries(this.drift),
      keptFraction: Object.fromEntries(this.kept),
      affine: Object.fromEntries(this.affine),
      gap: [...this.gap],
    };
  }
}

/** TensorBoard scalars of a summary: norm/drift_mean/<layer>, norm/kept/<layer>, norm/gamma_median/<layer>, norm/gap_*. */
export function normScalars(s: NormMonitorSummary): { tag: string; step: number; value: number }[] {
  const out: { tag: string; step: number; value: number }[] = [];
  const layer = (n: string): string => (n === '' ? 'model' : n);
  for (const [n, pts] of Object.entries(s.drift)) {
    for (const p of pts) {
      out.push({ tag: `norm/drift_mean/${layer(n)}`, step: p.step, value: p.meanShift });
      out.push({ tag: `norm/drift_logvar/${layer(n)}`, step: p.step, value: p.varLogRatio });
    }
  }
  for (const [n, pts] of Object.entries(s.keptFraction)) for (const p of pts) out.push({ tag: `norm/kept_fraction/${layer(n)}`, step: p.step, value: p.fraction });
  for (const [n, pts] of Object.entries(s.affine)) {
    for (const p of pts) {
      if (p.weight !== null) out.push({ tag: `norm/gamma_median/${layer(n)}`, step: p.epoch, value: p.weight[2] });
      if (p.bias !== null) out.push({ tag: `norm/beta_median/${layer(n)}`, step: p.epoch, value: p.bias[2] });
    }
  }
  for (const g of s.gap) {
    out.push({ tag: 'norm/acc_train_mode', step: g.epoch, value: g.trainModeAcc });
    out.push({ tag: 'norm/acc_eval_mode', step: g.epoch, value: g.evalModeAcc });
  }
  return out;
}

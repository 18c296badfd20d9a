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
// On the CPU every value is read at once (batch moments summed in float64 on the host). On another
// device the batch moments are computed there (float32) and the values to read (moments, running
// statistics, kept fractions, gamma/beta) are kept as tensors until flush(), which reads them
// asynchronously: the trainer's hooks call it at each epoch's end, a logging point.
import type { Module } from '../nn/module.js';
import { RunningStats } from '../nn/norm/running_stats.js';
import { FilteredBatchNorm1d, FilteredBatchNorm2d } from '../nn/norm/filtered_batch_norm.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/graph.js';

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
  /** Reads waiting for flush() (tensors off the CPU), in the order they were taken. */
  private queue: { tensors: Tensor[]; apply: (values: ArrayLike<number>[]) => void }[] = [];

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
    const eps = layer.eps;
    const apply = (mean: ArrayLike<number>, variance: ArrayLike<number>, rm: ArrayLike<number>, rv: ArrayLike<number>, kept: ArrayLike<number> | null): void => {
      let shift = 0;
      let ratio = 0;
      for (let c = 0; c < mean.length; c++) {
        shift += Math.abs(mean[c] - rm[c]) / Math.sqrt(rv[c] + eps);
        ratio += Math.abs(Math.log((variance[c] + eps) / (rv[c] + eps)));
      }
      this.drift.get(name)!.push({ step, meanShift: shift / mean.length, varLogRatio: ratio / mean.length });
      if (kept !== null) {
        let sum = 0;
        for (let i = 0; i < kept.length; i++) sum += kept[i];
        this.kept.get(name)!.push({ step, fraction: sum / kept.length });
      }
    };
    const keptTensor = isFbn(layer) ? layer.lastKeptFractionTensor : null;
    if (x.device === 'cpu') {
      const { mean, variance } = channelMoments(x);
      // Statistics read: the running statistics come to the host.
      apply(mean, variance, layer.runningMean!.data(), layer.runningVar!.data(), keptTensor === null ? null : keptTensor.data());
      return;
    }
    // Off the CPU: moments on the device, everything read at the next flush().
    const tensors = noGrad(() => {
      const [N, C] = x.shape;
      const r = x.detach().reshape([N, C, x.size / (N * C)]);
      const mean = r.mean([0, 2]);
      const variance = r.sub(mean.reshape([1, C, 1])).pow(2).mean([0, 2]);
      const held = [mean, variance, layer.runningMean!.detach().clone(), layer.runningVar!.detach().clone()];
      return keptTensor === null ? held : [...held, keptTensor.detach().clone()];
    });
    this.queue.push({ tensors, apply: (v) => apply(v[0], v[1], v[2], v[3], v[4] ?? null) });
  }

  /** Reads what training steps and recordAffine left on a device (a no-op on the CPU). */
  async flush(): Promise<void> {
    const queue = this.queue;
    this.queue = [];
    for (const q of queue) {
      // Statistics read: a logging point.
      const values: Float32Array[] = [];
      for (const t of q.tensors) values.push(await t.read());
      q.apply(values);
      for (const t of q.tensors) t.dispose();
    }
  }

  /** Records the gamma/beta quantiles of every norm layer for `epoch` (off the CPU: read at the next flush()). */
  recordAffine(epoch: number): void {
    for (const [name, m] of this.normLayers) {
      const { weight, bias } = affineOf(m);
      const apply = (w: ArrayLike<number> | null, b: ArrayLike<number> | null): void => {
        const list = this.affine.get(name) ?? [];
        list.push({ epoch, weight: w === null ? null : quantiles(w), bias: b === null ? null : quantiles(b) });
        this.affine.set(name, list);
      };
      const onHost = (weight ?? bias)!.device === 'cpu';
      // Statistics read: gamma and beta come to the host for their quantiles.
      if (onHost) apply(weight === null ? null : weight.data(), bias === null ? null : bias.data());
      else {
        const held = [weight, bias].filter((t): t is Tensor => t !== null).map((t) => t.detach().clone());
        this.queue.push({ tensors: held, apply: (v) => apply(weight === null ? null : v[0], bias === null ? null : v[weight === null ? 0 : 1]) });
      }
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
    if (this.queue.length > 0) throw new Error(`NormMonitor.summary: ${this.queue.length} reads from the device are pending; 'await monitor.flush()' first`);
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

// RunningStats: the shared base of every layer that normalizes with batch statistics and keeps
// running estimates for eval (PyTorch's _NormBase): parameters `weight` (gamma) and `bias`
// (beta) when affine, buffers `running_mean`, `running_var` and `num_batches_tracked` when
// trackRunningStats.
//
// Conventions: running = (1 - momentum) * running + momentum * batch (PyTorch; Keras'
// momentum 0.99 is momentum = 0.01 here); momentum = null is the cumulative average
// (factor 1 / num_batches_tracked); running_var receives the unbiased batch variance.
// num_batches_tracked is int64 in PyTorch; here it is a float32 tensor of shape [] (exact up to
// 2^24 batches), written as such in state dicts. Every buffer stays on its device: the batch count
// and the running updates run there (no value is read back during training).
import { Module, Parameter } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { full, zeros } from '../../tensor/create.js';
import { checkBatchValues, checkChannels, checkSpatialValues, countBatch, evalScaleShift, fill_, type ChannelView } from '../../ops/norm.js';
import { checkPositiveInt } from '../../tensor/shape.js';
import { backendFor } from '../../backend/index.js';

export interface RunningStatsOptions {
  eps?: number;
  /** Running-statistics factor (default 0.1); null: cumulative moving average. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
  /** Initial gamma (seed 001's scale-init BN); <= 0 or absent means 1. */
  bnWeight?: number;
}

export abstract class RunningStats extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** The value gamma is (re)initialised to. */
  readonly bnWeight: number;
  weight: Tensor | null;
  bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;
  /**
   * Statistics frozen (Module.freezeNormStats): forward normalizes with the running statistics
   * and leaves them unchanged even in training mode, while weight and bias still train.
   */
  statsFrozen = false;

  constructor(numFeatures: number, options: RunningStatsOptions, defaults: { affine: boolean; trackRunningStats: boolean }) {
    super();
    checkPositiveInt(new.target.name, 'numFeatures', numFeatures);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? defaults.affine;
    this.trackRunningStats = options.trackRunningStats ?? defaults.trackRunningStats;
    const w = options.bnWeight;
    this.bnWeight = w !== undefined && w > 0 ? w : 1;
    this.weight = this.registerParameter('weight', this.affine ? new Parameter(zeros([numFeatures])) : null);
    this.bias = this.registerParameter('bias', this.affine ? new Parameter(zeros([numFeatures])) : null);
    this.runningMean = this.registerBuffer('running_mean', this.trackRunningStats ? zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer('running_var', this.trackRunningStats ? full([numFeatures], 1) : null);
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', this.trackRunningStats ? zeros([]) : null);
    this.resetParameters();
  }

  /** running_mean = 0, running_var = 1, num_batches_tracked = 0. */
  resetRunningStats(): void {
    if (this.runningMean !== null) fill_(this.runningMean, 0);
    if (this.runningVar !== null) fill_(this.runningVar, 1);
    if (this.numBatchesTracked !== null) fill_(this.numBatchesTracked, 0);
  }

  /** Running statistics reset, weight = bnWeight, bias = 0. */
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight !== null) fill_(this.weight, this.bnWeight);
    if (this.bias !== null) fill_(this.bias, 0);
  }

  /**
   * Called once per training forward that updates the running statistics: counts the batch in
   * num_batches_tracked (on its device) and returns the update factor to hand to the op with
   * that buffer: momentum, or null (the cumulative average 1 / num_batches_tracked, read there).
   */
  protected nextFactor(): number | null {
    countBatch(this.numBatchesTracked!);
    return this.momentum;
  }

  /** Training mode for the statistics: training and not frozen by freezeNormStats. */
  protected get statsTraining(): boolean {
    return this.training && !(this.statsFrozen && this.trackRunningStats);
  }

  /** True when forward must use (and, in training, update) batch statistics. */
  protected useBatchStats(): boolean {
    return this.statsTraining || !this.trackRunningStats;
  }

  /** True when this forward updates the running statistics. */
  protected updatesRunningStats(): boolean {
    return this.statsTraining && this.trackRunningStats;
  }

  /**
   * Checks the input's rank and channels and, when batch statistics will be used, that there is
   * more than one value per statistic ('channel': over (N, *), 'spatial': over * per sample),
   * before any buffer is touched.
   */
  protected check(x: Tensor, ranks: readonly number[], per: 'channel' | 'spatial' = 'channel'): ChannelView {
    const fn = `${this.constructor.name}.forward`;
    // Before anything is counted or updated: the input must be on the layer's device.
    backendFor(fn, x, this.weight, this.bias, this.runningMean, this.runningVar, this.numBatchesTracked);
    const v = checkChannels(fn, x, this.numFeatures, ranks);
    if (this.useBatchStats()) {
      if (per === 'channel') checkBatchValues(fn, x, v);
      else checkSpatialValues(fn, x, v);
    }
    return v;
  }

  /**
   * The eval-mode transform as one per-channel scale and shift, y = x * scale + shift, from the
   * running statistics, as host values (what a conv-BN fuser needs; CPU layers, see
   * evalScaleShiftTensors for any device).
   */
  evalScaleShift(): { scale: Float32Array; shift: Float32Array } {
    const { scale, shift } = this.evalScaleShiftTensors();
    return { scale: scale.data(), shift: shift.data() };
  }

  /** evalScaleShift as tensors of shape [numFeatures] on the layer's device. */
  evalScaleShiftTensors(): { scale: Tensor; shift: Tensor } {
    if (this.runningMean === null || this.runningVar === null) {
      throw new Error(`${this.constructor.name}.evalScaleShift: needs running statistics (trackRunningStats is false)`);
    }
    const { scale, shift } = evalScaleShift(this.runningMean, this.runningVar, this.weight, this.bias, this.eps);
    return { scale, shift };
  }
}

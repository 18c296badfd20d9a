// FilteredBatchNorm1d / FilteredBatchNorm2d (seed 000, ICPR 2020): BN whose statistics ignore
// the values further than T standard deviations from the channel mean.
import type { Tensor } from '../../tensor/tensor.js';
import { filteredBatchNormWithStats } from '../../ops/norm.js';
import { RunningStats, type RunningStatsOptions } from './running_stats.js';
import { fbnValuesPerStatistic, warnFbnNoFilter } from './fbn_limit.js';

export interface FilteredBatchNormOptions extends RunningStatsOptions {
  /** T: keep values with -T < (x - mu0) / sigma0 < T (default 4); must be > 0. */
  threshold?: number;
  /**
   * Statistics in eval: 'running' (default, as BN) or 'batch' (the filtered statistics of the
   * eval batch, as the paper's plug-in layer does).
   */
  evalMode?: 'running' | 'batch';
  /** One scalar mean/variance pooled over all features (the paper's 1-D variant). */
  pooled?: boolean;
}

/**
 * Per channel: mu0 and the unbiased sigma0^2 over (N, *); z = (x - mu0) / sqrt(sigma0^2 + 1e-10);
 * the values with -T < z < T give the mean and the biased variance that normalize all values:
 * y = (x - mean_f) / sqrt(var_f + eps) * weight + bias. The mask is a constant of the batch (no
 * gradient through it). Running statistics as BN, of the filtered statistics (running_var gets
 * var_f * kept / (kept - 1)). With pooled, the running buffers hold the scalar in every entry.
 */
abstract class FilteredBatchNormBase extends RunningStats {
  protected abstract readonly ranks: readonly number[];
  readonly threshold: number;
  readonly evalMode: 'running' | 'batch';
  readonly pooled: boolean;
  /**
   * Fraction of values kept per channel by the last batch-statistics forward (shape [C]; [1] when
   * pooled), on the layer's device; forward never reads it back. Null before the first one.
   */
  lastKeptFractionTensor: Tensor | null = null;
  /** How warnings name the layer: its class until a container names it (nameFilteredBatchNorms). */
  layerName: string;
  private filterChecked = false;

  constructor(numFeatures: number, options: FilteredBatchNormOptions = {}) {
    super(numFeatures, options, { affine: true, trackRunningStats: true });
    const T = options.threshold ?? 4;
    if (!(T > 0)) throw new RangeError(`${new.target.name}: threshold must be > 0, got ${T}`);
    this.threshold = T;
    this.evalMode = options.evalMode ?? 'running';
    this.pooled = options.pooled ?? false;
    this.layerName = new.target.name;
  }

  /** evalMode 'batch' keeps the (filtered) batch statistics in eval. */
  protected override useBatchStats(): boolean {
    return super.useBatchStats() || this.evalMode === 'batch';
  }

  forward(x: Tensor): Tensor {
    this.check(x, this.ranks);
    const batch = this.useBatchStats();
    const momentum = this.updatesRunningStats() ? this.nextFactor() : 0;
    const update = this.updatesRunningStats();
    if (this.training && !this.filterChecked) {
      // Once, at the first training batch: warn when T keeps every value (fbn_limit.ts).
      this.filterChecked = true;
      warnFbnNoFilter(this.layerName, fbnValuesPerStatistic(x.shape, this.pooled), this.threshold);
    }
    const { out, stats } = filteredBatchNormWithStats(
      x, batch && !update ? null : this.runningMean, batch && !update ? null : this.runningVar, this.weight, this.bias,
      { training: batch, momentum, numBatchesTracked: this.numBatchesTracked, eps: this.eps, threshold: this.threshold, pooled: this.pooled },
      `${this.constructor.name}.forward`,
    );
    if (stats !== null) this.lastKeptFractionTensor = stats.keptFraction;
    return out;
  }

  /**
   * lastKeptFractionTensor's values on the host, read synchronously (CPU layers; elsewhere
   * `await readKeptFraction()`).
   */
  get lastKeptFraction(): Float32Array | null {
    return this.lastKeptFractionTensor === null ? null : this.lastKeptFractionTensor.data();
  }

  /** lastKeptFractionTensor's values on the host, from any device. */
  async readKeptFraction(): Promise<Float32Array | null> {
    return this.lastKeptFractionTensor === null ? null : this.lastKeptFractionTensor.read();
  }
}

/** Filtered BN over (N, C) or (N, C, L) inputs. */
export class FilteredBatchNorm1d extends FilteredBatchNormBase {
  protected readonly ranks = [2, 3];
}

/** Filtered BN over (N, C, H, W) inputs. */
export class FilteredBatchNorm2d extends FilteredBatchNormBase {
  protected readonly ranks = [4];
}

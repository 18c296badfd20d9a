// BatchRenorm1d / BatchRenorm2d: Batch Renormalization (Ioffe 2017), as Keras' renorm=True.
import type { Tensor } from '../../tensor/tensor.js';
import { full, zeros } from '../../tensor/create.js';
import { batchRenorm, countBatch, fill_, updateRenormStats, updateRunningStats } from '../../ops/norm.js';
import { RunningStats, type RunningStatsOptions } from './running_stats.js';

export interface BatchRenormOptions extends Omit<RunningStatsOptions, 'trackRunningStats'> {
  /** r = clip(sigma_B / sigma, 1/rMax, rMax) (default 3). */
  rMax?: number;
  /** d = clip((mean_B - mu) / sigma, -dMax, dMax) (default 5). */
  dMax?: number;
  /** Training steps with r = 1, d = 0 (plain BN) before renormalization starts (default 0). */
  warmupSteps?: number;
  /**
   * Factor of the renorm statistics update, PyTorch convention (default 0.01: Keras'
   * renorm_momentum 0.99): mu = (1 - f) mu + f mean_B, sigma = (1 - f) sigma + f sigma_B.
   */
  renormMomentum?: number;
}

/**
 * Training: sigma_B = sqrt(var_B + eps) (biased var_B); r and d from the renorm statistics
 * (buffers renorm_mean, renorm_std; as Keras, a moving average of sigma_B, not of the
 * variance), both without gradient; y = ((x - mean_B) / sigma_B * r + d) * weight + bias. Then
 * renorm_mean/renorm_std and the running statistics (BN's, for eval) are updated. Eval: as BN
 * with running statistics. Running statistics are always tracked.
 */
abstract class BatchRenormBase extends RunningStats {
  protected abstract readonly ranks: readonly number[];
  readonly rMax: number;
  readonly dMax: number;
  readonly warmupSteps: number;
  readonly renormMomentum: number;
  readonly renormMean: Tensor;
  readonly renormStd: Tensor;

  constructor(numFeatures: number, options: BatchRenormOptions = {}) {
    super(numFeatures, { ...options, trackRunningStats: true }, { affine: true, trackRunningStats: true });
    const fn = new.target.name;
    this.rMax = options.rMax ?? 3;
    this.dMax = options.dMax ?? 5;
    if (!(this.rMax >= 1)) throw new RangeError(`${fn}: rMax must be >= 1, got ${this.rMax}`);
    if (!(this.dMax >= 0)) throw new RangeError(`${fn}: dMax must be >= 0, got ${this.dMax}`);
    this.warmupSteps = options.warmupSteps ?? 0;
    this.renormMomentum = options.renormMomentum ?? 0.01;
    this.renormMean = this.registerBuffer('renorm_mean', zeros([numFeatures]))!;
    this.renormStd = this.registerBuffer('renorm_std', full([numFeatures], 1))!;
  }

  override resetRunningStats(): void {
    super.resetRunningStats();
    // Called by the base constructor before the renorm buffers exist.
    if (this.renormMean !== undefined) fill_(this.renormMean, 0);
    if (this.renormStd !== undefined) fill_(this.renormStd, 1);
  }

  forward(x: Tensor): Tensor {
    this.check(x, this.ranks);
    if (!this.statsTraining) {
      return batchRenorm(x, this.renormMean, this.renormStd, this.runningMean, this.runningVar, this.weight, this.bias, { training: false, eps: this.eps });
    }
    // Warm-up compares num_batches_tracked, the batches seen before this one, with warmupSteps on
    // the device; the batch is counted after the normalization, before the running updates.
    const nbt = this.numBatchesTracked!;
    return batchRenorm(
      x, this.renormMean, this.renormStd, this.runningMean, this.runningVar, this.weight, this.bias,
      { training: true, eps: this.eps, rMax: this.rMax, dMax: this.dMax, warmupSteps: this.warmupSteps, numBatchesTracked: nbt },
      (stats) => {
        countBatch(nbt);
        updateRunningStats(this.runningMean, this.runningVar, stats.mean.storage, stats.biasedVar.storage, stats.count, this.momentum, nbt);
        updateRenormStats(this.renormMean, this.renormStd, stats, this.renormMomentum, this.eps);
      },
    );
  }
}

/** Batch Renorm over (N, C) or (N, C, L) inputs. */
export class BatchRenorm1d extends BatchRenormBase {
  protected readonly ranks = [2, 3];
}

/** Batch Renorm over (N, C, H, W) inputs. */
export class BatchRenorm2d extends BatchRenormBase {
  protected readonly ranks = [4];
}

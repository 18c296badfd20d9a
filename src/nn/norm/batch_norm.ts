// BatchNorm1d / 2d / 3d (PyTorch semantics, with seed 001's bnWeight) and InputNorm.
import type { Tensor } from '../../tensor/tensor.js';
import { zeros } from '../../tensor/create.js';
import { batchNormAct, fill_ } from '../../ops/norm.js';
import type { NormAct } from '../../backend/kernels/norm.js';
import { RunningStats, type RunningStatsOptions } from './running_stats.js';

export type BatchNormOptions = RunningStatsOptions;

/**
 * y = (x - mean) / sqrt(var + eps) * weight + bias with batch statistics (biased variance) in
 * training and running statistics in eval (batch statistics when trackRunningStats is false).
 */
export abstract class BatchNormBase extends RunningStats {
  protected abstract readonly ranks: readonly number[];

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, { affine: true, trackRunningStats: true });
  }

  /** The activation applied after the normalization ('none' here; BatchNormAct2d's). */
  protected fusedAct(): NormAct {
    return 'none';
  }

  forward(x: Tensor): Tensor {
    this.check(x, this.ranks);
    // Running buffers are null without trackRunningStats; they are updated only in training.
    const momentum = this.updatesRunningStats() ? this.nextFactor() : 0;
    return batchNormAct(x, this.runningMean, this.runningVar, this.weight, this.bias, this.fusedAct(), 0, {
      training: this.useBatchStats(),
      momentum,
      numBatchesTracked: this.numBatchesTracked,
      eps: this.eps,
    });
  }
}

/** Batch normalization over (N, C) or (N, C, L) inputs. */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3];
}

/** Batch normalization over (N, C, H, W) inputs. */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4];
}

/** Batch normalization over (N, C, D, H, W) inputs. */
export class BatchNorm3d extends BatchNormBase {
  protected readonly ranks = [5];
}

export interface InputNormOptions extends Omit<BatchNormOptions, 'affine'> {
  /** Ranks accepted (default [4]: images). */
  dims?: 1 | 2;
}

/**
 * BN as input normalization (seed 001): an affine BN placed first instead of dataset mean/std,
 * with gamma = bnWeight * 0.58 (bnWeight <= 0 means 1) and beta frozen at 0. The frozen beta is
 * not a trainable parameter (parameters() omits it) but stays in the state dict as `bias`.
 */
export class InputNorm extends BatchNormBase {
  protected readonly ranks: readonly number[];

  constructor(numFeatures: number, options: InputNormOptions = {}) {
    super(numFeatures, { ...options, affine: true });
    this.ranks = (options.dims ?? 2) === 1 ? [2, 3] : [4];
    fill_(this.weight!, this.bnWeight * 0.58);
    const frozen = zeros([numFeatures]);
    this.removeParameter('bias');
    this.bias = this.registerBuffer('bias', frozen);
  }

  override resetParameters(): void {
    super.resetParameters();
    if (this.weight !== null) fill_(this.weight, this.bnWeight * 0.58);
  }
}

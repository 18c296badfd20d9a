// GroupNorm, LayerNorm, InstanceNorm1d/2d/3d: statistics per sample (biased variance, eps 1e-5),
// all on the "normalize contiguous groups" kernel.
import { Module, Parameter } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { full, zeros } from '../../tensor/create.js';
import { groupNorm, layerNorm, instanceNorm } from '../../ops/norm.js';
import { checkPositiveInt } from '../../tensor/shape.js';
import { RunningStats, type RunningStatsOptions } from './running_stats.js';

export interface GroupNormOptions {
  eps?: number;
  affine?: boolean;
}

/**
 * Statistics per (sample, group of channels/groups channels) over the group's channels and
 * spatial dims; per-channel weight (1) and bias (0). GroupNorm(1, C) has LayerNorm([C, H, W])'s
 * statistics with a per-channel affine; GroupNorm(C, C) has InstanceNorm's.
 */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, options: GroupNormOptions = {}) {
    super();
    checkPositiveInt('GroupNorm', 'numGroups', numGroups);
    checkPositiveInt('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0) {
      throw new RangeError(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    }
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-5;
    this.affine = options.affine ?? true;
    this.weight = this.registerParameter('weight', this.affine ? new Parameter(full([numChannels], 1)) : null);
    this.bias = this.registerParameter('bias', this.affine ? new Parameter(zeros([numChannels])) : null);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new RangeError(`GroupNorm.forward: input must be (N, ${this.numChannels}, *), got shape [${x.shape.join(', ')}]`);
    }
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
}

export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
}

/** Statistics over the trailing dims `normalizedShape`; elementwise weight and bias of that shape. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (this.normalizedShape.length === 0) throw new RangeError('LayerNorm: normalizedShape must have at least one dim, got []');
    for (const d of this.normalizedShape) checkPositiveInt('LayerNorm', 'normalizedShape', d);
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.weight = this.registerParameter('weight', this.elementwiseAffine ? new Parameter(full(this.normalizedShape, 1)) : null);
    this.bias = this.registerParameter('bias', this.elementwiseAffine ? new Parameter(zeros(this.normalizedShape)) : null);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

export type InstanceNormOptions = Omit<RunningStatsOptions, 'bnWeight'>;

/**
 * Statistics per (sample, channel) over the spatial dims. As PyTorch: affine and
 * trackRunningStats default to false; with running statistics, training updates them with the
 * batch average of the per-instance mean and unbiased variance, and eval uses them.
 * As PyTorch 1.13's _InstanceNorm, num_batches_tracked is a buffer (with trackRunningStats) that
 * training never increments, and momentum must be a number: the cumulative average (momentum
 * null) would need that count.
 */
abstract class InstanceNormBase extends RunningStats {
  protected abstract readonly ranks: readonly number[];

  constructor(numFeatures: number, options: InstanceNormOptions = {}) {
    if (options.momentum === null) {
      throw new TypeError(`${new.target.name}: momentum must be a number (PyTorch's instance_norm takes no cumulative average), got null`);
    }
    super(numFeatures, options, { affine: false, trackRunningStats: false });
  }

  forward(x: Tensor): Tensor {
    this.check(x, this.ranks, 'spatial');
    const momentum = this.updatesRunningStats() ? (this.momentum as number) : 0;
    // Running buffers are null without trackRunningStats; they are updated only in training.
    return instanceNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      useInputStats: this.useBatchStats(),
      momentum,
      eps: this.eps,
    });
  }
}

/** Instance normalization over (N, C, L) inputs. */
export class InstanceNorm1d extends InstanceNormBase {
  protected readonly ranks = [3];
}

/** Instance normalization over (N, C, H, W) inputs. */
export class InstanceNorm2d extends InstanceNormBase {
  protected readonly ranks = [4];
}

/** Instance normalization over (N, C, D, H, W) inputs. */
export class InstanceNorm3d extends InstanceNormBase {
  protected readonly ranks = [5];
}

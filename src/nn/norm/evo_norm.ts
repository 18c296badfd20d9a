// EvoNorm-B0 and EvoNorm-S0 (Liu et al. 2020, "Evolving Normalization-Activation Layers"), as
// timm's EvoNorm2dB0 / EvoNorm2dS0: normalization and activation in one layer.
import { Module, Parameter } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { full } from '../../tensor/create.js';
import { evoNormB0, evoNormS0 } from '../../ops/more_norms.js';
import { checkBatchValues, checkChannels, updateRunningStats } from '../../ops/norm.js';
import { checkPositiveInt } from '../../tensor/shape.js';

export interface EvoNormB0Options {
  /** The v term (the layer's nonlinearity); false leaves the affine only. Default true. */
  applyAct?: boolean;
  momentum?: number;
  /** Default 1e-3 (timm). */
  eps?: number;
}

/**
 * y = x / max(sqrt(var_B + eps), v * x + sqrt(var_instance + eps)) * weight + bias. Training uses
 * the biased batch variance over (N, H, W) and updates running_var with its unbiased value
 * (factor momentum); eval uses running_var. Parameters weight, bias, v; buffer running_var.
 */
export class EvoNorm2dB0 extends Module {
  readonly numFeatures: number;
  readonly momentum: number;
  readonly eps: number;
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly v: Parameter | null;
  readonly runningVar: Tensor;

  constructor(numFeatures: number, options: EvoNormB0Options = {}) {
    super();
    checkPositiveInt('EvoNorm2dB0', 'numFeatures', numFeatures);
    this.numFeatures = numFeatures;
    this.momentum = options.momentum ?? 0.1;
    this.eps = options.eps ?? 1e-3;
    const vec = (v: number): Tensor => full([numFeatures], v);
    this.weight = this.registerParameter('weight', new Parameter(vec(1)))!;
    this.bias = this.registerParameter('bias', new Parameter(vec(0)))!;
    this.v = this.registerParameter('v', (options.applyAct ?? true) ? new Parameter(vec(1)) : null);
    this.runningVar = this.registerBuffer('running_var', vec(1))!;
  }

  forward(x: Tensor): Tensor {
    const fn = 'EvoNorm2dB0.forward';
    const view = checkChannels(fn, x, this.numFeatures, [4]);
    const training = this.v !== null && this.training;
    if (training) checkBatchValues(fn, x, view);
    return evoNormB0(x, this.runningVar, this.v, this.weight, this.bias, {
      training, eps: this.eps,
      // running_var = (1 - momentum) running_var + momentum * unbiased batch variance, on the device.
      onBatchVar: (bvar, n) => updateRunningStats(null, this.runningVar, bvar.storage, bvar.storage, n, this.momentum),
    });
  }
}

export interface EvoNormS0Options {
  /** Number of groups (default 32); ignored when groupSize is given. */
  groups?: number;
  /** Channels per group; groups = numFeatures / groupSize. */
  groupSize?: number;
  applyAct?: boolean;
  /** Default 1e-5 (timm). */
  eps?: number;
}

/**
 * y = x * sigmoid(v * x) / sqrt(var_group + eps) * weight + bias, statistics per (sample,
 * group) as GroupNorm's; batch-independent, no running statistics. Parameters weight, bias, v.
 */
export class EvoNorm2dS0 extends Module {
  readonly numFeatures: number;
  readonly groups: number;
  readonly eps: number;
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly v: Parameter | null;

  constructor(numFeatures: number, options: EvoNormS0Options = {}) {
    super();
    checkPositiveInt('EvoNorm2dS0', 'numFeatures', numFeatures);
    this.numFeatures = numFeatures;
    if (options.groupSize !== undefined) {
      checkPositiveInt('EvoNorm2dS0', 'groupSize', options.groupSize);
      if (numFeatures % options.groupSize !== 0) throw new RangeError(`EvoNorm2dS0: numFeatures (${numFeatures}) must be divisible by groupSize (${options.groupSize})`);
      this.groups = numFeatures / options.groupSize;
    } else {
      this.groups = options.groups ?? 32;
      checkPositiveInt('EvoNorm2dS0', 'groups', this.groups);
      if (numFeatures % this.groups !== 0) throw new RangeError(`EvoNorm2dS0: numFeatures (${numFeatures}) must be divisible by groups (${this.groups})`);
    }
    this.eps = options.eps ?? 1e-5;
    const vec = (v: number): Tensor => full([numFeatures], v);
    this.weight = this.registerParameter('weight', new Parameter(vec(1)))!;
    this.bias = this.registerParameter('bias', new Parameter(vec(0)))!;
    this.v = this.registerParameter('v', (options.applyAct ?? true) ? new Parameter(vec(1)) : null);
  }

  forward(x: Tensor): Tensor {
    checkChannels('EvoNorm2dS0.forward', x, this.numFeatures, [4]);
    return evoNormS0(x, this.groups, this.v, this.weight, this.bias, this.eps);
  }
}

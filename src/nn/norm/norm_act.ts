// Normalization + activation layers (timm's BatchNormAct2d, GroupNormAct): the state dict of
// the norm (BatchNorm2d's / GroupNorm's names), then the activation.
import type { Tensor } from '../../tensor/tensor.js';
import type { NormAct } from '../../backend/kernels/norm.js';
import { groupNormAct, normKernelAct, NORM_ACTIVATIONS, type NormActivation } from '../../ops/more_norms.js';
import { BatchNorm2d, type BatchNormOptions } from './batch_norm.js';
import { GroupNorm, type GroupNormOptions } from './group_norm.js';

function checkAct(fn: string, act: string): NormActivation {
  if (!NORM_ACTIVATIONS.includes(act as NormActivation)) {
    throw new RangeError(`${fn}: act must be one of ${NORM_ACTIVATIONS.map((a) => `'${a}'`).join(', ')}, got '${act}'`);
  }
  return act as NormActivation;
}

export interface NormActOptions {
  /** Default 'relu' (timm's default act_layer). */
  act?: NormActivation;
  /** false: the activation is the identity (timm's apply_act). */
  applyAct?: boolean;
}

/** BatchNorm2d followed by an activation (fused into the BN kernels in training). */
export class BatchNormAct2d extends BatchNorm2d {
  readonly act: NormActivation;

  constructor(numFeatures: number, options: BatchNormOptions & NormActOptions = {}) {
    super(numFeatures, options);
    this.act = (options.applyAct ?? true) ? checkAct('BatchNormAct2d', options.act ?? 'relu') : 'identity';
  }

  protected override fusedAct(): NormAct {
    return normKernelAct(this.act);
  }
}

/** GroupNorm followed by an activation; timm's argument order (channels, groups = 32). */
export class GroupNormAct extends GroupNorm {
  readonly act: NormActivation;

  constructor(numChannels: number, numGroups = 32, options: GroupNormOptions & NormActOptions = {}) {
    super(numGroups, numChannels, options);
    this.act = (options.applyAct ?? true) ? checkAct('GroupNormAct', options.act ?? 'relu') : 'identity';
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new RangeError(`GroupNormAct.forward: input must be (N, ${this.numChannels}, *), got shape [${x.shape.join(', ')}]`);
    }
    return groupNormAct(x, this.numGroups, this.weight, this.bias, this.eps, this.act);
  }
}

// RMSNorm (torch.nn.RMSNorm, PyTorch >= 2.4): y = x / sqrt(mean(x^2) + eps) * weight over the
// trailing dims normalizedShape; no mean subtraction, no bias. RmsNorm2d (timm): the same over
// the channel dim of (N, C, H, W) inputs, per position.
import { Module, Parameter } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { rmsNorm, rmsNorm2d } from '../../ops/more_norms.js';
import { checkChannels } from '../../ops/norm.js';
import { checkPositiveInt } from '../../tensor/shape.js';
import { full } from '../../tensor/create.js';

export interface RMSNormOptions {
  /** null (default): float32's machine epsilon, as PyTorch. */
  eps?: number | null;
  elementwiseAffine?: boolean;
}

export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  readonly weight: Parameter | null;

  constructor(normalizedShape: number | readonly number[], options: RMSNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (this.normalizedShape.length === 0) throw new RangeError('RMSNorm: normalizedShape must have at least one dim, got []');
    for (const d of this.normalizedShape) checkPositiveInt('RMSNorm', 'normalizedShape', d);
    this.eps = options.eps ?? null;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.weight = this.registerParameter('weight', this.elementwiseAffine ? new Parameter(full(this.normalizedShape, 1)) : null);
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }
}

export interface RmsNorm2dOptions {
  /** Default 1e-6 (timm). */
  eps?: number;
  affine?: boolean;
}

export class RmsNorm2d extends Module {
  readonly numChannels: number;
  readonly eps: number;
  readonly weight: Parameter | null;

  constructor(numChannels: number, options: RmsNorm2dOptions = {}) {
    super();
    checkPositiveInt('RmsNorm2d', 'numChannels', numChannels);
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-6;
    this.weight = this.registerParameter('weight', (options.affine ?? true) ? new Parameter(full([numChannels], 1)) : null);
  }

  forward(x: Tensor): Tensor {
    checkChannels('RmsNorm2d.forward', x, this.numChannels, [4]);
    return rmsNorm2d(x, this.weight, this.eps);
  }
}

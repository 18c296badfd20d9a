// FilterResponseNormTlu2d (timm; Singh & Krishnan 2019): batch-independent normalization by the
// mean square per (sample, channel), followed by the thresholded linear unit max(y, tau).
import { Module, Parameter } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { filterResponseNorm } from '../../ops/more_norms.js';
import { checkChannels } from '../../ops/norm.js';
import { checkPositiveInt } from '../../tensor/shape.js';
import { full, zeros } from '../../tensor/create.js';

export interface FilterResponseNormOptions {
  /** Apply the TLU (parameter tau); default true. */
  applyAct?: boolean;
  /** Default 1e-5 (timm; the paper uses 1e-6). */
  eps?: number;
}

/** y = max(x / sqrt(mean(x^2 over H, W) + eps) * weight + bias, tau). Parameters weight (1), bias (0), tau (0). */
export class FilterResponseNormTlu2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly tau: Parameter | null;

  constructor(numFeatures: number, options: FilterResponseNormOptions = {}) {
    super();
    checkPositiveInt('FilterResponseNormTlu2d', 'numFeatures', numFeatures);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.weight = this.registerParameter('weight', new Parameter(full([numFeatures], 1)))!;
    this.bias = this.registerParameter('bias', new Parameter(zeros([numFeatures])))!;
    this.tau = this.registerParameter('tau', (options.applyAct ?? true) ? new Parameter(zeros([numFeatures])) : null);
  }

  forward(x: Tensor): Tensor {
    checkChannels('FilterResponseNormTlu2d.forward', x, this.numFeatures, [4]);
    return filterResponseNorm(x, this.weight, this.bias, this.tau, this.eps);
  }
}

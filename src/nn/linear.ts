// Linear (fully connected) and Identity layers.
import { Module, Parameter } from './module.js';
import { Tensor } from '../tensor/tensor.js';
import { symmetricUniform } from './init.js';
import { checkPositiveInt } from '../tensor/shape.js';
import { linear } from '../ops/linear.js';

export interface LinearOptions {
  bias?: boolean;
}

/**
 * y = x W^T + b. Weight [out, in] and bias [out] start as PyTorch's default:
 * U(-1/sqrt(in), 1/sqrt(in)) for both (kaiming_uniform with a = sqrt(5) reduces to this bound).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    checkPositiveInt('Linear', 'inFeatures', inFeatures);
    checkPositiveInt('Linear', 'outFeatures', outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.registerParameter('weight', new Parameter(symmetricUniform(outFeatures * inFeatures, bound), [outFeatures, inFeatures]))!;
    this.bias = this.registerParameter('bias', (options.bias ?? true) ? new Parameter(symmetricUniform(outFeatures, bound), [outFeatures]) : null);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.getParameter('weight')!, this.getParameter('bias'));
  }
}

/** Returns its input unchanged. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

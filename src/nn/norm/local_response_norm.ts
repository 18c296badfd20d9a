// LocalResponseNorm (torch.nn.LocalResponseNorm, AlexNet's normalization across channels).
import { Module } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { localResponseNorm, type LocalResponseNormOptions } from '../../ops/more_norms.js';

/** b_c = a_c / (k + alpha / size * sum of a^2 over `size` neighbouring channels)^beta; no state. */
export class LocalResponseNorm extends Module {
  readonly size: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;

  constructor(size: number, options: LocalResponseNormOptions = {}) {
    super();
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`LocalResponseNorm: size must be a positive integer, got ${size}`);
    this.size = size;
    this.alpha = options.alpha ?? 1e-4;
    this.beta = options.beta ?? 0.75;
    this.k = options.k ?? 1;
  }

  forward(x: Tensor): Tensor {
    return localResponseNorm(x, this.size, { alpha: this.alpha, beta: this.beta, k: this.k });
  }
}

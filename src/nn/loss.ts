// Loss modules: forward(input, target) returns the loss tensor.
import { Module } from './module.js';
import type { Tensor } from '../tensor/tensor.js';
import { crossEntropy, mseLoss, type CrossEntropyOptions, type ElementwiseLossOptions, type Target } from '../ops/loss.js';

/** Cross-entropy of logits [N, C] against class indices (options as F.crossEntropy). */
export class CrossEntropyLoss extends Module {
  constructor(readonly options: CrossEntropyOptions = {}) {
    super();
  }

  forward(input: Tensor, target?: Tensor): Tensor {
    if (target === undefined) throw new TypeError('CrossEntropyLoss.forward: target is missing');
    return crossEntropy(input, target, this.options);
  }

  /** Same as forward, but also takes an Int32Array or number[] of class indices. */
  loss(input: Tensor, target: Target): Tensor {
    return crossEntropy(input, target, this.options);
  }
}

/** Mean squared error (reduction as F.mseLoss, default mean). */
export class MSELoss extends Module {
  constructor(readonly options: ElementwiseLossOptions = {}) {
    super();
  }

  forward(input: Tensor, target?: Tensor): Tensor {
    if (target === undefined) throw new TypeError('MSELoss.forward: target is missing');
    return mseLoss(input, target, this.options);
  }
}

// Pooling layers over NCHW inputs (torch.nn.MaxPool2d, AvgPool2d, AdaptiveAvgPool2d); no state.
import { Module } from './module.js';
import { maxPool2d, avgPool2d, adaptiveAvgPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from '../ops/pool.js';
import type { Tensor } from '../tensor/tensor.js';

export class MaxPool2d extends Module {
  /** stride defaults to kernelSize, as in PyTorch; also dilation and ceilMode. */
  constructor(readonly kernelSize: number | [number, number], readonly options: MaxPool2dOptions = {}) {
    super();
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
}

export class AvgPool2d extends Module {
  /** stride defaults to kernelSize; zero padding counts in the divisor unless countIncludePad is false. */
  constructor(readonly kernelSize: number | [number, number], readonly options: AvgPool2dOptions = {}) {
    super();
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | [number, number]) {
    super();
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

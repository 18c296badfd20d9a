// Dropout layers: active in training mode (module.train()), the identity in eval mode.
// Masks are seeded from the global generator, so manualSeed makes training runs repeatable.
import { Module } from './module.js';
import type { Tensor } from '../tensor/tensor.js';
import { dropout, dropout2d } from '../ops/dropout.js';

function checkP(layer: string, p: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${layer}: p must be a probability in [0, 1], got ${p}`);
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    checkP('Dropout', p);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training });
  }
}

/** Zeroes whole channels of NCHW input with probability p. */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5) {
    super();
    checkP('Dropout2d', p);
  }

  forward(x: Tensor): Tensor {
    return dropout2d(x, this.p, { training: this.training });
  }
}

// Identity: the 'none' normalization (returns its input unchanged).
import { Module } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

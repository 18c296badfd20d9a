// LayerNorm2d (timm): LayerNorm over the channel dim of (N, C, H, W) inputs, per position;
// weight and bias of shape [C]; eps 1e-6 as timm.
import { Module, Parameter } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { layerNorm2d } from '../../ops/more_norms.js';
import { checkChannels } from '../../ops/norm.js';
import { checkPositiveInt } from '../../tensor/shape.js';
import { full, zeros } from '../../tensor/create.js';

export interface LayerNorm2dOptions {
  eps?: number;
  affine?: boolean;
}

export class LayerNorm2d extends Module {
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(numChannels: number, options: LayerNorm2dOptions = {}) {
    super();
    checkPositiveInt('LayerNorm2d', 'numChannels', numChannels);
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-6;
    this.affine = options.affine ?? true;
    this.weight = this.registerParameter('weight', this.affine ? new Parameter(full([numChannels], 1)) : null);
    this.bias = this.registerParameter('bias', this.affine ? new Parameter(zeros([numChannels])) : null);
  }

  forward(x: Tensor): Tensor {
    checkChannels('LayerNorm2d.forward', x, this.numChannels, [4]);
    return layerNorm2d(x, this.weight, this.bias, this.eps);
  }
}

// Conv2d layer over NCHW inputs (torch.nn.Conv2d). State-dict names: weight [O, C/groups, KH, KW],
// bias [O].
import { Module, Parameter } from './module.js';
import { conv2d } from '../ops/conv.js';
import { defaultGenerator } from '../tensor/random.js';
import { symmetricUniform } from './init.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkPositiveInt } from '../tensor/shape.js';

export interface Conv2dLayerOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  /** Default true. */
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: number | [number, number];
  readonly padding: number | [number, number];
  readonly dilation: number | [number, number];
  readonly groups: number;

  /**
   * PyTorch's default initialisation: kaiming_uniform_(a = sqrt(5)) gives
   * weight ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with fanIn = (C/groups)*KH*KW, and bias ~ the same
   * range; both drawn from the global generator (manualSeed), weight first.
   */
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], options: Conv2dLayerOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    checkPositiveInt('Conv2d', 'inChannels', inChannels);
    checkPositiveInt('Conv2d', 'outChannels', outChannels);
    checkPositiveInt('Conv2d', 'groups', groups);
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new RangeError(`Conv2d: groups (${groups}) must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
    }
    const k: [number, number] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : [kernelSize[0], kernelSize[1]];
    checkPositiveInt('Conv2d', 'kernelSize[0]', k[0]);
    checkPositiveInt('Conv2d', 'kernelSize[1]', k[1]);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = k;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.groups = groups;
    const fanIn = (inChannels / groups) * k[0] * k[1];
    const bound = 1 / Math.sqrt(fanIn);
    const gen = defaultGenerator();
    const wShape = [outChannels, inChannels / groups, k[0], k[1]];
    this.registerParameter('weight', new Parameter(symmetricUniform(outChannels * fanIn, bound, gen), wShape));
    this.registerParameter('bias', (options.bias ?? true) ? new Parameter(symmetricUniform(outChannels, bound, gen), [outChannels]) : null);
  }

  get weight(): Parameter {
    return this.getParameter('weight')!;
  }

  get bias(): Parameter | null {
    return this.getParameter('bias');
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

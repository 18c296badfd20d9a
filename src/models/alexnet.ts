// AlexNet (torchvision layout) with a normalization layer after every conv, as seed 000's
// alexnet_batchnorm_double.py uses on CIFAR-10 resized to 224×224. Unlike the seed, γ and β
// of the norm layers are trained (the seed's code never passed them to the optimizer).
// Works for inputs >= 63×63 (the three 3×3/2 max-pools need it); the adaptive pool makes 6×6.
import * as nn from '../nn/index.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeInputNorm, makeNorm, normKind, withBnWeight, type NormSpec } from './norm.js';

export interface AlexNetOptions {
  norm?: NormSpec;
  inChannels?: number;
  numClasses?: number;
  dropout?: number;
  /** Initial γ of the BN layers (seed 001; <= 0 or absent: 1). */
  bnWeight?: number;
  /** 'bn' puts seed 001's input-normalization BN first (module `input_norm`); 'dataset': none. */
  inputNorm?: 'bn' | 'dataset';
}

export class AlexNet extends Module {
  readonly inputNorm: Module | null;
  readonly features: nn.Sequential;
  readonly classifier: nn.Sequential;
  private readonly pool = new nn.AdaptiveAvgPool2d(6);

  constructor(opts: AlexNetOptions = {}) {
    super();
    const withNorm = normKind(opts.norm) !== 'none';
    const norm = withBnWeight(opts.norm, opts.bnWeight);
    const inNorm = makeInputNorm(opts.inputNorm, opts.inChannels ?? 3, opts.bnWeight);
    this.inputNorm = inNorm === null ? null : this.registerModule('input_norm', inNorm);
    const block = (i: number, o: number, k: number, stride: number, padding: number): Module[] => [
      new nn.Conv2d(i, o, k, { stride, padding }),
      ...(withNorm ? [makeNorm(norm, o, 2)] : []),
      new nn.ReLU(),
    ];
    this.features = this.registerModule(
      'features',
      new nn.Sequential(
        ...block(opts.inChannels ?? 3, 64, 11, 4, 2), new nn.MaxPool2d(3, { stride: 2 }),
        ...block(64, 192, 5, 1, 2), new nn.MaxPool2d(3, { stride: 2 }),
        ...block(192, 384, 3, 1, 1), ...block(384, 256, 3, 1, 1), ...block(256, 256, 3, 1, 1),
        new nn.MaxPool2d(3, { stride: 2 }),
      ),
    );
    const p = opts.dropout ?? 0.5;
    this.classifier = this.registerModule(
      'classifier',
      new nn.Sequential(new nn.Dropout(p), new nn.Linear(256 * 6 * 6, 4096), new nn.ReLU(), new nn.Dropout(p), new nn.Linear(4096, 4096), new nn.ReLU(), new nn.Linear(4096, opts.numClasses ?? 10)),
    );
  }

  forward(x: Tensor): Tensor {
    const y = this.inputNorm === null ? x : this.inputNorm.call(x);
    return this.classifier.call(this.pool.call(this.features.call(y)).flatten(1));
  }
}

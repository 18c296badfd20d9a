// VGG-11/13/16/19 for CIFAR: torchvision's `features` (3×3 convs, norm, ReLU, max-pools) with
// the classifier sized for 32×32 inputs: adaptive average pool to 1×1, then
// Linear(512, 512), ReLU, Dropout, Linear(512, 512), ReLU, Dropout, Linear(512, classes)
// (torchvision's 7×7×4096 head would hold 120M parameters for a 1×1 feature map). Names follow
// torchvision (features.N, classifier.0/3/6) so its checkpoints of this shape load.
import * as nn from '../nn/index.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeInputNorm, makeNorm, normKind, withBnWeight, type NormSpec } from './norm.js';

const CFG: Record<number, (number | 'M')[]> = {
  11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

export interface VGGOptions {
  norm?: NormSpec;
  numClasses?: number;
  inChannels?: number;
  dropout?: number;
  /** Initial γ of the BN layers (seed 001; <= 0 or absent: 1). */
  bnWeight?: number;
  /** 'bn' puts seed 001's input-normalization BN first (module `input_norm`); 'dataset': none. */
  inputNorm?: 'bn' | 'dataset';
}

export class VGG extends Module {
  readonly inputNorm: Module | null;
  readonly features: nn.Sequential;
  readonly classifier: nn.Sequential;
  private readonly pool = new nn.AdaptiveAvgPool2d(1);

  constructor(depth: 11 | 13 | 16 | 19, opts: VGGOptions = {}) {
    super();
    const cfg = CFG[depth];
    if (cfg === undefined) throw new RangeError(`VGG: depth must be 11, 13, 16 or 19, got ${depth}`);
    const layers: Module[] = [];
    let c = opts.inChannels ?? 3;
    const withNorm = normKind(opts.norm) !== 'none';
    const norm = withBnWeight(opts.norm, opts.bnWeight);
    const inNorm = makeInputNorm(opts.inputNorm, c, opts.bnWeight);
    this.inputNorm = inNorm === null ? null : this.registerModule('input_norm', inNorm);
    for (const v of cfg) {
      if (v === 'M') {
        layers.push(new nn.MaxPool2d(2, { stride: 2 }));
      } else {
        layers.push(new nn.Conv2d(c, v, 3, { padding: 1 }));
        if (withNorm) layers.push(makeNorm(norm, v, 2));
        layers.push(new nn.ReLU());
        c = v;
      }
    }
    this.features = this.registerModule('features', new nn.Sequential(...layers));
    const p = opts.dropout ?? 0.5;
    this.classifier = this.registerModule(
      'classifier',
      new nn.Sequential(new nn.Linear(512, 512), new nn.ReLU(), new nn.Dropout(p), new nn.Linear(512, 512), new nn.ReLU(), new nn.Dropout(p), new nn.Linear(512, opts.numClasses ?? 10)),
    );
  }

  forward(x: Tensor): Tensor {
    const y = this.inputNorm === null ? x : this.inputNorm.call(x);
    return this.classifier.call(this.pool.call(this.features.call(y)).flatten(1));
  }
}

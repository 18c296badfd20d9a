// Seed 003's 5-block CIFAR-100 CNN (Keras): blocks of two 3×3 'same' convs (60 filters; 100 in
// the last block), each followed by [norm] and the activation; max-pool 2 and Dropout(0.15)
// after every block but the last; flatten; Dense(classes) (softmax is in the loss).
// With 5 blocks the input 32×32 shrinks to 2×2, so the dense layer sees 100·2·2 = 400 values.
// Keras' BatchNormalization defaults are momentum 0.99 and eps 1e-3, i.e. PyTorch momentum 0.01;
// Keras' Conv2D and Dense start from Glorot-uniform weights and zero biases (init 'keras', the
// default here; 'pytorch' keeps PyTorch's layer defaults).
import * as nn from '../nn/index.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeInputNorm, makeNorm, normKind, withBnWeight, type NormSpec } from './norm.js';
import { constant, xavierUniform } from '../nn/init.js';

export interface CifarCnnOptions {
  norm?: NormSpec;
  activation?: 'sigmoid' | 'relu';
  blocks?: number;
  numClasses?: number;
  inChannels?: number;
  imageSize?: number;
  /** Initial γ of the BN layers (seed 001; <= 0 or absent: 1). */
  bnWeight?: number;
  /** 'bn' puts seed 001's input-normalization BN first (module `input_norm`); 'dataset': none. */
  inputNorm?: 'bn' | 'dataset';
  /** 'keras' (default): Glorot-uniform conv/dense weights, zero biases; 'pytorch': PyTorch's defaults. */
  init?: 'keras' | 'pytorch';
}

export class CifarCnn extends Module {
  readonly inputNorm: Module | null;
  readonly body: nn.Sequential;
  readonly fc: Module;

  constructor(opts: CifarCnnOptions = {}) {
    super();
    const blocks = opts.blocks ?? 5;
    if (!Number.isInteger(blocks) || blocks < 2) throw new RangeError(`CifarCnn: blocks must be an integer >= 2, got ${blocks}`);
    const act = (): Module => ((opts.activation ?? 'relu') === 'sigmoid' ? new nn.Sigmoid() : new nn.ReLU());
    const spec = withBnWeight(opts.norm, opts.bnWeight, { kind: 'bn', momentum: 0.01, eps: 1e-3 });
    const inNorm = makeInputNorm(opts.inputNorm, opts.inChannels ?? 3, opts.bnWeight);
    this.inputNorm = inNorm === null ? null : this.registerModule('input_norm', inNorm);
    const withNorm = normKind(spec) !== 'none';
    const conv = (i: number, o: number): Module[] => [new nn.Conv2d(i, o, 3, { padding: 1 }), ...(withNorm ? [makeNorm(spec, o, 2)] : []), act()];
    const layers: Module[] = [];
    let c = opts.inChannels ?? 3;
    let size = opts.imageSize ?? 32;
    for (let b = 0; b < blocks - 1; b++) {
      layers.push(...conv(c, 60), ...conv(60, 60), new nn.MaxPool2d(2), new nn.Dropout(0.15));
      c = 60;
      size = Math.floor(size / 2);
    }
    layers.push(...conv(c, 100), ...conv(100, 100));
    this.body = this.registerModule('body', new nn.Sequential(...layers));
    this.fc = this.registerModule('fc', new nn.Linear(100 * size * size, opts.numClasses ?? 100));
    const init = opts.init ?? 'keras';
    if (init !== 'keras' && init !== 'pytorch') throw new RangeError(`CifarCnn: init must be 'keras' or 'pytorch', got '${String(init)}'`);
    if (init === 'keras') {
      for (const m of this.modules()) {
        if (!(m instanceof nn.Conv2d || m instanceof nn.Linear)) continue;
        xavierUniform(m.getParameter('weight')!);
        const b = m.getParameter('bias');
        if (b !== null) constant(b, 0);
      }
    }
  }

  forward(x: Tensor): Tensor {
    const y = this.inputNorm === null ? x : this.inputNorm.call(x);
    return this.fc.call(this.body.call(y).flatten(1));
  }
}

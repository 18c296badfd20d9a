// The seeds' MNIST networks.
import * as nn from '../nn/index.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeInputNorm, makeNorm, withBnWeight, type NormSpec } from './norm.js';

export interface ModelOptions {
  norm?: NormSpec;
  numClasses?: number;
  /** Channels of the input images (default 1); the first conv takes them. */
  inChannels?: number;
  /** Initial γ of the BN layers (seed 001; <= 0 or absent: 1). */
  bnWeight?: number;
  /** 'bn' puts seed 001's input-normalization BN first (module `input_norm`); 'dataset': none. */
  inputNorm?: 'bn' | 'dataset';
}

/**
 * Seed 000's small MNIST CNN (mnist_train.py): conv 1→10 5×5, max-pool 2, ReLU, conv 10→20 5×5,
 * Dropout2d, max-pool 2, ReLU, fc 320→50, norm, ReLU, dropout, fc 50→10. Input 1×28×28.
 */
export class FbnMnistNet extends Module {
  readonly inputNorm: Module | null;
  readonly conv1: Module;
  readonly conv2: Module;
  readonly conv2Drop: Module;
  readonly fc1: Module;
  readonly bn: Module;
  readonly drop: Module;
  readonly fc2: Module;
  private readonly pool = new nn.MaxPool2d(2);
  private readonly act = new nn.ReLU();

  constructor(opts: ModelOptions = {}) {
    super();
    const norm = withBnWeight(opts.norm, opts.bnWeight);
    const inNorm = makeInputNorm(opts.inputNorm, opts.inChannels ?? 1, opts.bnWeight);
    this.inputNorm = inNorm === null ? null : this.registerModule('input_norm', inNorm);
    this.conv1 = this.registerModule('conv1', new nn.Conv2d(opts.inChannels ?? 1, 10, 5));
    this.conv2 = this.registerModule('conv2', new nn.Conv2d(10, 20, 5));
    this.conv2Drop = this.registerModule('conv2_drop', new nn.Dropout2d(0.5));
    this.fc1 = this.registerModule('fc1', new nn.Linear(320, 50));
    this.bn = this.registerModule('bn', makeNorm(norm, 50, 1));
    this.drop = this.registerModule('dropout', new nn.Dropout(0.5));
    this.fc2 = this.registerModule('fc2', new nn.Linear(50, opts.numClasses ?? 10));
  }

  forward(x: Tensor): Tensor {
    let y = this.inputNorm === null ? x : this.inputNorm.call(x);
    y = this.act.call(this.pool.call(this.conv1.call(y)));
    y = this.act.call(this.pool.call(this.conv2Drop.call(this.conv2.call(y))));
    y = y.flatten(1);
    y = this.drop.call(this.act.call(this.bn.call(this.fc1.call(y))));
    return this.fc2.call(y);
  }
}

/**
 * LeNet-5 as in seed 000's mnist_lenet5_test.py, with a normalization layer after every conv
 * and hidden fc: conv 1→6 5×5 (padding 2), norm, ReLU, max-pool 2; conv 6→16 5×5, norm, ReLU,
 * max-pool 2; fc 400→120, norm, ReLU; fc 120→84, norm, ReLU; fc 84→10.
 */
export class LeNet5 extends Module {
  readonly inputNorm: Module | null;
  readonly features: nn.Sequential;
  readonly classifier: nn.Sequential;

  constructor(opts: ModelOptions = {}) {
    super();
    const norm = withBnWeight(opts.norm, opts.bnWeight);
    const inNorm = makeInputNorm(opts.inputNorm, opts.inChannels ?? 1, opts.bnWeight);
    this.inputNorm = inNorm === null ? null : this.registerModule('input_norm', inNorm);
    this.features = this.registerModule(
      'features',
      new nn.Sequential(
        new nn.Conv2d(opts.inChannels ?? 1, 6, 5, { padding: 2 }), makeNorm(norm, 6, 2), new nn.ReLU(), new nn.MaxPool2d(2),
        new nn.Conv2d(6, 16, 5), makeNorm(norm, 16, 2), new nn.ReLU(), new nn.MaxPool2d(2),
      ),
    );
    this.classifier = this.registerModule(
      'classifier',
      new nn.Sequential(
        new nn.Linear(400, 120), makeNorm(norm, 120, 1), new nn.ReLU(),
        new nn.Linear(120, 84), makeNorm(norm, 84, 1), new nn.ReLU(),
        new nn.Linear(84, opts.numClasses ?? 10),
      ),
    );
  }

  forward(x: Tensor): Tensor {
    const y = this.inputNorm === null ? x : this.inputNorm.call(x);
    return this.classifier.call(this.features.call(y).flatten(1));
  }
}

export interface Seed002Options extends ModelOptions {
  dropout?: number;
}

/**
 * Seed 002's MNIST network (7 conv blocks, no fc): conv 1→10 3×3, ReLU, norm, dropout; conv 10→20,
 * ReLU, norm; conv 20→10 1×1; max-pool 2; conv 10→20, ReLU, norm, dropout; conv 20→12, ReLU,
 * norm; conv 12→12, ReLU, norm, dropout; avg-pool 6; conv 12→10 1×1. Convs have no bias.
 * The seed's unused convblock7 (16→16, never called) is left out. Returns logits; the seed
 * applies log_softmax + nll_loss, which equals cross-entropy on logits.
 */
export class Seed002Net extends Module {
  readonly inputNorm: Module | null;
  readonly body: nn.Sequential;

  constructor(opts: Seed002Options = {}) {
    super();
    const p = opts.dropout ?? 0.05;
    const norm = withBnWeight(opts.norm, opts.bnWeight);
    const inNorm = makeInputNorm(opts.inputNorm, opts.inChannels ?? 1, opts.bnWeight);
    this.inputNorm = inNorm === null ? null : this.registerModule('input_norm', inNorm);
    const n = (c: number): Module => makeNorm(norm, c, 2);
    const conv = (i: number, o: number, k: number): Module => new nn.Conv2d(i, o, k, { bias: false });
    this.body = this.registerModule(
      'body',
      new nn.Sequential(
        new nn.Sequential(conv(opts.inChannels ?? 1, 10, 3), new nn.ReLU(), n(10), new nn.Dropout(p)),
        new nn.Sequential(conv(10, 20, 3), new nn.ReLU(), n(20)),
        new nn.Sequential(conv(20, 10, 1)),
        new nn.MaxPool2d(2),
        new nn.Sequential(conv(10, 20, 3), new nn.ReLU(), n(20), new nn.Dropout(p)),
        new nn.Sequential(conv(20, 12, 3), new nn.ReLU(), n(12)),
        new nn.Sequential(conv(12, 12, 3), new nn.ReLU(), n(12), new nn.Dropout(p)),
        new nn.AvgPool2d(6),
        new nn.Sequential(conv(12, opts.numClasses ?? 10, 1)),
      ),
    );
  }

  forward(x: Tensor): Tensor {
    return this.body.call(this.inputNorm === null ? x : this.inputNorm.call(x)).flatten(1);
  }
}

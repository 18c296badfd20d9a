// ResNet-18/34/50/101/152 in the CIFAR variant of seed 001 (networks.py): torchvision's ResNet
// with a 3×3 stride-1 first conv and no max-pool; Kaiming fan-in initialisation of conv and
// linear weights, zero biases, BN γ = bnWeight. State-dict names follow torchvision
// (conv1, bn1, layer1.0.conv1, ..., downsample.0/1, fc), so torchvision checkpoints load.
import * as nn from '../nn/index.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeInputNorm, makeNorm, withBnWeight, type NormSpec } from './norm.js';
import { kaimingNormal, constant } from '../nn/init.js';

export interface ResNetOptions {
  norm?: NormSpec;
  numClasses?: number;
  inChannels?: number;
  /** Initial BN γ (seed 001's bn_weight; <= 0 means 1). */
  bnWeight?: number;
  /** 'bn' prepends seed 001's input-normalization BN; 'dataset' expects normalized input. */
  inputNorm?: 'bn' | 'dataset';
}

function conv3x3(i: number, o: number, stride = 1): Module {
  return new nn.Conv2d(i, o, 3, { stride, padding: 1, bias: false });
}
function conv1x1(i: number, o: number, stride = 1): Module {
  return new nn.Conv2d(i, o, 1, { stride, bias: false });
}

class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Module;
  readonly bn1: Module;
  readonly conv2: Module;
  readonly bn2: Module;
  readonly downsample: Module | null;
  private readonly relu = new nn.ReLU();

  constructor(inPlanes: number, planes: number, stride: number, norm: (c: number) => Module) {
    super();
    this.conv1 = this.registerModule('conv1', conv3x3(inPlanes, planes, stride));
    this.bn1 = this.registerModule('bn1', norm(planes));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes));
    this.bn2 = this.registerModule('bn2', norm(planes));
    this.downsample =
      stride !== 1 || inPlanes !== planes ? this.registerModule('downsample', new nn.Sequential(conv1x1(inPlanes, planes, stride), norm(planes))) : null;
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.call(this.conv2.call(this.relu.call(this.bn1.call(this.conv1.call(x)))));
    const identity = this.downsample === null ? x : this.downsample.call(x);
    return this.relu.call(out.add(identity));
  }
}

class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Module;
  readonly bn1: Module;
  readonly conv2: Module;
  readonly bn2: Module;
  readonly conv3: Module;
  readonly bn3: Module;
  readonly downsample: Module | null;
  private readonly relu = new nn.ReLU();

  constructor(inPlanes: number, planes: number, stride: number, norm: (c: number) => Module) {
    super();
    const out = planes * Bottleneck.expansion;
    this.conv1 = this.registerModule('conv1', conv1x1(inPlanes, planes));
    this.bn1 = this.registerModule('bn1', norm(planes));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, stride));
    this.bn2 = this.registerModule('bn2', norm(planes));
    this.conv3 = this.registerModule('conv3', conv1x1(planes, out));
    this.bn3 = this.registerModule('bn3', norm(out));
    this.downsample =
      stride !== 1 || inPlanes !== out ? this.registerModule('downsample', new nn.Sequential(conv1x1(inPlanes, out, stride), norm(out))) : null;
  }

  forward(x: Tensor): Tensor {
    let y = this.relu.call(this.bn1.call(this.conv1.call(x)));
    y = this.relu.call(this.bn2.call(this.conv2.call(y)));
    y = this.bn3.call(this.conv3.call(y));
    const identity = this.downsample === null ? x : this.downsample.call(x);
    return this.relu.call(y.add(identity));
  }
}

const DEPTHS: Record<number, { block: 'basic' | 'bottleneck'; layers: [number, number, number, number] }> = {
  18: { block: 'basic', layers: [2, 2, 2, 2] },
  34: { block: 'basic', layers: [3, 4, 6, 3] },
  50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
  152: { block: 'bottleneck', layers: [3, 8, 36, 3] },
};

export class ResNet extends Module {
  readonly inputNorm: Module | null;
  readonly conv1: Module;
  readonly bn1: Module;
  readonly layers: nn.Sequential[];
  readonly fc: Module;
  private readonly relu = new nn.ReLU();
  private readonly pool = new nn.AdaptiveAvgPool2d(1);

  constructor(depth: 18 | 34 | 50 | 101 | 152, opts: ResNetOptions = {}) {
    super();
    const spec = DEPTHS[depth];
    if (spec === undefined) throw new RangeError(`ResNet: depth must be 18, 34, 50, 101 or 152, got ${depth}`);
    const normSpec = withBnWeight(opts.norm, opts.bnWeight);
    const norm = (c: number): Module => makeNorm(normSpec, c, 2);
    const inC = opts.inChannels ?? 3;
    const inNorm = makeInputNorm(opts.inputNorm, inC, opts.bnWeight);
    this.inputNorm = inNorm === null ? null : this.registerModule('input_norm', inNorm);
    this.conv1 = this.registerModule('conv1', new nn.Conv2d(inC, 64, 3, { stride: 1, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', norm(64));
    const expansion = spec.block === 'basic' ? 1 : 4;
    let inPlanes = 64;
    this.layers = [64, 128, 256, 512].map((planes, i) => {
      const blocks: Module[] = [];
      for (let b = 0; b < spec.layers[i]; b++) {
        const stride = b === 0 && i > 0 ? 2 : 1;
        blocks.push(spec.block === 'basic' ? new BasicBlock(inPlanes, planes, stride, norm) : new Bottleneck(inPlanes, planes, stride, norm));
        inPlanes = planes * expansion;
      }
      return this.registerModule(`layer${i + 1}`, new nn.Sequential(...blocks));
    });
    this.fc = this.registerModule('fc', new nn.Linear(512 * expansion, opts.numClasses ?? 10));
    this.initWeights();
  }

  /** Kaiming fan-in normal for conv and linear weights, zero biases (seed 001's init). */
  private initWeights(): void {
    for (const [name, p] of this.namedParameters()) {
      if (name.startsWith('input_norm.')) continue;
      const isNormParam = p.ndim === 1;
      if (!isNormParam && p.ndim >= 2) kaimingNormal(p, { mode: 'fan_in', nonlinearity: 'relu' });
      else if (name.endsWith('bias')) constant(p, 0);
    }
  }

  forward(x: Tensor): Tensor {
    let y = this.inputNorm === null ? x : this.inputNorm.call(x);
    y = this.relu.call(this.bn1.call(this.conv1.call(y)));
    for (const layer of this.layers) y = layer.call(y);
    return this.fc.call(this.pool.call(y).flatten(1));
  }
}

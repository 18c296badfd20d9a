// The seeds' networks and a registry by name (used by the CLI and experiments).
import type { Module } from '../nn/module.js';
import { FbnMnistNet, LeNet5, Seed002Net } from './mnist.js';
import { ResNet } from './resnet.js';
import { VGG } from './vgg.js';
import { AlexNet } from './alexnet.js';
import { CifarCnn } from './cifarCnn.js';
import type { NormSpec } from './norm.js';
import { RunningStats } from '../nn/norm/running_stats.js';
import { InstanceNorm1d, InstanceNorm2d } from '../nn/norm/group_norm.js';

export { FbnMnistNet, LeNet5, Seed002Net, type ModelOptions, type Seed002Options } from './mnist.js';
export { ResNet, type ResNetOptions } from './resnet.js';
export { VGG, type VGGOptions } from './vgg.js';
export { AlexNet, type AlexNetOptions } from './alexnet.js';
export { CifarCnn, type CifarCnnOptions } from './cifarCnn.js';
export { makeNorm, normKind, withBnWeight, makeInputNorm, hasBnLayers, type NormKind, type NormSpec } from './norm.js';

export interface CreateModelOptions {
  norm?: NormSpec;
  numClasses?: number;
  inChannels?: number;
  imageSize?: number;
  bnWeight?: number;
  inputNorm?: 'bn' | 'dataset';
  activation?: 'sigmoid' | 'relu';
  dropout?: number;
}

export const MODEL_NAMES = [
  'fbn-mnist', 'lenet5', 'seed002', 'cifar-cnn', 'alexnet', 'vgg11', 'vgg13', 'vgg16', 'vgg19',
  'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152',
] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Builds a network by name. Input geometry: MNIST nets take 1×28×28, the rest 3×H×W. */
export function createModel(name: string, o: CreateModelOptions = {}): Module {
  const model = buildModel(name, o);
  if (o.bnWeight !== undefined && o.bnWeight > 0 && countBnLayers(model) === 0) {
    throw new RangeError(
      `createModel: bnWeight ${o.bnWeight} initialises the γ of BN layers, but '${name}' with norm '${typeof o.norm === 'object' ? o.norm.kind : (o.norm ?? 'default')}' has none ` +
        "(BN's scale-init applies to bn, fbn and brn layers and to the input-norm BN)",
    );
  }
  return model;
}

/** BN layers whose γ seed 001's bnWeight initialises: BN, Filtered BN, Batch Renorm, input-norm BN (affine). */
export function countBnLayers(model: Module): number {
  return model.modules().filter((m) => m instanceof RunningStats && m.affine && !(m instanceof InstanceNorm1d || m instanceof InstanceNorm2d)).length;
}

function buildModel(name: string, o: CreateModelOptions): Module {
  switch (name) {
    case 'fbn-mnist': return new FbnMnistNet(o);
    case 'lenet5': return new LeNet5(o);
    case 'seed002': return new Seed002Net(o);
    case 'cifar-cnn': return new CifarCnn(o);
    case 'alexnet': return new AlexNet(o);
    case 'vgg11': case 'vgg13': case 'vgg16': case 'vgg19':
      return new VGG(Number(name.slice(3)) as 11 | 13 | 16 | 19, o);
    case 'resnet18': case 'resnet34': case 'resnet50': case 'resnet101': case 'resnet152':
      return new ResNet(Number(name.slice(6)) as 18 | 34 | 50 | 101 | 152, o);
    default:
      throw new RangeError(`createModel: unknown network '${name}'; expected one of ${MODEL_NAMES.join(', ')}`);
  }
}

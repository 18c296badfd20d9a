// The seeds' networks and a registry by name (used by the CLI and experiments).
import type { Module } from '../nn/module.js';
import { FbnMnistNet, LeNet5, Seed002Net } from './mnist.js';
import { ResNet } from './resnet.js';
import { VGG } from './vgg.js';
import { AlexNet } from './alexnet.js';
import { CifarCnn } from './cifarCnn.js';
import type { NormSpec } from './norm.js';

export { FbnMnistNet, LeNet5, Seed002Net, type ModelOptions, type Seed002Options } from './mnist.js';
export { ResNet, type ResNetOptions } from './resnet.js';
export { VGG, type VGGOptions } from './vgg.js';
export { AlexNet, type AlexNetOptions } from './alexnet.js';
export { CifarCnn, type CifarCnnOptions } from './cifarCnn.js';
export { makeNorm, normKind, type NormKind, type NormSpec } from './norm.js';

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

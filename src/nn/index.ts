// The `nn` namespace: modules, parameters and layers.
export { Module, Parameter, type ForwardHook } from './module.js';
export { Sequential, ModuleList } from './containers.js';
export { Linear, Identity, type LinearOptions } from './linear.js';
export { ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Flatten, Softmax, LogSoftmax } from './activation.js';
export { Dropout, Dropout2d } from './dropout.js';
export { CrossEntropyLoss, MSELoss } from './loss.js';
export { Conv2d, type Conv2dLayerOptions } from './conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './pool.js';
export * from './norm/index.js';
export { fuseConvBn, type FuseResult } from './fuse.js';
export * as utils from './utils.js';

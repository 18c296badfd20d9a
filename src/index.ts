// normlab public API. See DESIGN.md ("Public API") for the contract.
export { Tensor, type TensorOptions } from './tensor/tensor.js';
export { tensor, zeros, ones, full, randn, rand, arange, type RandomOptions } from './tensor/create.js';
export { Generator, manualSeed } from './tensor/random.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd/graph.js';
export { setNumThreads, getNumThreads, setIsa, getIsa, supportedIsas, type Isa } from './backend/index.js';
export { setDefaultDevice, getDefaultDevice, availableDevices, registerBackend, unregisterBackend, DEVICES, type Device, type Backend, type Storage } from './backend/index.js';
export { enableWebgpu, probeWebgpu, type WebgpuBackend, type WebgpuProbe, type WebgpuAdapterInfo } from './backend/webgpu.js';
export * as functional from './ops/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export * as data from './data/index.js';
export * as analysis from './analysis/index.js';

// The `nn` namespace: modules, parameters and layers.
export { Module, Parameter, type ForwardHook } from './module.js';
export { Sequential, ModuleList } from './containers.js';
export * from './norm/index.js';

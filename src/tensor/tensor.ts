// Tensor with its method forms: the class of tensor/core.ts, with the functional ops behind
// x.add(y), x.sum(), x.reshape(...) ... bound to it. The ops are built on core.ts, so the binding
// lives here, above both (as TF.js's index binds its chained ops to the Tensor of its base), and
// every module that imports Tensor from here gets tensors whose methods work.
import { installTensorMethods } from './core.js';
import { add, sub, mul, div, pow, neg, exp, log, sqrt, abs, relu, sigmoid, tanh, clamp } from '../ops/elementwise.js';
import { sum, mean, max, min, variance, std } from '../ops/reduce.js';
import { reshape, flatten, transpose, permute, matmul } from '../ops/shape.js';

export { Tensor, type TensorOptions, type TensorMethodOps, type VarianceOptions } from './core.js';

installTensorMethods({
  add, sub, mul, div, pow, neg, exp, log, sqrt, abs, relu, sigmoid, tanh, clamp,
  sum, mean, max, min, variance, std,
  reshape, flatten, transpose, permute, matmul,
});

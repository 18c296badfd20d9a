// Installs the functional ops behind Tensor's method forms (x.add(y), x.sum(), ...). Loading
// this module is what makes the methods work; src/index.ts, src/ops/index.ts and
// src/tensor/create.ts load it, so every way of making tensors has them.
import { installTensorMethods } from '../tensor/tensor.js';
import { add, sub, mul, div, pow, neg, exp, log, sqrt, abs, relu, sigmoid, tanh, clamp } from './elementwise.js';
import { sum, mean, max, min, variance, std } from './reduce.js';
import { reshape, flatten, transpose, permute, matmul } from './shape.js';

installTensorMethods({
  add, sub, mul, div, pow, neg, exp, log, sqrt, abs, relu, sigmoid, tanh, clamp,
  sum, mean, max, min, variance, std,
  reshape, flatten, transpose, permute, matmul,
});

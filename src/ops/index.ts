// The functional API (`import { functional as F } from 'normlab'`).
export { add, sub, mul, div, pow, neg, exp, log, sqrt, rsqrt, abs, square, sign, relu, leakyRelu, sigmoid, tanh, gelu, clamp, maximum, minimum } from './elementwise.js';
export { sum, mean, max, min, variance } from './reduce.js';
export { reshape, flatten, permute, transpose, concat, slice, pad, matmul } from './shape.js';
export { batchNorm, filteredBatchNorm, batchRenorm, groupNorm, layerNorm, instanceNorm, normExceptDim } from './norm.js';

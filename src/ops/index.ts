// The functional API (`import { functional as F } from 'normlab'`).
export { add, sub, mul, div, pow, neg, exp, log, sqrt, rsqrt, abs, square, sign, relu, leakyRelu, sigmoid, tanh, gelu, clamp, maximum, minimum } from './elementwise.js';
export { sum, mean, max, min, variance, std } from './reduce.js';
export { reshape, flatten, permute, transpose, concat, slice, pad, matmul } from './shape.js';
export { softmax, logSoftmax } from './softmax.js';
export { crossEntropy, nllLoss, mseLoss, bceWithLogits, type CrossEntropyOptions, type NllLossOptions, type ElementwiseLossOptions, type Reduction, type Target } from './loss.js';
export { dropout, dropout2d, type DropoutOptions } from './dropout.js';
export { linear } from './linear.js';
export { conv2d, type Conv2dOptions } from './conv.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, type Pool2dOptions, type MaxPool2dOptions, type AvgPool2dOptions } from './pool.js';
export { batchNorm, filteredBatchNorm, batchRenorm, groupNorm, layerNorm, instanceNorm, normExceptDim } from './norm.js';
export { rmsNorm, rmsNorm2d, layerNorm2d, localResponseNorm, filterResponseNorm, evoNormB0, evoNormS0, groupNormAct, type LocalResponseNormOptions, type NormActivation } from './more_norms.js';

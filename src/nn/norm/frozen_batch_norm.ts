// FrozenBatchNorm2d (torchvision.ops.FrozenBatchNorm2d) and the helpers that swap a model's
// BatchNorm2d layers for it and back, for fine-tuning with fixed statistics and affine.
import { Module, Parameter } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { full } from '../../tensor/create.js';
import { batchNorm, checkChannels, copyInto_ } from '../../ops/norm.js';
import { checkPositiveInt } from '../../tensor/shape.js';
import { BatchNorm2d } from './batch_norm.js';
import { swapModules } from './swap.js';

/**
 * BatchNorm2d with weight, bias, running_mean and running_var all fixed buffers (no parameter,
 * no num_batches_tracked): y = x * scale + shift, scale = weight / sqrt(running_var + eps),
 * shift = bias - running_mean * scale, in training and eval alike. eps 1e-5 (torchvision).
 * Gradients flow to the input only. A state dict with num_batches_tracked loads (the key is
 * ignored, as torchvision does).
 */
export class FrozenBatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(numFeatures: number, options: { eps?: number } = {}) {
    super();
    checkPositiveInt('FrozenBatchNorm2d', 'numFeatures', numFeatures);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    const vec = (v: number): Tensor => full([numFeatures], v);
    this.weight = this.registerBuffer('weight', vec(1))!;
    this.bias = this.registerBuffer('bias', vec(0))!;
    this.runningMean = this.registerBuffer('running_mean', vec(0))!;
    this.runningVar = this.registerBuffer('running_var', vec(1))!;
  }

  forward(x: Tensor): Tensor {
    checkChannels('FrozenBatchNorm2d.forward', x, this.numFeatures, [4]);
    return batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, { training: false, eps: this.eps });
  }

  override loadStateDict(sd: Record<string, Tensor>, strict = true): void {
    const own = Object.fromEntries(Object.entries(sd).filter(([k]) => !k.endsWith('num_batches_tracked')));
    super.loadStateDict(own, strict);
  }

  /** The frozen copy of a BatchNorm2d (its affine, 1/0 without one, and its running statistics). */
  static fromBatchNorm(bn: BatchNorm2d): FrozenBatchNorm2d {
    if (bn.runningMean === null || bn.runningVar === null) {
      throw new Error(`FrozenBatchNorm2d.fromBatchNorm: the BatchNorm2d has no running statistics (trackRunningStats is false)`);
    }
    const fn = 'FrozenBatchNorm2d.fromBatchNorm';
    // Made on the default device, then moved beside the BatchNorm2d's values before they are copied.
    const f = new FrozenBatchNorm2d(bn.numFeatures, { eps: bn.eps }).to(bn.runningMean.device);
    if (bn.weight !== null) copyInto_(f.weight, bn.weight, fn);
    if (bn.bias !== null) copyInto_(f.bias, bn.bias, fn);
    copyInto_(f.runningMean, bn.runningMean, fn);
    copyInto_(f.runningVar, bn.runningVar, fn);
    return f;
  }
}

/**
 * Replaces every BatchNorm2d (exactly that class) in `model` by a FrozenBatchNorm2d holding its
 * values, in place. Returns the model, or the new layer when `model` itself is a BatchNorm2d.
 * Build the optimizer after this call: the frozen layers have no parameters.
 */
export function freezeBatchNorm(model: Module): Module {
  return swapModules(model, (m) => (m.constructor === BatchNorm2d ? FrozenBatchNorm2d.fromBatchNorm(m as BatchNorm2d) : null));
}

/**
 * The inverse of freezeBatchNorm: every FrozenBatchNorm2d becomes a trainable BatchNorm2d with
 * the same eps, weight, bias and running statistics (num_batches_tracked 0). Returns the model,
 * or the new layer when `model` itself is a FrozenBatchNorm2d.
 */
export function unfreezeBatchNorm(model: Module): Module {
  return swapModules(model, (m) => {
    if (!(m instanceof FrozenBatchNorm2d)) return null;
    const fn = 'unfreezeBatchNorm';
    // Made on the default device, then moved beside the frozen layer's values before they are copied.
    const bn = new BatchNorm2d(m.numFeatures, { eps: m.eps }).to(m.runningMean.device);
    bn.weight = new Parameter(m.weight.detach().clone());
    bn.bias = new Parameter(m.bias.detach().clone());
    bn.setParameter('weight', bn.weight as Parameter);
    bn.setParameter('bias', bn.bias as Parameter);
    copyInto_(bn.runningMean!, m.runningMean, fn);
    copyInto_(bn.runningVar!, m.runningVar, fn);
    return bn;
  });
}

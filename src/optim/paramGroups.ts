// Seed 001's parameter groups ("Revisiting Batch Norm Initialization",
// weight_decay_and_learning_rate.py), one rule for `normlab train`, the bn-init experiment and
// library users:
//  - 'bn_weight': the scale γ of every normalization layer (a parameter named `weight` that is
//    1-D, as in BN, Filtered BN, Batch Renorm, GroupNorm, InstanceNorm and the input-norm BN, or
//    the elementwise weight of a layer normalizing over trailing dims `normalizedShape`, as
//    LayerNorm and RMSNorm) gets lr / c and no weight decay; schedulers scale
//    each group's own initial lr, so it still follows the schedule;
//  - 'no_decay': every bias (conv, linear, and the shift β of normalization layers) gets lr and
//    no weight decay;
//  - 'decay': every other parameter (conv and linear weights) gets lr and the weight decay.
// Groups without parameters are left out.
import type { Tensor } from '../tensor/tensor.js';

/**
 * What paramGroups reads of a model (an nn.Module has both): its parameters and its modules under
 * dotted names. A structural type, so that optimizers do not depend on nn.
 */
export interface NamedModel {
  namedParameters(): [string, Tensor][];
  namedModules(): [string, object][];
}

export interface ParamGroupRules {
  lr: number;
  weightDecay: number;
  /** The BN-γ learning rate is lr / c (seed 001 uses 100); default 1. */
  c?: number;
}

export interface ParamGroupSpec {
  params: Tensor[];
  lr: number;
  weightDecay: number;
  name: 'decay' | 'no_decay' | 'bn_weight';
}

export function paramGroups(model: NamedModel, rules: ParamGroupRules): ParamGroupSpec[] {
  const c = rules.c ?? 1;
  if (!(c > 0) || !Number.isFinite(c)) throw new RangeError(`paramGroups: rules.c must be a finite number > 0, got ${c}`);
  if (!(rules.lr >= 0)) throw new RangeError(`paramGroups: rules.lr must be >= 0, got ${rules.lr}`);
  if (!(rules.weightDecay >= 0)) throw new RangeError(`paramGroups: rules.weightDecay must be >= 0, got ${rules.weightDecay}`);
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  const gamma: Tensor[] = [];
  const modules = new Map(model.namedModules());
  for (const [full, p] of model.namedParameters()) {
    const dot = full.lastIndexOf('.');
    const name = full.slice(dot + 1);
    const owner = modules.get(dot < 0 ? '' : full.slice(0, dot));
    if (name === 'weight' && (p.ndim <= 1 || (owner !== undefined && 'normalizedShape' in owner))) gamma.push(p);
    else if (name === 'bias') noDecay.push(p);
    else decay.push(p);
  }
  const groups: ParamGroupSpec[] = [];
  if (decay.length > 0) groups.push({ name: 'decay', params: decay, lr: rules.lr, weightDecay: rules.weightDecay });
  if (noDecay.length > 0) groups.push({ name: 'no_decay', params: noDecay, lr: rules.lr, weightDecay: 0 });
  if (gamma.length > 0) groups.push({ name: 'bn_weight', params: gamma, lr: rules.lr / c, weightDecay: 0 });
  return groups;
}

/** One line per group: name, tensor and value counts, lr and weight decay. */
export function describeParamGroups(groups: readonly { name?: string; params: Tensor[]; lr: number; weightDecay: number }[]): string[] {
  return groups.map((g, i) => {
    const values = g.params.reduce((a, p) => a + p.size, 0);
    return `param group ${g.name ?? String(i)}: ${g.params.length} tensors, ${values} values, lr ${g.lr}, weight decay ${g.weightDecay}`;
  });
}

// Seed 001's parameter groups ("Revisiting Batch Norm Initialization"):
//  - 1-D parameters (biases, BN γ and β) get no weight decay (noDecayOn1d);
//  - 1-D parameters named `weight` (BN γ) get lr / c when c > 1 (bnWeightLrDivisor), still
//    following the scheduler;
//  - every other parameter (conv and linear weights) gets lr and weightDecay.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

export interface ParamGroupRules {
  lr: number;
  weightDecay: number;
  noDecayOn1d?: boolean;
  bnWeightLrDivisor?: number;
}

export interface ParamGroupSpec {
  params: Tensor[];
  lr: number;
  weightDecay: number;
  name: string;
}

export function paramGroups(model: Module, rules: ParamGroupRules): ParamGroupSpec[] {
  const c = rules.bnWeightLrDivisor ?? 1;
  if (!(c > 0)) throw new RangeError(`paramGroups: bnWeightLrDivisor must be > 0, got ${c}`);
  const noDecay = rules.noDecayOn1d ?? true;
  const decayed: Tensor[] = [];
  const oneD: Tensor[] = [];
  const bnWeights: Tensor[] = [];
  for (const [name, p] of model.namedParameters()) {
    const is1d = p.ndim <= 1;
    if (is1d && c > 1 && (name === 'weight' || name.endsWith('.weight'))) bnWeights.push(p);
    else if (is1d && noDecay) oneD.push(p);
    else decayed.push(p);
  }
  const groups: ParamGroupSpec[] = [];
  if (decayed.length > 0) groups.push({ name: 'decay', params: decayed, lr: rules.lr, weightDecay: rules.weightDecay });
  if (oneD.length > 0) groups.push({ name: 'no_decay_1d', params: oneD, lr: rules.lr, weightDecay: 0 });
  if (bnWeights.length > 0) groups.push({ name: 'bn_weight', params: bnWeights, lr: rules.lr / c, weightDecay: noDecay ? 0 : rules.weightDecay });
  return groups;
}

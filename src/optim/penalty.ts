// Regularisation penalties added to a loss.
import { abs, square } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';

/** A model as the penalties see it (an nn.Module is one): its parameters under dotted names. */
export interface NamedParameters {
  namedParameters(): [string, Tensor][];
}

/**
 * L1 penalty λ·Σ|w| over the parameters whose name contains `weight` (seed 002:
 * `loss = nll + 10e-4 · Σ ||w||_1` over every parameter named like 'weight', BN γ included).
 */
export function l1Penalty(model: NamedParameters, lambda: number, filter: (name: string) => boolean = (n) => n.includes('weight')): Tensor | null {
  let total: Tensor | null = null;
  for (const [name, p] of model.namedParameters()) {
    if (!filter(name)) continue;
    const term = sum(abs(p));
    total = total === null ? term : total.add(term);
  }
  return total === null ? null : total.mul(lambda);
}

/** L2 penalty λ·Σ w² over the same selection (weight decay expressed as a loss term). */
export function l2Penalty(model: NamedParameters, lambda: number, filter: (name: string) => boolean = (n) => n.includes('weight')): Tensor | null {
  let total: Tensor | null = null;
  for (const [name, p] of model.namedParameters()) {
    if (!filter(name)) continue;
    const term = sum(square(p));
    total = total === null ? term : total.add(term);
  }
  return total === null ? null : total.mul(lambda);
}

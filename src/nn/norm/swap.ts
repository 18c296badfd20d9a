// Swapping layers of a model in place: the walk that freezeBatchNorm, unfreezeBatchNorm and
// replaceBatchNorm share, and replaceBatchNorm itself.
import type { Module } from '../module.js';
import { sameShape } from '../../tensor/shape.js';
import { copyInto_ } from '../../ops/norm.js';
import { BatchNormBase } from './batch_norm.js';

/**
 * Visits every module of the tree (the root included, children before their replacement is
 * decided for the parent's other children); where `swap` returns a module, it takes the old
 * one's place under the same name. Replaced modules are not descended into. Returns the root or
 * its replacement.
 */
export function swapModules(root: Module, swap: (m: Module) => Module | null): Module {
  const top = swap(root);
  if (top !== null) return top;
  const walk = (parent: Module): void => {
    for (const [name, child] of parent.namedChildren()) {
      const next = swap(child);
      if (next !== null) parent.replaceChild(name, next);
      else walk(child);
    }
  };
  walk(root);
  return root;
}

/**
 * Replaces every batch normalization layer (BatchNorm1d/2d/3d, LazyBatchNorm, InputNorm) of
 * `model` by `factory(bn)`, e.g. `(bn) => new nn.GroupNorm(32, bn.numFeatures)`, in place. The
 * new layer keeps the old one's values for every state-dict entry whose name and shape agree
 * (weight and bias for GroupNorm; also the running statistics for FilteredBatchNorm2d). Returns
 * the model, or the new layer when `model` itself is a batch normalization layer.
 */
export function replaceBatchNorm(model: Module, factory: (bn: BatchNormBase) => Module): Module {
  return swapModules(model, (m) => {
    if (!(m instanceof BatchNormBase)) return null;
    const next = factory(m);
    const old = m.stateDict();
    const own = next.stateDict();
    for (const [k, t] of Object.entries(own)) {
      const src = old[k];
      if (src !== undefined && sameShape(src.shape, t.shape)) copyInto_(t, src, 'replaceBatchNorm');
    }
    return next;
  });
}

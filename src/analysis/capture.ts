// Activation capture with forward hooks: runs a model over batches and feeds the inputs of
// selected layers (e.g. every normalization layer) to streaming statistics. Hooks fire only through
// module.call(), which containers use for their children.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/graph.js';
import { LayerStats, type StreamingStatsOptions } from './stats.js';

/** Selects modules by dotted name (as in namedModules()) and module. */
export type LayerFilter = (name: string, module: Module) => boolean;

/** A batch: a tensor of inputs, or an object holding one as x (e.g. the trainer's Batch). */
export type InputBatch = Tensor | { x: Tensor };

/** Every normalization layer: modules whose class name contains 'Norm' (BatchNorm2d, GroupNorm, ...). */
export const normLayers: LayerFilter = (_name, module) => module.constructor.name.includes('Norm');

export function batchInput(batch: InputBatch): Tensor {
  return 'x' in batch && !('shape' in batch) ? batch.x : (batch as Tensor);
}

/** The modules of a model selected by a filter (the root module, named '', is never selected). */
export function selectModules(model: Module, filter: LayerFilter): [string, Module][] {
  return model.namedModules().filter(([name, m]) => name !== '' && filter(name, m));
}

/** The module with a dotted name, with the names there are when it is missing. */
export function moduleByName(model: Module, name: string, caller: string): Module {
  const all = model.namedModules();
  const hit = all.find(([n]) => n === name);
  if (hit === undefined) {
    throw new Error(`${caller}: the model has no layer named '${name}' (layers: ${all.map(([n]) => n).filter((n) => n !== '').join(', ')})`);
  }
  return hit[1];
}

/**
 * Runs the model with hooks on the selected modules over at most maxBatches batches, in eval mode
 * and without gradients (the model's mode is restored), and returns the streaming statistics of
 * each selected module's first input by module name. The hooks are removed at the end, also
 * when a forward pass throws.
 */
export function captureLayerInputs(
  model: Module,
  filter: LayerFilter,
  batches: Iterable<InputBatch>,
  options: { maxBatches?: number; stats?: StreamingStatsOptions } = {},
): LayerStats {
  const maxBatches = options.maxBatches ?? Infinity;
  if (!(maxBatches >= 1)) throw new RangeError(`captureLayerInputs: maxBatches must be >= 1, got ${maxBatches}`);
  const selected = selectModules(model, filter);
  if (selected.length === 0) {
    throw new Error(`captureLayerInputs: the filter selects no layer (layers: ${model.namedModules().map(([n, m]) => `${n} (${m.constructor.name})`).filter((s) => !s.startsWith(' ')).join(', ')})`);
  }
  const stats = new LayerStats(options.stats);
  const removers = selected.map(([name, m]) => m.registerForwardHook((_mod, inputs) => {
    const x = inputs[0];
    // Statistics read: the layer input's values come to the host.
    stats.add(name, x.data(), x.shape);
  }));
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      let b = 0;
      for (const batch of batches) {
        model.call(batchInput(batch).to(model.device));
        if (++b >= maxBatches) break;
      }
    });
  } finally {
    for (const remove of removers) remove();
    model.train(wasTraining);
  }
  return stats;
}

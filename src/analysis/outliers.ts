// Outlier images (seed 000's plot_outlier_images): the inputs whose activation in one channel of
// one layer exceeds a threshold. A sample's activation is the maximum over the spatial positions
// (H, W) of that channel, of the layer's output (seed 000 uses the conv output) or of its input.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/graph.js';
import { moduleByName } from './capture.js';

/** A batch whose samples carry their dataset indices. */
export interface IndexedBatch {
  x: Tensor;
  indices: ArrayLike<number>;
}

export interface OutlierOptions {
  /** Dotted module name, as in model.namedModules(). */
  layer: string;
  channel: number;
  /** Keep samples whose activation is strictly greater than this. */
  threshold: number;
  /** At most this many, the largest first (default 16). */
  k?: number;
  /** Which activation of the layer to read (default 'output'). */
  site?: 'output' | 'input';
}

export interface OutlierImage {
  /** Dataset index of the sample. */
  index: number;
  /** Max over H, W of the channel's activation. */
  value: number;
  /** The model's input for this sample ([C, H, W] values, copied). */
  image: Float32Array;
  imageShape: number[];
}

/**
 * Runs the model (eval mode, no gradients; the mode is restored) over the batches and returns the
 * samples whose activation exceeds the threshold, sorted by activation descending (ties by dataset
 * index), at most k. Memory holds at most k images.
 */
export function findOutlierImages(model: Module, batches: Iterable<IndexedBatch>, options: OutlierOptions): OutlierImage[] {
  const k = options.k ?? 16;
  const site = options.site ?? 'output';
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`findOutlierImages: k must be a positive integer, got ${k}`);
  const layer = moduleByName(model, options.layer, 'findOutlierImages');
  let acts: Tensor | null = null;
  const remove = layer.registerForwardHook((_m, inputs, output) => {
    acts = site === 'output' ? output : inputs[0];
  });
  const found: OutlierImage[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      for (const batch of batches) {
        acts = null;
        model.call(batch.x.to(model.device));
        const a = acts as Tensor | null;
        if (a === null) throw new Error(`findOutlierImages: layer '${options.layer}' did not run in the forward pass`);
        const [n, c] = a.shape;
        if (options.channel < 0 || options.channel >= c || !Number.isInteger(options.channel)) {
          throw new RangeError(`findOutlierImages: channel must be in [0, ${c}) for the ${site} of '${options.layer}' (shape [${a.shape.join(', ')}]), got ${options.channel}`);
        }
        if (batch.indices.length !== n) throw new RangeError(`findOutlierImages: batch has ${n} samples but ${batch.indices.length} indices`);
        const inner = a.size / (n * c);
        const per = batch.x.size / n;
        // Statistics read: the batch's activations come to the host; its images only when one is kept.
        const values = a.data();
        let images: Float32Array | null = null;
        for (let s = 0; s < n; s++) {
          const base = (s * c + options.channel) * inner;
          let v = -Infinity;
          for (let j = 0; j < inner; j++) v = Math.max(v, values[base + j]);
          if (!(v > options.threshold)) continue;
          if (found.length === k && !better(v, batch.indices[s], found[k - 1])) continue;
          images ??= batch.x.data();
          const item = { index: batch.indices[s], value: v, image: images.slice(s * per, (s + 1) * per), imageShape: batch.x.shape.slice(1) };
          found.push(item);
          found.sort((p, q) => (better(p.value, p.index, q) ? -1 : 1));
          if (found.length > k) found.pop();
        }
      }
    });
  } finally {
    remove();
    model.train(wasTraining);
  }
  return found;
}

function better(value: number, index: number, than: { value: number; index: number }): boolean {
  return value > than.value || (value === than.value && index < than.index);
}

// Misclassified samples (seed 002's galleries): inputs whose arg-max prediction differs from the
// label, with the softmax probabilities of the prediction and of the true class.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/graph.js';

export interface LabelledBatch {
  x: Tensor;
  y: ArrayLike<number>;
  /** Dataset indices (default: the running sample count). */
  indices?: ArrayLike<number>;
}

export interface MisclassifiedSample {
  index: number;
  predicted: number;
  label: number;
  /** Softmax probability of the predicted class. */
  probability: number;
  /** Softmax probability of the true class. */
  labelProbability: number;
  image: Float32Array;
  imageShape: number[];
}

/**
 * The first k misclassified samples in batch order (eval mode, no gradients; the model's mode is
 * restored). Logits must have shape [N, classes]; ties in the arg-max go to the lower class.
 */
export function findMisclassified(model: Module, batches: Iterable<LabelledBatch>, options: { k?: number } = {}): MisclassifiedSample[] {
  const k = options.k ?? 25;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`findMisclassified: k must be a positive integer, got ${k}`);
  const out: MisclassifiedSample[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      let seen = 0;
      for (const batch of batches) {
        const logits = model.call(batch.x.to(model.device));
        if (logits.ndim !== 2) throw new RangeError(`findMisclassified: the model must return logits [N, classes], got shape [${logits.shape.join(', ')}]`);
        const [n, classes] = logits.shape;
        if (batch.y.length !== n) throw new RangeError(`findMisclassified: batch has ${n} samples but ${batch.y.length} labels`);
        const per = batch.x.size / n;
        // Metric read: the batch's logits come to the host; its images only when one is kept.
        const values = logits.data();
        let images: Float32Array | null = null;
        for (let s = 0; s < n && out.length < k; s++) {
          const row = values.subarray(s * classes, (s + 1) * classes);
          let best = 0;
          for (let j = 1; j < classes; j++) if (row[j] > row[best]) best = j;
          const label = batch.y[s];
          if (label < 0 || label >= classes || !Number.isInteger(label)) throw new RangeError(`findMisclassified: label ${label} of sample ${s} is not a class in [0, ${classes})`);
          if (best === label) continue;
          // Softmax with the max subtracted: p_j = exp(z_j − z_max) / Σ exp(z_i − z_max).
          let z = 0;
          for (let j = 0; j < classes; j++) z += Math.exp(row[j] - row[best]);
          images ??= batch.x.data();
          out.push({
            index: batch.indices ? batch.indices[s] : seen + s,
            predicted: best,
            label,
            probability: 1 / z,
            labelProbability: Math.exp(row[label] - row[best]) / z,
            image: images.slice(s * per, (s + 1) * per),
            imageShape: batch.x.shape.slice(1),
          });
        }
        seen += n;
        if (out.length >= k) break;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return out;
}

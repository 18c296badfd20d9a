// Evaluation and prediction with a trained model (eval mode, no gradients).
import { noGrad } from '../autograd/graph.js';
import type { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { compose, normalize, resize, type Transform } from '../data/transforms.js';
import type { Module } from '../nn/module.js';
import { softmax } from '../ops/softmax.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ModelSpec } from './checkpoint.js';

export interface EvalResult {
  samples: number;
  accuracy: number;
  classNames: string[];
  /** Accuracy per true class (NaN-free: classes without samples get null). */
  perClass: (number | null)[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

/** The eval-time input pipeline of a spec: resize to its size, then its normalization. */
export function specTransform(spec: ModelSpec, height: number): Transform | undefined {
  const t: Transform[] = [];
  if (height !== spec.imageSize) t.push(resize(spec.imageSize));
  if (spec.inputNorm === 'dataset' && spec.mean !== undefined && spec.std !== undefined) t.push(normalize(spec.mean, spec.std));
  return t.length > 0 ? compose(...t) : undefined;
}

/**
 * Accuracy, per-class accuracy and the confusion matrix of model on dataset. Reads each batch's
 * logits synchronously, so the model must be on the CPU; evaluateAsync() works on any device.
 */
export function evaluate(model: Module, dataset: Dataset, spec: ModelSpec, batchSize = 256): EvalResult {
  const e = evaluation(model, dataset, spec, batchSize);
  // Metric read: a batch's logits come to the host, where the confusion matrix is counted.
  for (const { x, y } of e.loader.batches()) e.count(noGrad(() => model.call(x.to(model.device))).data(), y);
  return e.result();
}

/** evaluate() on any device: each batch's logits are read asynchronously. */
export async function evaluateAsync(model: Module, dataset: Dataset, spec: ModelSpec, batchSize = 256): Promise<EvalResult> {
  const e = evaluation(model, dataset, spec, batchSize);
  // Metric read: a batch's logits come to the host, where the confusion matrix is counted.
  for (const { x, y } of e.loader.batches()) e.count(await noGrad(() => model.call(x.to(model.device))).read(), y);
  return e.result();
}

function evaluation(model: Module, dataset: Dataset, spec: ModelSpec, batchSize: number): { loader: DataLoader; count: (logits: Float32Array, y: Int32Array) => void; result: () => EvalResult } {
  if (dataset.channels !== spec.channels) {
    throw new RangeError(`evaluate: dataset ${dataset.name} has ${dataset.channels} channel(s), the model takes ${spec.channels}`);
  }
  const k = spec.numClasses;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const loader = new DataLoader(dataset, { batchSize, transform: specTransform(spec, dataset.height) });
  model.eval();
  const count = (logits: Float32Array, y: Int32Array): void => {
    for (let i = 0; i < y.length; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (logits[i * k + c] > logits[i * k + best]) best = c;
      if (y[i] < 0 || y[i] >= k) throw new RangeError(`evaluate: label ${y[i]} of the dataset is outside the model's ${k} classes`);
      confusion[y[i]][best]++;
    }
  };
  const result = (): EvalResult => {
    const rows = confusion.map((r) => r.reduce((a, b) => a + b, 0));
    const correct = confusion.reduce((a, r, c) => a + r[c], 0);
    const samples = rows.reduce((a, b) => a + b, 0);
    return {
      samples,
      accuracy: correct / samples,
      classNames: spec.classNames ?? dataset.classNames?.slice() ?? Array.from({ length: k }, (_, c) => String(c)),
      perClass: confusion.map((r, c) => (rows[c] === 0 ? null : r[c] / rows[c])),
      confusion,
    };
  };
  return { loader, count, result };
}

/** The evaluation as text: accuracy, per-class accuracy and the confusion matrix. */
export function formatEval(r: EvalResult): string {
  const pct = (v: number | null): string => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);
  const w = Math.max(5, ...r.classNames.map((n) => n.length));
  const lines = [`accuracy ${pct(r.accuracy)} on ${r.samples} samples`, '', 'per-class accuracy:'];
  r.classNames.forEach((n, c) => lines.push(`  ${n.padEnd(w)}  ${pct(r.perClass[c]).padStart(7)}`));
  const cw = Math.max(4, ...r.confusion.flat().map((v) => String(v).length));
  lines.push('', 'confusion matrix (rows: true class, columns: predicted, in class order):');
  r.confusion.forEach((row, c) => lines.push(`  ${r.classNames[c].padEnd(w)}  ${row.map((v) => String(v).padStart(cw)).join(' ')}`));
  return lines.join('\n');
}

export interface Prediction {
  file: string;
  top: { class: number; name: string; probability: number }[];
}

/** Top-k classes with softmax probabilities for a batch of inputs [N, C, H, W] (a model on the CPU; predictTopKAsync on any device). */
export function predictTopK(model: Module, x: Tensor, spec: ModelSpec, k: number, files: string[]): Prediction[] {
  // Result read: the probabilities come to the host for ranking.
  return rank(noGrad(() => softmax(model.eval().call(x.to(model.device)), 1)).data(), spec, k, files);
}

/** predictTopK on any device: the probabilities are read asynchronously. */
export async function predictTopKAsync(model: Module, x: Tensor, spec: ModelSpec, k: number, files: string[]): Promise<Prediction[]> {
  // Result read: the probabilities come to the host for ranking.
  return rank(await noGrad(() => softmax(model.eval().call(x.to(model.device)), 1)).read(), spec, k, files);
}

function rank(probs: Float32Array, spec: ModelSpec, k: number, files: string[]): Prediction[] {
  const n = spec.numClasses;
  return files.map((file, i) => {
    const order = Array.from({ length: n }, (_, c) => c).sort((a, b) => probs[i * n + b] - probs[i * n + a] || a - b);
    return {
      file,
      top: order.slice(0, Math.min(k, n)).map((c) => ({ class: c, name: spec.classNames?.[c] ?? String(c), probability: probs[i * n + c] })),
    };
  });
}

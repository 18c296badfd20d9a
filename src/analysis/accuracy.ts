// Classification accuracy and loss of batches, shared by the trainer and the analyses that
// evaluate a model: counted with ops on the model's device and read at logging points.
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/graph.js';
import { sign } from '../ops/elementwise.js';
import { concat } from '../ops/shape.js';
import { tensor } from '../tensor/create.js';

/**
 * Number of rows of [N, C] logits whose arg-max (the first one among ties) equals the label, as
 * a one-value tensor on the logits' device, computed with ops so that no value leaves the device:
 * a row's maxima are where max - x has sign 0; the first of them is the largest of
 * (C - j) there, and it matches label y when that largest is C - y. Every intermediate is a small
 * integer, exact in float32 (counts up to 2^24).
 */
export function countCorrect(logits: Tensor, y: Int32Array): Tensor {
  if (logits.ndim !== 2 || logits.shape[0] !== y.length) {
    throw new RangeError(`countCorrect: logits must have shape [N, C] with N = y.length (${y.length}), got [${logits.shape.join(', ')}]`);
  }
  const [, c] = logits.shape;
  const device = logits.device;
  return noGrad(() => {
    const x = logits.detach();
    const isMax = sign(x.max(1, true).sub(x)).neg().add(1);
    const rank = tensor(Float32Array.from({ length: c }, (_, j) => c - j), [c], { device });
    const first = isMax.mul(rank).max(1);
    const wanted = tensor(Float32Array.from(y, (v) => c - v), [y.length], { device });
    return sign(first.sub(wanted).abs()).neg().add(1).sum();
  });
}

/**
 * Per-batch loss and correct count, kept as tensors on the model's device until a logging point
 * reads them all with one download (read()). The host then folds them in batch order exactly as
 * a per-step read did: lossSum += loss_b * weight_b in float64, from the float32 batch loss, so
 * the metrics are the same bits whatever the logging points were (a float32 sum on the device
 * would round differently). Used by the trainer and the analysis evaluations.
 */
export class RunningMetrics {
  /** Over the batches read: sum of batch loss × weight (float64), correct predictions, samples. */
  lossSum = 0;
  correct = 0;
  n = 0;
  /** Batches read so far (the first pending batch is number done + 1). */
  private done = 0;
  private pendingLoss: Tensor[] = [];
  private pendingCorrect: (Tensor | number)[] = [];
  private pendingWeight: number[] = [];
  private pendingSamples: number[] = [];
  private samples = 0;

  /** Samples added, read or not. */
  get count(): number {
    return this.samples;
  }

  /**
   * A batch: its mean loss (one value; its graph is not kept), its correct count (a one-value
   * tensor such as countCorrect's, or a number), its samples, and the loss's weight in lossSum
   * (default: the samples, so lossSum / n is the mean loss per sample).
   */
  add(loss: Tensor, correct: Tensor | number, samples: number, weight = samples): void {
    this.pendingLoss.push(loss.detach().reshape([1]));
    this.pendingCorrect.push(typeof correct === 'number' ? correct : correct.detach().reshape([1]));
    this.pendingWeight.push(weight);
    this.pendingSamples.push(samples);
    this.samples += samples;
  }

  /**
   * Reads the pending batches (one host copy) and folds them in. Returns the first batch whose
   * loss is not finite (1-based, counting every batch added) with its value, or null. The read is
   * synchronous, so the tensors must be on the CPU; readAsync() reads from any device.
   */
  read(): { batch: number; value: number } | null {
    const pending = this.pending();
    return pending === null ? null : this.fold(pending.data());
  }

  /** read() for tensors on any device: one download, awaited. */
  async readAsync(): Promise<{ batch: number; value: number } | null> {
    const pending = this.pending();
    return pending === null ? null : this.fold(await pending.read());
  }

  /** The pending losses, then the pending correct counts that are tensors, as one tensor. */
  private pending(): Tensor | null {
    if (this.pendingLoss.length === 0) return null;
    const onDevice = this.pendingCorrect.filter((c): c is Tensor => typeof c !== 'number');
    return noGrad(() => concat([...this.pendingLoss, ...onDevice]));
  }

  private fold(values: Float32Array): { batch: number; value: number } | null {
    const k = this.pendingLoss.length;
    let bad: { batch: number; value: number } | null = null;
    let next = k;
    for (let i = 0; i < k; i++) {
      const loss = values[i];
      if (bad === null && !Number.isFinite(loss)) bad = { batch: this.done + i + 1, value: loss };
      this.lossSum += loss * this.pendingWeight[i];
      const c = this.pendingCorrect[i];
      this.correct += typeof c === 'number' ? c : values[next++];
      this.n += this.pendingSamples[i];
    }
    this.done += k;
    this.pendingLoss = [];
    this.pendingCorrect = [];
    this.pendingWeight = [];
    this.pendingSamples = [];
    return bad;
  }
}

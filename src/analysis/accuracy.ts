// Classification accuracy of a batch, shared by the trainer and the analyses that evaluate a model.
import type { Tensor } from '../tensor/tensor.js';

/** Number of rows of [N, C] logits whose arg-max equals the label. */
export function countCorrect(logits: Tensor, y: Int32Array): number {
  const [n, c] = logits.shape;
  const d = logits.buffer;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (d[i * c + j] > d[i * c + best]) best = j;
    if (best === y[i]) correct++;
  }
  return correct;
}

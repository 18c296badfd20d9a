// Loss-family kernels (native/loss.cc): softmax over the last dim of an [rows, cols] view,
// cross-entropy / NLL with Int32Array class indices, MSE, BCE-with-logits and dropout masks.
// Mean losses are written into a 1-element Float32Array.
export interface LossKernels {
  /** y = softmax(x) row-wise, or log-softmax when `log` (max-subtracted, stable). */
  softmaxForward(x: Float32Array, rows: number, cols: number, y: Float32Array, log: boolean): void;
  /** gx from the saved output y: softmax y*(gy - sum(gy*y)); log-softmax gy - exp(y)*sum(gy). */
  softmaxBackward(y: Float32Array, gy: Float32Array, rows: number, cols: number, gx: Float32Array, log: boolean): void;
  /**
   * out[0] = (1 - eps) * mean_valid(-logp[i, t_i]) + eps * mean_valid(mean_c(-logp[i, c])),
   * logp = logSoftmax(logits); rows with t_i = ignoreIndex are skipped. Returns the valid count.
   * With rowLoss (N floats), also writes each row's loss there (0 on ignored rows).
   */
  crossEntropyForward(logits: Float32Array, N: number, C: number, target: Int32Array, eps: number, ignoreIndex: number, out: Float32Array, rowLoss?: Float32Array): number;
  /** gx = scale * rowScale[i] * (softmax(logits) - ((1 - eps) * onehot + eps / C)); 0 on ignored rows. */
  crossEntropyBackward(logits: Float32Array, N: number, C: number, target: Int32Array, eps: number, ignoreIndex: number, scale: number, gx: Float32Array, rowScale?: Float32Array): void;
  /** out[0] = mean_valid(-logp[i, t_i]). Returns the valid count. */
  nllLossForward(logp: Float32Array, N: number, C: number, target: Int32Array, ignoreIndex: number, out: Float32Array): number;
  /** out[0] = mean((a - b)^2). */
  mseLossForward(a: Float32Array, b: Float32Array, n: number, out: Float32Array): void;
  /** ga = scale * (a - b). */
  mseLossBackward(a: Float32Array, b: Float32Array, n: number, scale: number, ga: Float32Array): void;
  /** out[0] = mean(max(x, 0) - x*y + log(1 + exp(-|x|))). */
  bceWithLogitsForward(x: Float32Array, y: Float32Array, n: number, out: Float32Array): void;
  /** gx = scale * (sigmoid(x) - y). */
  bceWithLogitsBackward(x: Float32Array, y: Float32Array, n: number, scale: number, gx: Float32Array): void;
  /** mask[i] = 1/(1-p) where the counter-based uniform u(seed, i) >= p, else 0; p in [0, 1). */
  dropoutMask(seed: number, p: number, mask: Float32Array, n: number): void;
}

// Normalization kernels (native/norm.cc). x is viewed as [N, C, S] (S = product of the dims
// after the channel dim). Optional buffers are passed as null. See native/norm.cc for formulas.
export interface NormKernels {
  /**
   * Training-mode batch statistics per channel and y = (x - mean) * invstd * gamma + beta.
   * Writes mean, invstd = 1/sqrt(var + eps) and the biased var. threshold > 0 selects Filtered
   * BN (then mu0, rstd0 and kept counts are written); y null computes statistics only.
   */
  batchNormForward(
    x: Float32Array, N: number, C: number, S: number, gamma: Float32Array | null, beta: Float32Array | null,
    eps: number, y: Float32Array | null, mean: Float32Array, invstd: Float32Array, variance: Float32Array,
    threshold: number, mu0: Float32Array | null, rstd0: Float32Array | null, kept: Float32Array | null,
  ): void;
  /** Gradients of batchNormForward (batchStats true) or of the eval-mode affine (batchStats false). */
  batchNormBackward(
    x: Float32Array, dy: Float32Array, N: number, C: number, S: number, mean: Float32Array, invstd: Float32Array,
    gamma: Float32Array | null, batchStats: boolean, dx: Float32Array | null, dgamma: Float32Array | null,
    dbeta: Float32Array | null, count: Float32Array | null, threshold: number, mu0: Float32Array | null,
    rstd0: Float32Array | null,
  ): void;
  /** y = x * scale[c] + shift[c]. */
  normChannelAffine(x: Float32Array, N: number, C: number, S: number, scale: Float32Array, shift: Float32Array, y: Float32Array): void;
  /** Statistics per (n, group) of x viewed as [N, G, Cg, S]; per-channel affine. */
  groupNormForward(
    x: Float32Array, N: number, G: number, Cg: number, S: number, gamma: Float32Array | null, beta: Float32Array | null,
    eps: number, y: Float32Array, mean: Float32Array, invstd: Float32Array, variance: Float32Array | null,
  ): void;
  groupNormBackward(
    x: Float32Array, dy: Float32Array, N: number, G: number, Cg: number, S: number, mean: Float32Array,
    invstd: Float32Array, gamma: Float32Array | null, dx: Float32Array | null, dgamma: Float32Array | null,
    dbeta: Float32Array | null,
  ): void;
  /**
   * Channels-first normalization per position of x viewed as [N, C, S] (native/channel_norm.cc):
   * each (n, s) over its C values; center true: LayerNorm2d (mean written), false: RmsNorm2d.
   * invstd (and mean) hold N * S values.
   */
  channelNormForward(
    x: Float32Array, N: number, C: number, S: number, gamma: Float32Array | null, beta: Float32Array | null,
    eps: number, center: boolean, y: Float32Array, mean: Float32Array | null, invstd: Float32Array,
  ): void;
  channelNormBackward(
    x: Float32Array, dy: Float32Array, N: number, C: number, S: number, mean: Float32Array | null, invstd: Float32Array,
    gamma: Float32Array | null, center: boolean, dx: Float32Array | null, dgamma: Float32Array | null, dbeta: Float32Array | null,
  ): void;
  /**
   * Filter Response Normalization + TLU per row (n, c) of x viewed as [N * C, S]; rstd receives
   * 1 / sqrt(mean(x^2) + eps) per row; tau null: no TLU.
   */
  frnForward(
    x: Float32Array, N: number, C: number, S: number, gamma: Float32Array, beta: Float32Array, tau: Float32Array | null,
    eps: number, y: Float32Array, rstd: Float32Array,
  ): void;
  frnBackward(
    x: Float32Array, dy: Float32Array, N: number, C: number, S: number, rstd: Float32Array, gamma: Float32Array,
    beta: Float32Array, tau: Float32Array | null, dx: Float32Array | null, dgamma: Float32Array | null, dbeta: Float32Array | null,
    dtau: Float32Array | null,
  ): void;
  /**
   * EvoNorm-S0 per group (n, g) of x viewed as [N, G, Cg, S]: y = x * sigmoid(v x) * rstd * w + b,
   * rstd = 1 / sqrt(biased group variance + eps); mean and rstd receive N * G values.
   */
  evoNormS0Forward(
    x: Float32Array, N: number, G: number, Cg: number, S: number, v: Float32Array, w: Float32Array, b: Float32Array,
    eps: number, y: Float32Array, mean: Float32Array, rstd: Float32Array,
  ): void;
  evoNormS0Backward(
    x: Float32Array, dy: Float32Array, N: number, G: number, Cg: number, S: number, v: Float32Array, w: Float32Array,
    mean: Float32Array, rstd: Float32Array, dx: Float32Array | null, dv: Float32Array | null, dw: Float32Array | null,
    db: Float32Array | null,
  ): void;
  /**
   * EvoNorm-B0 per row (n, c) of x viewed as [N * C, S], given left[c] = sqrt(var_B + eps):
   * y = x / max(left, v x + sqrt(row var + eps)) * w + b; mean and sd receive N * C values. The
   * backward takes batchMean (training: left depends on x through the biased batch variance) or
   * null (eval: left is constant).
   */
  evoNormB0Forward(
    x: Float32Array, N: number, C: number, S: number, left: Float32Array, v: Float32Array, w: Float32Array, b: Float32Array,
    eps: number, y: Float32Array, mean: Float32Array, sd: Float32Array,
  ): void;
  evoNormB0Backward(
    x: Float32Array, dy: Float32Array, N: number, C: number, S: number, left: Float32Array, v: Float32Array, w: Float32Array,
    mean: Float32Array, sd: Float32Array, batchMean: Float32Array | null, dx: Float32Array | null, dv: Float32Array | null,
    dw: Float32Array | null, db: Float32Array | null,
  ): void;
  /** dst = src at memory-copy speed (the bandwidth yardstick of the benchmarks). */
  copyFloats(src: Float32Array, dst: Float32Array): void;
}

// One-sided paired t-test (seed 001's significance test): is `new` better than `base`?
//
// With d_i = new_i − base_i (i = 1..n), mean d̄, sample variance s² = Σ(d_i − d̄)²/(n − 1):
//   t = d̄ / (s/√n), df = n − 1, p = P(T_df ≥ t)  (H1: mean(new − base) > 0).
// This is scipy.stats.ttest_rel(new, base, alternative='greater'), computed the way scipy
// computes it (numpy's pairwise summation for the means), so results agree to float64 rounding
// in the statistic and to the t-distribution library's accuracy (~1e-8) in the p-value and intervals. When all
// differences are equal (s = 0) scipy divides by zero: t = +inf (p = 0) for d̄ > 0, −inf (p = 1)
// for d̄ < 0, and NaN (p = NaN) for d̄ = 0; so does this function.
import jStat from 'jstat';

export interface PairedTTestResult {
  /** t statistic d̄ / (s/√n). */
  t: number;
  /** Degrees of freedom n − 1. */
  df: number;
  /** One-sided p-value P(T_df ≥ t). */
  pValue: number;
  /** Mean difference d̄ = mean(new − base). */
  meanDiff: number;
  /** Standard error s/√n of the mean difference. */
  standardError: number;
  /** Two-sided confidence interval for the mean difference: d̄ ± t_{1−α/2,df}·s/√n. */
  ci: [number, number];
  /** One-sided lower confidence bound d̄ − t_{1−α,df}·s/√n (the interval is [lowerBound, +∞)). */
  lowerBound: number;
  /** Confidence level of ci and lowerBound (1 − α). */
  confidence: number;
  /** pValue ≤ α. */
  significant: boolean;
  /** Number of pairs. */
  n: number;
}

export interface PairedTTestOptions {
  /** Significance level α (default 0.05: 95% intervals, significant when p ≤ 0.05). */
  alpha?: number;
}

/** numpy's pairwise summation (np.add.reduce on float64), so means round as numpy's do. */
function pairwiseSum(a: Float64Array, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let k = 0; k < 8; k++) r[k] = a[start + k];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let k = 0; k < 8; k++) r[k] += a[start + i + k];
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** Upper tail P(T_df ≥ t) of Student's t, from the incomplete beta (accurate far in the tail). */
export function studentTSurvival(t: number, df: number): number {
  if (Number.isNaN(t)) return NaN;
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  const tail = 0.5 * jStat.ibeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? tail : 1 - tail;
}

/** Quantile t_{p,df} of Student's t. */
export function studentTQuantile(p: number, df: number): number {
  return jStat.studentt.inv(p, df);
}

/**
 * One-sided paired t-test of H1: mean(newValues − baseValues) > 0. The arrays hold one value per
 * pair (e.g. the test accuracy of the same seed with and without a change), in the same order.
 */
export function pairedTTest(newValues: ArrayLike<number>, baseValues: ArrayLike<number>, options: PairedTTestOptions = {}): PairedTTestResult {
  const alpha = options.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`pairedTTest: alpha must be in (0, 1), got ${alpha}`);
  if (newValues.length !== baseValues.length) {
    throw new RangeError(`pairedTTest: the samples must pair up, got ${newValues.length} new values and ${baseValues.length} base values`);
  }
  const n = newValues.length;
  if (n < 2) throw new RangeError(`pairedTTest: need at least 2 pairs, got ${n}`);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = newValues[i] - baseValues[i];
    if (Number.isNaN(d[i])) throw new RangeError(`pairedTTest: pair ${i} is not a number (new ${newValues[i]}, base ${baseValues[i]})`);
  }
  const mean = pairwiseSum(d, 0, n) / n;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) sq[i] = (d[i] - mean) ** 2;
  const variance = (pairwiseSum(sq, 0, n) / n) * (n / (n - 1));
  const se = Math.sqrt(variance / n);
  const t = mean / se;
  const df = n - 1;
  const pValue = studentTSurvival(t, df);
  const half = studentTQuantile(1 - alpha / 2, df) * se;
  return {
    t,
    df,
    pValue,
    meanDiff: mean,
    standardError: se,
    ci: [mean - half, mean + half],
    lowerBound: mean - studentTQuantile(1 - alpha, df) * se,
    confidence: 1 - alpha,
    significant: pValue <= alpha,
    n,
  };
}

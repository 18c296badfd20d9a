// When Filtered BN cannot filter. Among n values with mean μ and unbiased standard deviation s,
// the largest |z| = |x − μ| / s is (n − 1)/√n (reached when one value differs and the other n − 1
// are equal; Samuelson's inequality with the unbiased s). FBN keeps the values with |z| < T, so a
// threshold T > (n − 1)/√n keeps every value of every batch and the layer is exactly BN; at
// T = (n − 1)/√n only that one extreme configuration can lose its odd value, so normlab treats
// T ≥ (n − 1)/√n as "cannot filter". n is the number of values behind one
// statistic: N·H·W per channel for (N, C, H, W), N·L for (N, C, L), N for (N, C); with `pooled`,
// the features of a sample count too (N·C·L).
import type { Module } from '../module.js';

/** (n − 1)/√n: the largest |z| that n values can reach under their unbiased standard deviation. */
export function fbnMaxAbsZ(n: number): number {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`fbnMaxAbsZ: n must be an integer >= 2 (values per statistic), got ${n}`);
  return (n - 1) / Math.sqrt(n);
}

/** True when threshold T can drop a value among n values of any but the one extreme configuration: T < (n − 1)/√n. */
export function fbnCanFilter(n: number, threshold: number): boolean {
  return threshold < fbnMaxAbsZ(n);
}

/** Values behind one FBN statistic for an input of `shape` (N, C, *). */
export function fbnValuesPerStatistic(shape: readonly number[], pooled = false): number {
  let n = shape[0];
  for (let i = 2; i < shape.length; i++) n *= shape[i];
  return pooled ? n * shape[1] : n;
}

/** The warning text for a layer whose threshold keeps everything, or null when it can filter. */
export function fbnNoFilterMessage(layer: string, n: number, threshold: number): string | null {
  if (fbnCanFilter(n, threshold)) return null;
  const bound = fbnMaxAbsZ(n);
  return (
    `${layer}: Filtered BN cannot filter: with N = ${n} values per statistic no |z| exceeds (N - 1)/sqrt(N) = ${bound.toPrecision(4)}, ` +
    `so threshold T = ${threshold} keeps every value and the layer is exactly BN (use T < ${bound.toPrecision(4)} or a larger batch)`
  );
}

/** Emits the warning once, through process.emitWarning (type 'NormlabWarning', code 'NORMLAB_FBN_NO_FILTER'). */
export function warnFbnNoFilter(layer: string, n: number, threshold: number): boolean {
  const msg = fbnNoFilterMessage(layer, n, threshold);
  if (msg === null) return false;
  process.emitWarning(msg, { type: 'NormlabWarning', code: 'NORMLAB_FBN_NO_FILTER' });
  return true;
}

/** Gives every Filtered BN layer of `model` its dotted name (used in its warnings). */
export function nameFilteredBatchNorms(model: Module): void {
  for (const [name, m] of model.namedModules()) {
    if ('layerName' in m && 'threshold' in m) (m as { layerName: string }).layerName = name === '' ? m.constructor.name : name;
  }
}

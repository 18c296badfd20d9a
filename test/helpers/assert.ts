// Numeric assertions for tests: relative/absolute closeness with a readable failure message.
import assert from 'node:assert/strict';

export interface CloseOptions {
  rtol?: number;
  atol?: number;
  /**
   * Also allow an absolute error of rtol · max|expected|. For values that are long float32
   * sums with cancellation (weight gradients), two correct summation orders differ by about
   * eps · sum|terms|, which can exceed rtol · |value| for the small elements of the tensor.
   */
  scaleToMax?: boolean;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise (default rtol 1e-4,
 * atol 1e-5: the project's fixture tolerance). Reports the worst element.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, options: CloseOptions = {}): void {
  const rtol = options.rtol ?? 1e-4;
  let atol = options.atol ?? 1e-5;
  if (options.scaleToMax) {
    let m = 0;
    for (let i = 0; i < expected.length; i++) if (Math.abs(expected[i]) > m) m = Math.abs(expected[i]);
    atol = Math.max(atol, rtol * m);
  }
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != expected ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

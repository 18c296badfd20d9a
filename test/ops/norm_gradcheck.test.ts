// Finite-difference gradient checks of the norm ops against float64 references.
import { describe, it } from 'node:test';
import { functional as F } from '../../src/index.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { normalize64, seededInput } from '../helpers/normReference.js';

const data = seededInput;

describe('norm gradients against finite differences of float64 references', () => {
  it('batchNorm (training) for x, weight and bias', () => {
    const [N, C, S] = [3, 2, 5];
    gradcheck(
      'batchNorm',
      ([x, w, b]) => F.batchNorm(x, null, null, w, b, { training: true }),
      ([x, w, b]) => normalize64(x, w, b, N, C, S, (_n, c) => c),
      [data([N, C, S], 1, 0.5), data([C], 2, 1), data([C], 3)],
    );
  });

  it('groupNorm for x, weight and bias', () => {
    const [N, C, S] = [2, 4, 3];
    gradcheck(
      'groupNorm',
      ([x, w, b]) => F.groupNorm(x, 2, w, b),
      ([x, w, b]) => normalize64(x, w, b, N, C, S, (n, c) => n * 2 + Math.floor(c / 2)),
      [data([N, C, S], 4), data([C], 5, 1), data([C], 6)],
    );
  });
});

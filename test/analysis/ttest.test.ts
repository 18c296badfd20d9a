import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pairedTTest, studentTSurvival } from '../../src/analysis/ttest.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/assert.js';

/** Fixture numbers: JSON numbers, or 'inf' / '-inf' / 'nan' for the non-finite ones. */
function num(v: unknown): number {
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (v === 'nan') return NaN;
  return v as number;
}

describe('pairedTTest', () => {
  for (const c of loadFixtures('ttest')) {
    it(`matches scipy.stats.ttest_rel(alternative='greater') on ${c.name}`, () => {
      const p = c.params;
      const r = pairedTTest(p.new as number[], p.base as number[]);
      assert.equal(r.df, p.df);
      assert.equal(r.n, (p.new as number[]).length);
      const t = num(p.t);
      if (Number.isFinite(t)) assertClose([r.t], [t], 't', { rtol: 1e-12, atol: 0 });
      else assert.ok(Object.is(r.t, t) || (Number.isNaN(r.t) && Number.isNaN(t)), `t is ${r.t}, scipy says ${t}`);
      assertClose([r.pValue], [num(p.p)], 'p-value', { rtol: 1e-6, atol: 1e-15 });
      assertClose([r.meanDiff], [num(p.mean_diff)], 'mean difference', { rtol: 1e-12, atol: 0 });
      // jStat's t quantile is good to ~1e-8 relative: an absolute error on intervals of width ~1.
      assertClose(r.ci, (p.ci as unknown[]).map(num), 'two-sided 95% CI', { rtol: 1e-7, atol: 2e-8 });
      assertClose([r.lowerBound], [num(p.lower_bound)], 'one-sided 95% lower bound', { rtol: 1e-7, atol: 2e-8 });
    });
  }

  it('calls seed 001 README example not significant at 0.05 (p = 0.057)', () => {
    const r = pairedTTest([91.7, 93.4, 92.2, 90.0, 91.9], [91.0, 92.7, 92.2, 90.1, 91.5]);
    assert.equal(r.significant, false);
    assert.ok(r.ci[0] < 0 && r.ci[1] > 0 && r.lowerBound < 0);
    assert.equal(pairedTTest([91.7, 93.4, 92.2, 90.0, 91.9], [91.0, 92.7, 92.2, 90.1, 91.5], { alpha: 0.1 }).significant, true);
  });

  it('names both lengths when the samples do not pair up', () => {
    assert.throws(() => pairedTTest([1, 2, 3], [1, 2]), /3 new values and 2 base values/);
  });

  it('rejects fewer than two pairs', () => {
    assert.throws(() => pairedTTest([1], [0]), /at least 2 pairs, got 1/);
    assert.throws(() => pairedTTest([], []), /at least 2 pairs, got 0/);
  });

  it('rejects NaN values and an alpha outside (0, 1)', () => {
    assert.throws(() => pairedTTest([1, NaN], [0, 0]), /pair 1 is not a number/);
    assert.throws(() => pairedTTest([1, 2], [0, 0], { alpha: 1.5 }), /alpha must be in \(0, 1\)/);
  });

  it('gives the t tail probabilities of tables (t = 2.132, df 4 -> 0.05)', () => {
    assertClose([studentTSurvival(2.131846786, 4)], [0.05], 'P(T4 >= 2.1318)', { rtol: 1e-8 });
    assertClose([studentTSurvival(-2.131846786, 4)], [0.95], 'P(T4 >= -2.1318)', { rtol: 1e-8 });
    assert.equal(studentTSurvival(0, 7), 0.5);
  });
});

// Shared report pieces of the training comparisons: per-group final metrics (mean ± std over
// seeds), learning curves with bands, and one-sided paired t-tests of each group against a
// baseline (paired by seed, as seed 001 pairs runs).
import { pairedTTest } from '../analysis/ttest.js';
import type { RunRecord } from './experiment.js';
import { mean, pct, std, type ChartSpec, type TableSpec } from './reportSpec.js';

export function groupsOf(records: RunRecord[]): Map<string, RunRecord[]> {
  const out = new Map<string, RunRecord[]>();
  for (const r of records) {
    const g = out.get(r.spec.group) ?? [];
    g.push(r);
    out.set(r.spec.group, g);
  }
  for (const g of out.values()) g.sort((a, b) => a.spec.seed - b.spec.seed);
  return out;
}

const metric = (r: RunRecord, key: string): number => Number(r.results.final[key]);

/** Final test accuracy (and train accuracy, loss, time) per group, mean ± std over seeds. */
export function finalTable(records: RunRecord[], title = 'Final metrics (mean ± std over seeds)'): TableSpec {
  const rows: (string | number)[][] = [];
  for (const [group, rs] of groupsOf(records)) {
    const test = rs.map((r) => metric(r, 'test_acc'));
    const train = rs.map((r) => metric(r, 'train_acc'));
    const val = rs.map((r) => metric(r, 'val_acc')).filter((v) => Number.isFinite(v));
    const secs = rs.map((r) => r.results.total_seconds);
    rows.push([
      group, rs.length,
      `${pct(mean(test))} ± ${pct(std(test))}`,
      val.length > 0 ? `${pct(mean(val))} ± ${pct(std(val))}` : 'n/a',
      `${pct(mean(train))} ± ${pct(std(train))}`,
      mean(rs.map((r) => metric(r, 'test_loss'))).toFixed(4),
      `${mean(secs).toFixed(1)} s`,
    ]);
  }
  return { title, columns: ['group', 'runs', 'test acc %', 'val acc %', 'train acc %', 'test loss', 'train time / run'], rows };
}

/** Paired one-sided t-tests: is each group better than the baseline on `key`? */
export function significanceTable(records: RunRecord[], baseline: string, key = 'test_acc'): TableSpec {
  const groups = groupsOf(records);
  const base = groups.get(baseline) ?? [];
  const rows: (string | number)[][] = [];
  for (const [group, rs] of groups) {
    if (group === baseline) continue;
    const seeds = rs.map((r) => r.spec.seed).filter((s) => base.some((b) => b.spec.seed === s));
    const nw = seeds.map((s) => 100 * metric(rs.find((r) => r.spec.seed === s)!, key));
    const bs = seeds.map((s) => 100 * metric(base.find((r) => r.spec.seed === s)!, key));
    if (seeds.length < 2) {
      rows.push([`${group} > ${baseline}`, seeds.length, 'n/a', 'n/a', 'n/a', 'needs 2+ paired seeds']);
      continue;
    }
    const t = pairedTTest(nw, bs);
    rows.push([
      `${group} > ${baseline}`, seeds.length, t.meanDiff.toFixed(3), `[${t.ci[0].toFixed(3)}, ${t.ci[1].toFixed(3)}]`,
      Number.isFinite(t.pValue) ? t.pValue.toPrecision(3) : String(t.pValue), t.significant ? 'yes (p ≤ 0.05)' : 'no',
    ]);
  }
  return {
    title: `Significance: one-sided paired t-test on ${key.replace('_', ' ')} (percentage points), paired by seed`,
    columns: ['hypothesis', 'pairs', 'mean diff', '95% CI', 'p-value', 'significant'],
    rows,
  };
}

/** Learning curves of `key` per epoch, one series per group with one line per seed. */
export function curves(records: RunRecord[], key: string, title: string, yLabel: string): ChartSpec {
  const series = [...groupsOf(records)].map(([label, rs]) => ({
    label,
    runs: rs.map((r) => r.results.history.map((h) => Number(h[key]))),
  }));
  return { kind: 'curves', title, yLabel, xLabel: 'epoch', series };
}

export function timeBars(records: RunRecord[]): ChartSpec {
  const groups = [...groupsOf(records)];
  return {
    kind: 'bars', title: 'Training time per run', yLabel: 'seconds',
    labels: groups.map(([g]) => g),
    values: groups.map(([, rs]) => mean(rs.map((r) => r.results.total_seconds))),
    errors: groups.map(([, rs]) => std(rs.map((r) => r.results.total_seconds))),
  };
}

// Self-contained HTML reports: one report.html with inline CSS, inline SVG charts and inline PNG
// images, that opens offline and makes no request (no scripts, no CDN, no web fonts, no links to
// files). Written atomically.
//
// buildRunReport reads run directories written by the Trainer (config.json, metrics.jsonl,
// results.json), groups runs by label (config.label, else the directory name), and compares the
// groups: config, results (mean ± std over a group's runs), one-sided paired t-tests of every group
// against the first, accuracy/loss curves with seed bands, and training time.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { writeFileAtomic } from '../io/atomic.js';
import { jsonErrorAt } from '../io/jsonFile.js';
import type { EpochMetrics, TrainResult } from '../io/metrics.js';
import { pairedTTest } from '../analysis/ttest.js';
import { renderChart, curvesChart, barChart, type ChartSpec, type RunGroup } from './charts.js';
import { imageGridHtml, type ImageCell } from './png.js';
import { writeRunEvents } from './tensorboard.js';

/** One run directory, read and checked. */
export interface RunData {
  dir: string;
  label: string;
  config: Record<string, unknown>;
  history: EpochMetrics[];
  results: TrainResult;
}

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function readJson(dir: string, file: string): unknown {
  const path = join(dir, file);
  if (!existsSync(path)) throw new Error(`report: run directory '${dir}' has no ${file}`);
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`report: ${file} in run directory '${dir}' is malformed: ${jsonErrorAt(text, err)}`);
  }
}

/** Reads a run directory; errors name the directory and the missing or malformed file. */
export function readRun(dir: string): RunData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`report: run directory '${dir}' does not exist`);
  const config = readJson(dir, 'config.json');
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new Error(`report: config.json in run directory '${dir}' is malformed: expected a JSON object`);
  const metricsPath = join(dir, 'metrics.jsonl');
  if (!existsSync(metricsPath)) throw new Error(`report: run directory '${dir}' has no metrics.jsonl`);
  const lines = readFileSync(metricsPath, 'utf8').split('\n').map((l, i) => [i + 1, l.trim()] as const).filter(([, l]) => l !== '');
  if (lines.length === 0) throw new Error(`report: metrics.jsonl in run directory '${dir}' is empty (no epoch finished)`);
  const history = lines.map(([n, line]) => {
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch (err) {
      throw new Error(`report: metrics.jsonl in run directory '${dir}' is malformed at line ${n}: ${jsonErrorAt(line, err)}`);
    }
    const e = m as Partial<EpochMetrics>;
    if (typeof e !== 'object' || e === null || typeof e.epoch !== 'number' || typeof e.train_acc !== 'number' || typeof e.train_loss !== 'number') {
      throw new Error(`report: metrics.jsonl in run directory '${dir}' is malformed at line ${n}: expected an object with numeric epoch, train_loss and train_acc`);
    }
    return e as EpochMetrics;
  });
  const results = readJson(dir, 'results.json') as TrainResult;
  if (typeof results !== 'object' || results === null || typeof results.best_metric !== 'number' || results.final === undefined) {
    throw new Error(`report: results.json in run directory '${dir}' is malformed: expected best_metric and final`);
  }
  const label = typeof (config as Record<string, unknown>).label === 'string' ? ((config as Record<string, unknown>).label as string) : basename(resolve(dir));
  return { dir, label, config: config as Record<string, unknown>, history, results };
}

/** Runs grouped by label, in the order labels first appear. */
export function groupRuns(runs: RunData[]): { label: string; runs: RunData[] }[] {
  const groups = new Map<string, RunData[]>();
  for (const r of runs) groups.set(r.label, [...(groups.get(r.label) ?? []), r]);
  return [...groups].map(([label, rs]) => ({ label, runs: rs }));
}

/** A section of a report: a heading and trusted HTML (charts, tables, image grids). */
export interface ReportSection {
  title: string;
  html: string;
}

const CSS = `
body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:1em}.chart{border:1px solid #eee;padding:.3em}
.image-grid{display:flex;flex-wrap:wrap;gap:.6em}figure{margin:0;text-align:center;font-size:.8em}img{image-rendering:pixelated;display:block}
.sig{color:#1a7f37;font-weight:bold}.muted{color:#777}pre{background:#f7f7f7;padding:.6em;overflow:auto}
`;

/** The complete HTML document. */
export function renderReportHtml(title: string, sections: ReportSection[], subtitle = ''): string {
  const body = sections.map((s) => `<section><h2>${escapeHtml(s.title)}</h2>\n${s.html}</section>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><h1>${escapeHtml(title)}</h1>${subtitle ? `<p class="muted">${escapeHtml(subtitle)}</p>` : ''}
${body}
</body></html>
`;
}

/** An HTML table; cells are escaped unless given as { html }. */
export function htmlTable(header: string[], rows: (string | number | { html: string })[][]): string {
  const cell = (v: string | number | { html: string }): string => {
    if (typeof v === 'object') return `<td>${v.html}</td>`;
    if (typeof v === 'number') return `<td class="num">${escapeHtml(formatNumber(v))}</td>`;
    return `<td>${escapeHtml(v)}</td>`;
  };
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(4);
}

const pct = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(2)}%`);

/** "mean ± std" of a metric over runs (population std), as percentages for accuracies. */
function meanStdText(values: (number | undefined)[], asPercent: boolean): string {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return '–';
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  const f = (x: number): string => (asPercent ? pct(x) : formatNumber(x));
  return v.length === 1 ? f(mean) : `${f(mean)} ± ${f(std)}`;
}

/** The metric compared across groups: test accuracy at the best epoch, else the best metric. */
function selectionMetric(r: RunData): { name: string; value: number } {
  if (typeof r.results.test_acc_at_best === 'number') return { name: 'test_acc_at_best', value: r.results.test_acc_at_best };
  return { name: r.results.best_metric_name ?? 'best_metric', value: r.results.best_metric };
}

/** Orders a group's runs for pairing: by config.seed when every run has one, else as given. */
function pairingOrder(runs: RunData[]): RunData[] {
  return runs.every((r) => typeof r.config.seed === 'number') ? [...runs].sort((a, b) => (a.config.seed as number) - (b.config.seed as number)) : runs;
}

function configTable(groups: { label: string; runs: RunData[] }[]): string {
  const keys = [...new Set(groups.flatMap((g) => g.runs.flatMap((r) => Object.keys(r.config))))].sort();
  const rows = keys.map((k) => [k, ...groups.map((g) => [...new Set(g.runs.map((r) => JSON.stringify(r.config[k]) ?? '–'))].join(', '))]);
  return keys.length === 0 ? '<p class="muted">(empty configs)</p>' : htmlTable(['key', ...groups.map((g) => g.label)], rows);
}

function resultsTable(groups: { label: string; runs: RunData[] }[]): string {
  const rows = groups.map((g) => {
    const f = g.runs.map((r) => r.results.final);
    return [
      g.label, g.runs.length, g.runs[0].history.length,
      meanStdText(g.runs.map((r) => selectionMetric(r).value), true),
      meanStdText(f.map((m) => m.train_acc), true), meanStdText(f.map((m) => m.val_acc), true), meanStdText(f.map((m) => m.test_acc), true),
      meanStdText(f.map((m) => m.test_loss ?? m.val_loss ?? m.train_loss), false),
      meanStdText(g.runs.map((r) => r.results.total_seconds), false),
    ];
  });
  const metric = selectionMetric(groups[0].runs[0]).name;
  return htmlTable(['label', 'runs', 'epochs', `${metric} (mean ± std)`, 'final train acc', 'final val acc', 'final test acc', 'final loss (test, else val, else train)', 'training seconds'], rows);
}

function significanceTable(groups: { label: string; runs: RunData[] }[], alpha: number): string {
  if (groups.length < 2) return '<p class="muted">One group only: nothing to compare.</p>';
  const base = groups[0];
  const baseValues = pairingOrder(base.runs).map((r) => selectionMetric(r).value);
  const rows = groups.slice(1).map((g) => {
    const newValues = pairingOrder(g.runs).map((r) => selectionMetric(r).value);
    if (newValues.length !== baseValues.length || newValues.length < 2) {
      return [g.label, base.label, newValues.length, { html: `<span class="muted">needs the same number (≥ 2) of runs in both groups (${newValues.length} vs ${baseValues.length})</span>` }, '', '', '', '', ''];
    }
    const t = pairedTTest(newValues, baseValues, { alpha });
    const sig = t.significant ? `<span class="sig">yes</span>` : 'no';
    return [g.label, base.label, t.n, `${(100 * t.meanDiff).toFixed(3)} pp`, t.t, t.pValue, `[${(100 * t.ci[0]).toFixed(3)}, ${(100 * t.ci[1]).toFixed(3)}] pp`, `${(100 * t.lowerBound).toFixed(3)} pp`, { html: sig }];
  });
  const metric = selectionMetric(base.runs[0]).name;
  const conf = Math.round((1 - alpha) * 100);
  return `<p>One-sided paired t-test of each group against <b>${escapeHtml(base.label)}</b> on ${escapeHtml(metric)} (H1: new &gt; base; runs paired by config.seed when present, else in the order given; significant when p ≤ ${alpha}).</p>`
    + htmlTable(['new', 'base', 'pairs', 'mean difference', 't', 'p (one-sided)', `${conf}% CI (two-sided)`, `${conf}% lower bound (one-sided)`, 'significant'], rows);
}

export interface RunReportOptions {
  title?: string;
  /** Paragraphs (plain text) shown first, under the heading "Reading": what the numbers say. */
  lead?: string[];
  /** Significance level of the t-tests (default 0.05). */
  alpha?: number;
  /** Extra charts (Vega-Lite specs) after the curves. */
  charts?: { title: string; spec: ChartSpec }[];
  /** Image grids (outliers, misclassified). */
  images?: { title: string; cells: ImageCell[]; scale?: number }[];
  /** Extra sections of trusted HTML, before the notes. */
  sections?: ReportSection[];
  /** Notes, e.g. differences from the seed (plain text, one paragraph each). */
  notes?: string[];
  /** Also write TensorBoard event files under <outFile's folder>/tensorboard/<label>/<run>/. */
  tensorboard?: boolean;
}

async function chartsHtml(specs: { title: string; spec: ChartSpec }[]): Promise<string> {
  const svgs = await Promise.all(specs.map(async (c) => `<div class="chart" title="${escapeHtml(c.title)}">${await renderChart(c.spec)}</div>`));
  return `<div class="charts">${svgs.join('')}</div>`;
}

/** Reads the run directories, writes the report to outFile, and returns what it read. */
export async function buildRunReport(runDirs: string[], outFile: string, opts: RunReportOptions = {}): Promise<{ outFile: string; runs: RunData[] }> {
  if (runDirs.length === 0) throw new Error('report: give at least one run directory');
  const runs = runDirs.map(readRun);
  const groups = groupRuns(runs);
  const runGroups: RunGroup[] = groups.map((g) => ({ label: g.label, histories: g.runs.map((r) => r.history) }));
  const curves = await chartsHtml([
    { title: 'accuracy', spec: curvesChart(runGroups, 'acc') },
    { title: 'loss', spec: curvesChart(runGroups, 'loss') },
    {
      title: 'training time',
      spec: barChart(groups.map((g) => ({ label: g.label, value: g.runs.reduce((a, r) => a + r.results.total_seconds, 0) / g.runs.length })), { title: 'training time per run (mean)', value: 'seconds' }),
    },
  ]);
  const sections: ReportSection[] = [
    ...(opts.lead && opts.lead.length > 0 ? [{ title: 'Reading', html: opts.lead.map((n) => `<p>${escapeHtml(n)}</p>`).join('\n') }] : []),
    { title: 'Runs', html: htmlTable(['label', 'run directory', 'epochs'], runs.map((r) => [r.label, r.dir, r.history.length])) },
    { title: 'Configuration', html: configTable(groups) },
    { title: 'Results', html: resultsTable(groups) },
    { title: 'Significance', html: significanceTable(groups, opts.alpha ?? 0.05) },
    { title: 'Curves', html: curves },
  ];
  if (opts.charts && opts.charts.length > 0) sections.push({ title: 'Charts', html: await chartsHtml(opts.charts) });
  for (const g of opts.images ?? []) sections.push({ title: g.title, html: imageGridHtml(g.cells, { scale: g.scale }) });
  sections.push(...(opts.sections ?? []));
  if (opts.notes && opts.notes.length > 0) sections.push({ title: 'Notes', html: opts.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('\n') });
  const title = opts.title ?? `normlab report: ${groups.map((g) => g.label).join(' vs ')}`;
  writeFileAtomic(outFile, renderReportHtml(title, sections, `${runs.length} run(s) in ${groups.length} group(s)`));
  if (opts.tensorboard) {
    for (const r of runs) writeRunEvents(join(dirname(outFile), 'tensorboard', r.label, basename(resolve(r.dir))), r.history);
  }
  return { outFile, runs };
}

/**
 * `normlab report <runDir...> [--out report.html] [--title T] [--alpha A] [--tensorboard]`.
 * Resolves to the exit code: 0 on success, 2 for a usage error (unknown flag, no run directory),
 * 1 when the report cannot be built (the message names the directory and file).
 */
export async function reportCommand(args: string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(s));
  const err = io.err ?? ((s: string) => process.stderr.write(s));
  const program = new Command('normlab report')
    .description('Compare training runs side by side in one self-contained HTML file')
    .argument('<runDir...>', 'run directories written by the trainer (config.json, metrics.jsonl, results.json)')
    .option('--out <file>', 'output HTML file', 'report.html')
    .option('--title <title>', 'report title')
    .option('--alpha <alpha>', 'significance level of the paired t-tests', '0.05')
    .option('--tensorboard', 'also write TensorBoard event files next to the report')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err });
  try {
    program.parse(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const o = program.opts<{ out: string; title?: string; alpha: string; tensorboard?: boolean }>();
  const alpha = Number(o.alpha);
  if (!(alpha > 0 && alpha < 1)) {
    err(`normlab report: --alpha must be a number in (0, 1), got '${o.alpha}'\n`);
    return 2;
  }
  try {
    const r = await buildRunReport(program.args, o.out, { title: o.title, alpha, tensorboard: o.tensorboard });
    out(`wrote ${r.outFile} (${r.runs.length} runs)\n`);
    return 0;
  } catch (e) {
    err(`${(e as Error).message}\n`);
    return 1;
  }
}

// The normalization instruments of an experiment's runs (src/analysis/normMonitor.ts,
// src/analysis/preciseBn.ts): attached to a run's training, stored in its analysis.json under
// `instruments`, written as TensorBoard scalars in its run directory, and drawn in the report.
import type { Module } from '../nn/module.js';
import type { BatchSource, EpochMetrics } from '../train/trainer.js';
import { NormMonitor, normScalars, type NormMonitorSummary, type DriftPoint, type KeptPoint } from '../analysis/normMonitor.js';
import { preciseBn, runningStatsLayers, trainEvalAccuracy, trainEvalAccuracyAsync } from '../analysis/preciseBn.js';
import { writeEventFile, type SummaryValue, type TbEvent } from '../report/tensorboard.js';
import type { DataLoader } from '../data/loader.js';
import type { RunRecord } from './experiment.js';
import { groupsOf } from './compare.js';
import { mean, pct, type ChartSpec, type TableSpec } from './reportSpec.js';

/** Points kept per layer and series in analysis.json (longer series are averaged in bins). */
const MAX_POINTS = 200;

export interface PreciseBnResult {
  batches: number;
  testAccBefore: number;
  testAccAfter: number;
}

export interface InstrumentsRecord extends NormMonitorSummary {
  preciseBn: PreciseBnResult | null;
}

/** Averages consecutive points into at most `max` bins (step = the bin's last step). */
function downsample<T extends { step: number }>(pts: T[], max: number, keys: (keyof T)[]): T[] {
  if (pts.length <= max) return pts;
  const size = Math.ceil(pts.length / max);
  const out: T[] = [];
  for (let i = 0; i < pts.length; i += size) {
    const bin = pts.slice(i, i + size);
    const p = { ...bin[bin.length - 1] };
    for (const k of keys) (p as Record<keyof T, unknown>)[k] = mean(bin.map((b) => b[k] as number));
    out.push(p);
  }
  return out;
}

/** Hooks for runTraining's onStart / onEvaluate, and the work after training. */
export class RunInstruments {
  private monitor: NormMonitor | null = null;

  onStart = (model: Module): void => {
    this.monitor = new NormMonitor(model);
  };

  /** At each epoch's end (a logging point): values left on the training device are read here. */
  onEvaluate = async (model: Module, m: EpochMetrics, test: BatchSource): Promise<void> => {
    this.monitor!.recordAffine(m.epoch);
    if (runningStatsLayers(model).length > 0 && m.test_acc !== undefined) {
      // The trainer's test evaluation is the eval-mode accuracy; only the train-mode pass is added.
      const { trainModeAcc } = await trainEvalAccuracyAsync(model, test, { evalMode: false });
      this.monitor!.recordGap(m.epoch, { trainModeAcc, evalModeAcc: m.test_acc });
    }
    await this.monitor!.flush();
  };

  /**
   * Precise BN over up to `batches` training batches, with test accuracy before and after (the
   * model keeps the recomputed statistics); the record; TensorBoard scalars in runDir. The model
   * must be on the CPU (executeRun moves it there after training).
   */
  finish(model: Module, trainLoader: DataLoader, testLoader: DataLoader, history: EpochMetrics[], runDir: string, batches = 50): InstrumentsRecord {
    const m = this.monitor!;
    m.detach();
    let precise: PreciseBnResult | null = null;
    if (runningStatsLayers(model).length > 0) {
      const before = trainEvalAccuracy(model, testLoader).evalModeAcc;
      const used = preciseBn(model, trainLoader, batches);
      precise = { batches: used, testAccBefore: before, testAccAfter: trainEvalAccuracy(model, testLoader).evalModeAcc };
    }
    const s = m.summary();
    const record: InstrumentsRecord = {
      ...s,
      drift: Object.fromEntries(Object.entries(s.drift).map(([k, v]) => [k, downsample<DriftPoint>(v, MAX_POINTS, ['meanShift', 'varLogRatio'])])),
      keptFraction: Object.fromEntries(Object.entries(s.keptFraction).map(([k, v]) => [k, downsample<KeptPoint>(v, MAX_POINTS, ['fraction'])])),
      preciseBn: precise,
    };
    writeInstrumentEvents(runDir, record, history);
    return record;
  }
}

/** One event file in runDir: the epoch metrics and the instrument scalars, by step. */
export function writeInstrumentEvents(runDir: string, r: InstrumentsRecord, history: EpochMetrics[]): string {
  const wallTime = Date.now() / 1000;
  const byStep = new Map<number, SummaryValue[]>();
  const add = (step: number, tag: string, value: number): void => {
    const list = byStep.get(step) ?? [];
    list.push({ tag, simpleValue: value });
    byStep.set(step, list);
  };
  for (const h of history) {
    for (const k of ['train_acc', 'train_loss', 'test_acc', 'test_loss', 'val_acc', 'val_loss'] as const) {
      const v = h[k];
      if (typeof v === 'number') add(h.epoch, k.replace('_', '/'), v);
    }
  }
  for (const p of normScalars(r)) add(p.step, p.tag, p.value);
  if (r.preciseBn !== null) {
    const last = history.length > 0 ? history[history.length - 1].epoch : 0;
    add(last, 'norm/precise_bn/test_acc_before', r.preciseBn.testAccBefore);
    add(last, 'norm/precise_bn/test_acc_after', r.preciseBn.testAccAfter);
  }
  const events: TbEvent[] = [...byStep].sort((a, b) => a[0] - b[0]).map(([step, values]) => ({ wallTime, step, values }));
  return writeEventFile(runDir, events, wallTime);
}

const instrumentsOf = (r: RunRecord): InstrumentsRecord | null => (r.analysis?.instruments as InstrumentsRecord | undefined) ?? null;

/** The first seed's run of each group that has instruments. */
function firstRuns(records: RunRecord[]): [string, InstrumentsRecord][] {
  const out: [string, InstrumentsRecord][] = [];
  for (const [g, rs] of groupsOf(records)) {
    const r = rs.find((x) => instrumentsOf(x) !== null);
    if (r !== undefined) out.push([g, instrumentsOf(r)!]);
  }
  return out;
}

/** Mean over layers of a per-layer series, aligned by index. */
function layerMean<T>(perLayer: T[][], value: (p: T) => number, x: (p: T) => number): { x: number[]; y: number[] } {
  const n = Math.min(...perLayer.map((l) => l.length));
  if (!Number.isFinite(n) || n === 0) return { x: [], y: [] };
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(x(perLayer[0][i]));
    ys.push(mean(perLayer.map((l) => value(l[i]))));
  }
  return { x: xs, y: ys };
}

/** The instruments' charts: drift, kept fraction, gamma/beta quantiles, train/eval-mode accuracy. */
export function instrumentCharts(records: RunRecord[]): ChartSpec[] {
  const runs = firstRuns(records);
  if (runs.length === 0) return [];
  const charts: ChartSpec[] = [];
  const drift = runs.filter(([, r]) => Object.keys(r.drift).length > 0).map(([g, r]) => ({
    label: g, ...layerMean(Object.values(r.drift), (p) => p.meanShift, (p) => p.step),
  }));
  if (drift.length > 0) {
    charts.push({ kind: 'lines', title: 'Running-statistics drift: mean over BN layers of |μ_B − μ_run| / σ_run per step (first seed)', xLabel: 'step', yLabel: 'mean shift (σ_run)', series: drift });
  }
  const kept = runs.flatMap(([g, r]) => Object.entries(r.keptFraction).map(([layer, pts]) => ({ label: `${g} ${layer}`, x: pts.map((p) => p.step), y: pts.map((p) => p.fraction) })));
  if (kept.length > 0) charts.push({ kind: 'lines', title: 'Filtered BN: fraction of values kept per layer per step (first seed)', xLabel: 'step', yLabel: 'kept fraction', series: kept });
  const affineSeries = (which: 'weight' | 'bias', q: number, name: string): { label: string; x: number[]; y: number[] }[] =>
    runs.map(([g, r]) => {
      const layers = Object.values(r.affine).filter((pts) => pts.length > 0 && pts[0][which] !== null);
      return { label: `${g} ${name}`, ...layerMean(layers, (p) => p[which]![q], (p) => p.epoch) };
    }).filter((s) => s.x.length > 0);
  const gamma = [...affineSeries('weight', 1, 'q25'), ...affineSeries('weight', 2, 'median'), ...affineSeries('weight', 3, 'q75')];
  if (gamma.length > 0) charts.push({ kind: 'lines', title: 'γ per epoch: channel quantiles, averaged over norm layers (first seed; epoch 0 = initialisation)', xLabel: 'epoch', yLabel: 'γ', series: gamma });
  const beta = [...affineSeries('bias', 1, 'q25'), ...affineSeries('bias', 2, 'median'), ...affineSeries('bias', 3, 'q75')];
  if (beta.length > 0) charts.push({ kind: 'lines', title: 'β per epoch: channel quantiles, averaged over norm layers (first seed)', xLabel: 'epoch', yLabel: 'β', series: beta });
  const gap = runs.filter(([, r]) => r.gap.length > 0).flatMap(([g, r]) => [
    { label: `${g} eval mode (running stats)`, x: r.gap.map((p) => p.epoch), y: r.gap.map((p) => p.evalModeAcc) },
    { label: `${g} train mode (batch stats)`, x: r.gap.map((p) => p.epoch), y: r.gap.map((p) => p.trainModeAcc) },
  ]);
  if (gap.length > 0) charts.push({ kind: 'lines', title: 'Test accuracy with running vs batch statistics at each evaluation (first seed)', xLabel: 'epoch', yLabel: 'test accuracy', series: gap });
  return charts;
}

/** Precise BN: test accuracy before and after recomputing the running statistics, per group. */
export function preciseBnTable(records: RunRecord[]): TableSpec | null {
  const rows: (string | number)[][] = [];
  for (const [g, rs] of groupsOf(records)) {
    const p = rs.map(instrumentsOf).filter((x): x is InstrumentsRecord => x !== null && x.preciseBn !== null).map((x) => x.preciseBn!);
    if (p.length === 0) continue;
    const before = mean(p.map((x) => x.testAccBefore));
    const after = mean(p.map((x) => x.testAccAfter));
    rows.push([g, p.length, p[0].batches, pct(before), pct(after), (100 * (after - before)).toFixed(2)]);
  }
  if (rows.length === 0) return null;
  return {
    title: 'Precise BN: test accuracy % before and after recomputing running statistics over K training batches (mean over seeds)',
    columns: ['group', 'runs', 'K batches', 'before', 'after', 'change (points)'],
    rows,
    note: 'The running statistics become the plain average of the final model\'s batch statistics over K batches (momentum-free), as `normlab recalibrate` does.',
  };
}

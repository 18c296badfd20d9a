// Charts as SVG: declarative Vega-Lite specs compiled to Vega and rendered headless in Node
// (vl.compile(spec).spec → new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG()).
//
// Offline by construction: every chart carries its data inline (data.values), uses the generic
// 'sans-serif' font (no web fonts), and renders with a loader that refuses every URI, so a spec
// that asks for remote data or images fails instead of making a request.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { EpochMetrics } from '../io/metrics.js';

export type ChartSpec = TopLevelSpec;

const WIDTH = 420;
const HEIGHT = 260;

const CONFIG = {
  font: 'sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const },
};

function offlineLoader(): vega.Loader {
  const refuse = (uri: string): Promise<never> => Promise.reject(new Error(`charts: refusing to load '${uri}': charts must carry their data inline`));
  const loader = vega.loader();
  loader.load = refuse;
  loader.sanitize = refuse;
  loader.http = refuse;
  loader.file = refuse;
  return loader;
}

/** The first external reference (a data url, an image or link href) in a compiled spec, if any. */
function externalReference(node: unknown, path: string): string | null {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const hit = externalReference(node[i], `${path}[${i}]`);
      if (hit !== null) return hit;
    }
  } else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'url' || k === 'href') && v !== null && v !== undefined) return `${path}.${k} = ${JSON.stringify(v)}`;
      const hit = externalReference(v, `${path}.${k}`);
      if (hit !== null) return hit;
    }
  }
  return null;
}

/**
 * Renders a Vega-Lite spec to an SVG string, without any network or file access: a spec that
 * refers to anything outside itself is rejected before rendering.
 */
export async function renderChart(spec: ChartSpec): Promise<string> {
  const compiled = vl.compile({ config: CONFIG, ...spec } as TopLevelSpec).spec;
  const ref = externalReference(compiled, 'spec');
  if (ref !== null) throw new Error(`renderChart: refusing to load ${ref}: charts must carry their data inline`);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: offlineLoader() });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Runs (one history each) that share a label, e.g. the seeds of one configuration. */
export interface RunGroup {
  label: string;
  histories: EpochMetrics[][];
}

/** Mean and population std of numbers. */
function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { mean, std };
}

/**
 * Train/val/test accuracy or loss per epoch: one line per (label, split) at the mean over the
 * group's runs, with a band of mean ± std (population std over runs; no band for one run).
 */
export function curvesChart(groups: RunGroup[], metric: 'acc' | 'loss', title?: string): ChartSpec {
  const rows: Record<string, unknown>[] = [];
  for (const g of groups) {
    for (const split of ['train', 'val', 'test'] as const) {
      const key = `${split}_${metric}` as keyof EpochMetrics;
      const maxEpochs = Math.max(0, ...g.histories.map((h) => h.length));
      for (let e = 0; e < maxEpochs; e++) {
        const values = g.histories.map((h) => h[e]?.[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        if (values.length === 0) continue;
        const { mean, std } = meanStd(values);
        rows.push({ epoch: g.histories.find((h) => h[e])![e].epoch, label: g.label, split, mean, lo: mean - std, hi: mean + std, runs: values.length });
      }
    }
  }
  const name = metric === 'acc' ? 'accuracy' : 'loss';
  const x = { field: 'epoch', type: 'quantitative' as const, title: 'epoch', axis: { tickMinStep: 1 } };
  const color = { field: 'label', type: 'nominal' as const, title: 'run' };
  return {
    title: title ?? `${name} per epoch (mean ± std over seeds)`,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    layer: [
      { mark: { type: 'area', opacity: 0.15 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: name }, y2: { field: 'hi' }, color, detail: { field: 'split' } } },
      {
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative', title: name, scale: { zero: false } },
          color,
          strokeDash: { field: 'split', type: 'nominal', title: 'split', sort: ['train', 'val', 'test'] },
        },
      },
    ],
  };
}

/** Precomputed quantiles of one layer (e.g. from StreamingStats.summary()). */
export interface QuantileRow {
  layer: string;
  min: number;
  p1: number;
  q1: number;
  median: number;
  q3: number;
  p99: number;
  max: number;
}

/**
 * Box plots from summaries: whisker P1–P99 (rule), box Q1–Q3 (bar), median (tick), min and max
 * (points, showing the outliers beyond the whiskers). Layers keep the given order.
 */
export function quantileBoxChart(rows: QuantileRow[], title = 'activation quantiles per layer'): ChartSpec {
  const x = { field: 'layer', type: 'nominal' as const, sort: rows.map((r) => r.layer), title: 'layer', axis: { labelAngle: -40 } };
  const values = rows.map((r) => ({ ...r }));
  return {
    title,
    width: Math.max(WIDTH, rows.length * 28),
    height: HEIGHT,
    data: { values },
    layer: [
      { mark: { type: 'rule', color: '#555' }, encoding: { x, y: { field: 'p1', type: 'quantitative', title: 'activation' }, y2: { field: 'p99' } } },
      { mark: { type: 'bar', size: 14, color: '#8ab4d8', stroke: '#355f85' }, encoding: { x, y: { field: 'q1', type: 'quantitative' }, y2: { field: 'q3' } } },
      { mark: { type: 'tick', color: '#111', size: 14, thickness: 2 }, encoding: { x, y: { field: 'median', type: 'quantitative' } } },
      { mark: { type: 'point', shape: 'triangle-up', color: '#c0392b', filled: true, size: 30 }, encoding: { x, y: { field: 'max', type: 'quantitative' } } },
      { mark: { type: 'point', shape: 'triangle-down', color: '#c0392b', filled: true, size: 30 }, encoding: { x, y: { field: 'min', type: 'quantitative' } } },
    ],
  };
}

/** Histogram from precomputed bins: counts[i] covers [edges[i], edges[i + 1]). */
export function histogramChart(hist: { edges: number[]; counts: number[] }, title = 'histogram', options: { logCounts?: boolean; xTitle?: string } = {}): ChartSpec {
  if (hist.edges.length !== hist.counts.length + 1) {
    throw new RangeError(`histogramChart: need counts.length + 1 edges, got ${hist.edges.length} edges for ${hist.counts.length} counts`);
  }
  const values = hist.counts.map((c, i) => ({ lo: hist.edges[i], hi: hist.edges[i + 1], count: options.logCounts ? Math.max(c, 0.5) : c }));
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'rect', color: '#4c78a8', stroke: 'white', strokeWidth: 0.5 },
    encoding: {
      x: { field: 'lo', type: 'quantitative', title: options.xTitle ?? 'value', scale: { zero: false } },
      x2: { field: 'hi' },
      y: options.logCounts ? { field: 'count', type: 'quantitative', title: 'count (log)', scale: { type: 'log' } } : { field: 'count', type: 'quantitative', title: 'count' },
      y2: options.logCounts ? { datum: 0.5 } : { datum: 0 },
    },
  };
}

/** Heat map of a value over two categorical axes (e.g. batch size × threshold → accuracy), labelled. */
export function heatmapChart(
  cells: { x: string | number; y: string | number; value: number }[],
  titles: { title?: string; x: string; y: string; value: string; format?: string },
): ChartSpec {
  const x = { field: 'x', type: 'ordinal' as const, title: titles.x };
  const y = { field: 'y', type: 'ordinal' as const, title: titles.y };
  return {
    title: titles.title ?? `${titles.value} by ${titles.x} and ${titles.y}`,
    width: WIDTH,
    height: HEIGHT,
    data: { values: cells },
    layer: [
      { mark: 'rect', encoding: { x, y, color: { field: 'value', type: 'quantitative', title: titles.value, scale: { scheme: 'viridis' } } } },
      { mark: { type: 'text', fontSize: 11 }, encoding: { x, y, text: { field: 'value', type: 'quantitative', format: titles.format ?? '.3f' }, color: { value: 'white' } } },
    ],
  };
}

/** A 2-D landscape on a grid: values[i][j] at (xs[j], ys[i]). */
export interface Grid2d {
  xs: number[];
  ys: number[];
  values: number[][];
}

/** Cell boundaries halfway between grid points (the outer cells as wide as their neighbour gap). */
function cellEdges(points: number[]): number[] {
  if (points.length === 1) return [points[0] - 0.5, points[0] + 0.5];
  const edges = [points[0] - (points[1] - points[0]) / 2];
  for (let i = 0; i + 1 < points.length; i++) edges.push((points[i] + points[i + 1]) / 2);
  edges.push(points[points.length - 1] + (points[points.length - 1] - points[points.length - 2]) / 2);
  return edges;
}

/**
 * A 2-D landscape (e.g. loss around the trained weights along two directions) as a heat map with
 * a sequential colour scale, and the grid points whose value lies within 1% of the range of an
 * iso-level (levels at quantiles of the values) marked as contour dots.
 */
export function landscapeChart(grid: Grid2d, titles: { title?: string; x?: string; y?: string; value?: string; levels?: number } = {}): ChartSpec {
  if (grid.values.length !== grid.ys.length || grid.values.some((r) => r.length !== grid.xs.length)) {
    throw new RangeError(`landscapeChart: values must be ${grid.ys.length} rows of ${grid.xs.length}`);
  }
  const ex = cellEdges(grid.xs);
  const ey = cellEdges(grid.ys);
  const cells: Record<string, number>[] = [];
  for (let i = 0; i < grid.ys.length; i++) {
    for (let j = 0; j < grid.xs.length; j++) cells.push({ x0: ex[j], x1: ex[j + 1], y0: ey[i], y1: ey[i + 1], x: grid.xs[j], y: grid.ys[i], value: grid.values[i][j] });
  }
  const sorted = cells.map((c) => c.value).filter(Number.isFinite).sort((a, b) => a - b);
  const nLevels = titles.levels ?? 6;
  const lo = sorted[0];
  const hi = sorted[sorted.length - 1];
  const levels = Array.from({ length: nLevels }, (_, i) => sorted[Math.floor(((i + 1) / (nLevels + 1)) * (sorted.length - 1))]);
  const tol = (hi - lo) * 0.01;
  const iso = cells.filter((c) => levels.some((l) => Math.abs(c.value - l) <= tol)).map((c) => ({ x: c.x, y: c.y }));
  const value = titles.value ?? 'loss';
  return {
    title: titles.title ?? `${value} landscape`,
    width: 360,
    height: 300,
    layer: [
      {
        data: { values: cells },
        mark: 'rect',
        encoding: {
          x: { field: 'x0', type: 'quantitative', title: titles.x ?? 'α', scale: { zero: false, nice: false } },
          x2: { field: 'x1' },
          y: { field: 'y0', type: 'quantitative', title: titles.y ?? 'β', scale: { zero: false, nice: false } },
          y2: { field: 'y1' },
          color: { field: 'value', type: 'quantitative', title: value, scale: { scheme: 'viridis' } },
        },
      },
      { data: { values: iso }, mark: { type: 'point', filled: true, size: 6, color: 'white', opacity: 0.8 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } },
    ],
  };
}

/** Bar chart of one number per label (e.g. training time in seconds per configuration). */
export function barChart(rows: { label: string; value: number }[], titles: { title: string; value: string }): ChartSpec {
  return {
    title: titles.title,
    width: WIDTH,
    height: Math.max(80, rows.length * 26),
    data: { values: rows },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8' }, encoding: { y: { field: 'label', type: 'nominal', title: null, sort: null }, x: { field: 'value', type: 'quantitative', title: titles.value } } },
      { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { y: { field: 'label', type: 'nominal', sort: null }, x: { field: 'value', type: 'quantitative' }, text: { field: 'value', type: 'quantitative', format: '.3~g' } } },
    ],
  };
}

/** A 1-D curve, e.g. the loss along the line between two weight vectors. */
export function lineChart(points: { x: number; y: number; series?: string }[], titles: { title: string; x: string; y: string }): ChartSpec {
  return {
    title: titles.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: points.map((p) => ({ series: '', ...p })) },
    mark: { type: 'line', point: { size: 20 } },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: titles.x },
      y: { field: 'y', type: 'quantitative', title: titles.y, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: points.some((p) => p.series) ? {} : null },
    },
  };
}

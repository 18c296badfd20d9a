// What an experiment's report contains, as data: tables, charts and image grids. The renderer
// (src/experiments/render.ts) turns a ReportSpec into a self-contained report.html.
export interface TableSpec {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  note?: string;
}

export interface CurveSeries {
  /** Legend label (a group of runs). */
  label: string;
  /** One array of values per run (seed), indexed by epoch − 1. */
  runs: number[][];
}

export type ChartSpec =
  | { kind: 'curves'; title: string; yLabel: string; xLabel?: string; series: CurveSeries[] }
  | { kind: 'heatmap'; title: string; xLabel: string; yLabel: string; x: (string | number)[]; y: (string | number)[]; values: (number | null)[][]; valueLabel: string }
  | { kind: 'bars'; title: string; yLabel: string; labels: string[]; values: number[]; errors?: number[] }
  | { kind: 'lines'; title: string; xLabel: string; yLabel: string; logX?: boolean; series: { label: string; x: number[]; y: number[] }[] }
  | { kind: 'contour'; title: string; xLabel: string; yLabel: string; valueLabel: string; xs: number[]; ys: number[]; values: number[][] }
  | { kind: 'boxes'; title: string; yLabel: string; boxes: { label: string; p1: number; q1: number; median: number; q3: number; p99: number; min: number; max: number }[] };

export interface ImageGridSpec {
  title: string;
  images: { data: Float32Array | number[]; channels: number; height: number; width: number; caption: string }[];
}

export interface ReportSpec {
  title: string;
  subtitle: string;
  /** Paragraphs: what was run, how it differs from the seed, what to look at. */
  notes: string[];
  config: Record<string, unknown>;
  tables: TableSpec[];
  charts: ChartSpec[];
  grids: ImageGridSpec[];
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

export function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) * (b - m), 0) / (xs.length - 1));
}

export function pct(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(digits)}`;
}

// Renders an experiment's ReportSpec into one self-contained report.html (inline SVG charts from
// Vega-Lite specs, inline PNG image grids, no external requests), written atomically.
import { join } from 'node:path';
import { heatmapChart, barChart, lineChart, quantileBoxChart, renderChart, landscapeChart, type ChartSpec as VegaSpec } from '../report/charts.js';
import { imageGridHtml } from '../report/png.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { ChartSpec, ReportSpec, TableSpec } from './reportSpec.js';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function toVega(c: ChartSpec): VegaSpec {
  switch (c.kind) {
    case 'curves':
      return curvesSpec(c);
    case 'heatmap': {
      const cells: { x: string | number; y: string | number; value: number }[] = [];
      c.y.forEach((yv, i) => c.x.forEach((xv, j) => {
        const v = c.values[i][j];
        if (v !== null && Number.isFinite(v)) cells.push({ x: xv, y: yv, value: v });
      }));
      return heatmapChart(cells, { title: c.title, x: c.xLabel, y: c.yLabel, value: c.valueLabel, format: '.2f' });
    }
    case 'bars':
      return barChart(c.labels.map((label, i) => ({ label, value: c.values[i] })), { title: c.title, value: c.yLabel });
    case 'lines':
      return lineChart(c.series.flatMap((s) => s.x.map((x, i) => ({ x, y: s.y[i], series: s.label }))), { title: c.title, x: c.xLabel, y: c.yLabel });
    case 'boxes':
      return quantileBoxChart(c.boxes.map((b) => ({ layer: b.label, min: b.min, p1: b.p1, q1: b.q1, median: b.median, q3: b.q3, p99: b.p99, max: b.max })), c.title);
    case 'contour':
      return landscapeChart({ xs: c.xs, ys: c.ys, values: c.values }, { title: c.title, x: c.xLabel, y: c.yLabel, value: c.valueLabel });
  }
}

/** One line per series at the mean over its runs (seeds), with a mean ± std band (sample std). */
function curvesSpec(c: Extract<ChartSpec, { kind: 'curves' }>): VegaSpec {
  const rows: Record<string, number | string>[] = [];
  for (const s of c.series) {
    const epochs = Math.max(0, ...s.runs.map((r) => r.length));
    for (let e = 0; e < epochs; e++) {
      const vals = s.runs.map((r) => r[e]).filter((v) => Number.isFinite(v));
      if (vals.length === 0) continue;
      const m = vals.reduce((a, b) => a + b, 0) / vals.length;
      const sd = vals.length > 1 ? Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / (vals.length - 1)) : 0;
      rows.push({ epoch: e + 1, series: s.label, mean: m, lo: m - sd, hi: m + sd });
    }
  }
  const x = { field: 'epoch', type: 'quantitative', title: c.xLabel ?? 'epoch', axis: { tickMinStep: 1 } };
  const color = { field: 'series', type: 'nominal', title: 'group' };
  return {
    title: c.title, width: 420, height: 260, data: { values: rows },
    layer: [
      { mark: { type: 'area', opacity: 0.15 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: c.yLabel }, y2: { field: 'hi' }, color } },
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: c.yLabel, scale: { zero: false } }, color } },
    ],
  } as unknown as VegaSpec;
}

function tableHtml(t: TableSpec): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(String(v))}</td>`).join('')}</tr>`).join('\n');
  return `<section><h2>${escapeHtml(t.title)}</h2><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${t.note ? `<p class="note">${escapeHtml(t.note)}</p>` : ''}</section>`;
}

const STYLE = `body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{margin-top:2rem;font-size:1.15rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.subtitle{color:#666;margin-top:0}table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f4f6f8}.note{color:#666;font-size:.85rem}figure{margin:1rem 0}
pre{background:#f7f7f7;padding:.8rem;overflow:auto;font-size:.8rem}.chart svg{max-width:100%;height:auto}`;

/** Writes <outDir>/report.html and returns its path. */
export async function renderReport(outDir: string, spec: ReportSpec): Promise<string> {
  const charts: string[] = [];
  for (const c of spec.charts) {
    const svg = await renderChart(toVega(c));
    charts.push(`<figure class="chart">${svg}</figure>`);
  }
  const grids = spec.grids
    .filter((g) => g.images.length > 0)
    .map((g) => imageGridHtml(g.images.map((im) => ({ image: Float32Array.from(im.data), shape: [im.channels, im.height, im.width], caption: im.caption })), { scale: im0Scale(g.images[0].height), title: g.title }));
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(spec.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(spec.title)}</h1>
<p class="subtitle">${escapeHtml(spec.subtitle)}</p>
${spec.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('\n')}
${spec.tables.map(tableHtml).join('\n')}
${charts.length > 0 ? `<section><h2>Charts</h2>${charts.join('\n')}</section>` : ''}
${grids.length > 0 ? `<section><h2>Images</h2>${grids.join('\n')}</section>` : ''}
<section><h2>Configuration</h2><pre>${escapeHtml(JSON.stringify(spec.config, null, 2))}</pre></section>
<p class="note">Written by normlab on ${new Date().toISOString().slice(0, 10)}.</p>
</body></html>
`;
  const file = join(outDir, 'report.html');
  writeFileAtomic(file, html);
  return file;
}

function im0Scale(h: number): number {
  return h <= 32 ? 3 : h <= 64 ? 2 : 1;
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderChart, curvesChart, quantileBoxChart, histogramChart, heatmapChart, landscapeChart, barChart, lineChart } from '../../src/report/charts.js';
import type { EpochMetrics } from '../../src/io/metrics.js';
import { markCounts } from '../helpers/svg.js';

function history(accs: number[]): EpochMetrics[] {
  return accs.map((a, i) => ({ epoch: i + 1, lr: 0.1, train_loss: 1 - a, train_acc: a, val_acc: a - 0.05, val_loss: 1.1 - a, seconds: 1, samples_per_sec: 100 }));
}

describe('charts', () => {
  it('draws mean curves with std bands per label and split', async () => {
    const spec = curvesChart([{ label: 'bn', histories: [history([0.5, 0.6, 0.7]), history([0.52, 0.64, 0.72])] }, { label: 'fbn', histories: [history([0.55, 0.65, 0.75])] }], 'acc');
    const rows = (spec as { data: { values: Record<string, number | string>[] } }).data.values;
    const bnTrain2 = rows.find((r) => r.label === 'bn' && r.split === 'train' && r.epoch === 2)!;
    assert.ok(Math.abs((bnTrain2.mean as number) - 0.62) < 1e-12 && Math.abs((bnTrain2.hi as number) - 0.64) < 1e-12, JSON.stringify(bnTrain2));
    assert.equal(rows.filter((r) => r.split === 'test').length, 0, 'no test metrics, no test rows');
    const svg = await renderChart(spec);
    const marks = markCounts(svg);
    assert.equal(marks.line, 4, '2 labels x 2 splits');
    assert.equal(marks.area, 4);
    assert.equal(marks.symbol, 12, 'a point per epoch per line');
  });

  it('draws box plots from precomputed quantiles: whisker, box, median tick and extremes per layer', async () => {
    const rows = ['conv1', 'conv2', 'conv3'].map((layer, i) => ({ layer, min: -5 - i, p1: -2, q1: -0.5, median: 0, q3: 0.6, p99: 2 + i, max: 9 + i }));
    const marks = markCounts(await renderChart(quantileBoxChart(rows)));
    assert.equal(marks.rule, 3);
    assert.equal(marks.rect, 6, 'a box and a median tick per layer');
    assert.equal(marks.symbol, 6);
  });

  it('draws one bar per histogram bin and rejects mismatched edges', async () => {
    const marks = markCounts(await renderChart(histogramChart({ edges: [0, 1, 2, 3, 4], counts: [1, 5, 0, 2] }, 'h', { logCounts: true })));
    assert.equal(marks.rect, 4);
    assert.throws(() => histogramChart({ edges: [0, 1], counts: [1, 2] }), /need counts.length \+ 1 edges, got 2 edges for 2 counts/);
  });

  it('labels every heat-map cell with its value', async () => {
    const cells = [16, 64].flatMap((b) => [1, 2, 4].map((t) => ({ x: t, y: b, value: 0.9 + t / 100 + b / 1000 })));
    const svg = await renderChart(heatmapChart(cells, { x: 'threshold', y: 'batch size', value: 'accuracy' }));
    const marks = markCounts(svg);
    assert.equal(marks.rect, 6);
    assert.equal(marks.text, 6);
    assert.match(svg, />0\.956</);
  });

  it('draws a landscape grid with iso-level points, a bar chart with values and a 1-D line', async () => {
    const xs = [-1, -0.5, 0, 0.5, 1];
    const grid = { xs, ys: xs, values: xs.map((y) => xs.map((x) => x * x + 2 * y * y)) };
    const l = markCounts(await renderChart(landscapeChart(grid)));
    assert.equal(l.rect, 25);
    assert.ok(l.symbol > 0);
    assert.throws(() => landscapeChart({ xs, ys: [0], values: [[1]] }), /values must be 1 rows of 5/);
    const b = await renderChart(barChart([{ label: 'sigmoid', value: 12.5 }, { label: 'relu+bn', value: 30 }], { title: 'training time', value: 'seconds' }));
    assert.equal(markCounts(b).rect, 2);
    assert.match(b, />12\.5</);
    const line = markCounts(await renderChart(lineChart([0, 0.5, 1].map((x) => ({ x, y: x * x })), { title: 't', x: 'α', y: 'loss' })));
    assert.equal(line.line, 1);
  });

  it('refuses to load remote data instead of making a request', async () => {
    await assert.rejects(renderChart({ data: { url: 'https://example.com/data.json' }, mark: 'point' }), /refusing to load spec\.data\[0\]\.url = "https:\/\/example.com\/data.json"/);
  });
});

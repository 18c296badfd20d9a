#!/usr/bin/env node
// Real-browser check of a sample report (run: npm run test:browser; needs Debian's chromium).
// Builds a report from synthetic run directories plus every chart and image-grid kind, opens it
// in headless Chromium, and checks that every chart rendered (each <svg> has drawn marks), that
// the page made no request beyond its own file:// URL and data: URIs, and saves a screenshot.
import { mkdtempSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { buildRunReport } from '../dist/src/report/html.js';
import { quantileBoxChart, histogramChart, heatmapChart, landscapeChart, lineChart } from '../dist/src/report/charts.js';
import { StreamingStats } from '../dist/src/analysis/stats.js';
import { writeSeed001Runs } from '../dist/test/helpers/runs.js';

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshot = resolve(process.argv[2] ?? 'docs/screenshots/report.png');

function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

/** Activation statistics of three synthetic layers, the last with rare huge activations. */
function sampleStats() {
  const rnd = lcg(7);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
  return ['conv1', 'conv2', 'conv3'].map((layer, l) => {
    const s = new StreamingStats();
    const x = new Float32Array(64 * 4 * 16);
    for (let i = 0; i < x.length; i++) x[i] = gauss() * (1 + l) + (l === 2 && rnd() < 0.002 ? 40 : 0);
    s.add(x, [64, 4, 4, 4]);
    return { layer, s };
  });
}

const root = mkdtempSync(join(tmpdir(), 'normlab-browser-'));
const dirs = writeSeed001Runs(root);
const stats = sampleStats();
const xs = Array.from({ length: 21 }, (_, i) => -1 + i / 10);
const rnd = lcg(3);
const images = Array.from({ length: 6 }, (_, k) => ({
  image: Float32Array.from({ length: 28 * 28 }, (_, i) => (Math.hypot((i % 28) - 14, Math.floor(i / 28) - 14) < 5 + k ? 0.9 : 0.1 * rnd())),
  shape: [1, 28, 28],
  caption: `#${100 + k}: ${(9.5 - k).toFixed(1)}`,
}));
const out = join(root, 'report.html');
await buildRunReport(dirs, out, {
  title: 'normlab sample report (synthetic runs)',
  charts: [
    { title: 'quantiles', spec: quantileBoxChart(stats.map(({ layer, s }) => ({ layer, ...s.summary() }))) },
    { title: 'histogram', spec: histogramChart(stats[2].s.histogram(40), 'conv3 activations', { logCounts: true }) },
    { title: 'heat map', spec: heatmapChart([16, 64, 256].flatMap((b) => [1, 2, 3, 4].map((t) => ({ x: t, y: b, value: 0.97 + 0.002 * t - b / 20000 }))), { title: 'test accuracy', x: 'threshold T', y: 'batch size', value: 'accuracy' }) },
    { title: 'landscape', spec: landscapeChart({ xs, ys: xs, values: xs.map((y) => xs.map((x) => Math.log(1 + x * x + 3 * y * y + x * y))) }) },
    { title: 'line', spec: lineChart(xs.map((x) => ({ x, y: Math.log(1 + 4 * x * x) })), { title: 'loss along the line between two solutions', x: 'α', y: 'loss' }) },
  ],
  images: [{ title: 'Outlier images (conv3, channel 0, activation > 5)', cells: images, scale: 3 }],
  notes: ['Synthetic runs: seed 001 README accuracies as five paired seeds per group.'],
});

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const pageUrl = pathToFileURL(out).href;
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pageUrl, { waitUntil: 'load' });
  const charts = await page.$$eval('svg.marks', (svgs) => svgs.map((svg) => ({
    width: svg.getBoundingClientRect().width,
    height: svg.getBoundingClientRect().height,
    marks: svg.querySelectorAll('g.role-mark path, g.role-mark rect, g.role-mark line, g.role-mark text').length,
  })));
  if (charts.length !== 8) failures.push(`expected 8 charts, found ${charts.length}`);
  charts.forEach((c, i) => {
    if (!(c.width > 50 && c.height > 50 && c.marks > 0)) failures.push(`chart ${i} did not render: ${JSON.stringify(c)}`);
  });
  const imgs = await page.$$eval('img', (els) => els.map((e) => ({ ok: e.complete && e.naturalWidth > 0, src: e.src.slice(0, 22) })));
  if (imgs.length !== 6 || imgs.some((i) => !i.ok)) failures.push(`images did not all load: ${JSON.stringify(imgs)}`);
  const external = requests.filter((u) => u !== pageUrl && !u.startsWith('data:'));
  if (external.length > 0) failures.push(`the page made requests: ${external.join(', ')}`);
  mkdirSync(resolve(screenshot, '..'), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`charts: ${charts.length} (marks: ${charts.map((c) => c.marks).join(', ')}), images: ${imgs.length}, requests: ${requests.length} (${requests.map((u) => u.slice(0, 40)).join(', ')})`);
  console.log(`report: ${out}`);
  console.log(`screenshot: ${screenshot}`);
} finally {
  await browser.close();
}
if (failures.length > 0) {
  console.error(`browser test failed:\n  ${failures.join('\n  ')}`);
  console.log('1 passed, 1 failed');
  process.exit(1);
}
console.log('1 passed, 0 failed');

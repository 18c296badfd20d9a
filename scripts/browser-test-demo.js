#!/usr/bin/env node
// Real-browser check of the demo's report (run: npm run test:browser; needs Debian's chromium).
// Runs `normlab demo` (one epoch per model) into a temporary folder, opens its report.html in
// headless Chromium and checks that every chart drew marks (3 curve/time charts, the quantile
// box plot and the tail histogram), that every outlier-gallery image decoded, and that the page
// made no request beyond its own file:// URL and data: URIs. Screenshot: test-artifacts/.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshot = resolve(process.argv[2] ?? 'test-artifacts/demo-report.png');
const root = mkdtempSync(join(tmpdir(), 'normlab-demo-'));
const failures = [];

const t0 = Date.now();
const demo = spawnSync(process.execPath, ['bin/normlab.js', 'demo', '--epochs', '1', '--out', root], { encoding: 'utf8' });
const seconds = (Date.now() - t0) / 1000;
if (demo.status !== 0) {
  console.error(demo.stdout, demo.stderr);
  console.error('browser test failed: normlab demo exited with', demo.status);
  process.exit(1);
}
const out = join(root, 'report.html');
if (!demo.stdout.includes(`report: ${out}`)) failures.push(`the demo did not print the report path ${out}`);
const next = demo.stdout.split('next:\n')[1]?.trim().split('\n') ?? [];
if (next.length !== 3 || !next.every((l) => l.trim().startsWith('normlab '))) failures.push(`expected three next commands, got ${JSON.stringify(next)}`);
if (!/Normalizing helps: BN [\d.]+% vs [\d.]+% without normalization/.test(demo.stdout) || !/Why FBN exists: BN's inputs reach [\d.]+σ/.test(demo.stdout)) failures.push('the two-line reading is missing');

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
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
  if (charts.length !== 5) failures.push(`expected 5 charts (accuracy, loss, time, quantiles, tail), found ${charts.length}`);
  charts.forEach((c, i) => {
    if (!(c.width > 50 && c.height > 50 && c.marks > 0)) failures.push(`chart ${i} did not render: ${JSON.stringify(c)}`);
  });
  const imgs = await page.$$eval('img', (els) => els.map((e) => ({ ok: e.complete && e.naturalWidth === 84 && e.naturalHeight === 84, alt: e.alt })));
  if (imgs.length === 0 || imgs.some((i) => !i.ok)) failures.push(`gallery images did not all load at 28x28 x3: ${JSON.stringify(imgs)}`);
  const gallery = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent));
  if (!gallery.some((t) => /^Test digits whose .* exceeds 4σ/.test(t ?? ''))) failures.push(`no outlier gallery section among ${JSON.stringify(gallery)}`);
  const external = requests.filter((u) => u !== pageUrl && !u.startsWith('data:'));
  if (external.length > 0) failures.push(`the page made requests: ${external.join(', ')}`);
  mkdirSync(resolve(screenshot, '..'), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`demo: ${seconds.toFixed(1)} s; charts: ${charts.length} (marks: ${charts.map((c) => c.marks).join(', ')}), gallery images: ${imgs.length}, requests: ${requests.length}`);
  console.log(`screenshot: ${screenshot}`);
} finally {
  await browser.close();
  rmSync(root, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(`browser test failed:\n  ${failures.join('\n  ')}`);
  console.log('1 passed, 1 failed');
  process.exit(1);
}
console.log('1 passed, 0 failed');

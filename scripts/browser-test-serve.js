#!/usr/bin/env node
// Real-browser check of `normlab serve` (run: npm run test:browser; needs Debian's chromium).
// Trains one run to the end and starts a second, longer one; serves their parent folder; opens
// the page in headless Chromium and checks that the running run's row and curves update while
// it trains (its epoch count rises and the accuracy chart is redrawn with more points before
// results.json exists), that both runs are drawn side by side, that the row turns "finished",
// and that the page made no request outside the server. Screenshot: test-artifacts/.
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { chromium } from 'playwright-core';

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshot = resolve(process.argv[2] ?? 'test-artifacts/serve-live.png');
const root = mkdtempSync(join(tmpdir(), 'normlab-serve-'));
const env = { ...process.env, NORMLAB_NUM_THREADS: '1' };
const failures = [];
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const done = spawnSync(process.execPath, ['bin/normlab.js', 'train', '--network', 'lenet5', '--epochs', '2', '--train-limit', '500', '--test-limit', '200', '--progress', 'none', '--out', join(root, 'finished-bn')], { encoding: 'utf8', env });
if (done.status !== 0) {
  console.error(done.stderr);
  process.exit(1);
}
const server = spawn(process.execPath, ['bin/normlab.js', 'serve', root, '--port', '0', '--interval', '1'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
children.push(server);
const url = await new Promise((ok, fail) => {
  let text = '';
  server.stdout.on('data', (d) => {
    text += d;
    const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(text);
    if (m) ok(m[0]);
  });
  server.once('exit', (code) => fail(new Error(`normlab serve exited with ${code}: ${text}`)));
});
const liveDir = join(root, 'live-fbn');
// Long enough (about 1 s per epoch here) for the page's 300 ms polls to see it between epochs.
const LIVE_EPOCHS = 10;
const trainer = spawn(process.execPath, ['bin/normlab.js', 'train', '--network', 'lenet5', '--norm', 'fbn', '--epochs', String(LIVE_EPOCHS), '--train-limit', '8000', '--test-limit', '300', '--progress', 'none', '--out', liveDir], { env, stdio: 'ignore' });
children.push(trainer);

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1250, height: 900 } });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url, { waitUntil: 'load' });
  const row = (id) => page.$eval(`tr[data-run="${id}"]`, (tr) => ({ epochs: Number(tr.dataset.epochs), status: tr.dataset.status })).catch(() => null);
  // What the charts show: the page records the runs, epochs and states it drew them for.
  const drawnEpochs = () => page.$eval('.charts', (d) => {
    const m = /(?:^|\|)live-fbn:(\d+):running(?:\||$)/.exec(d.dataset.drawn ?? '');
    return { epochs: m ? Number(m[1]) : 0, svg: d.querySelector('#acc')?.innerHTML ?? '' };
  });
  // Wait for the live run's first epoch, then for a later one while it is still running.
  const seen = [];
  const deadline = Date.now() + 120_000;
  let first = null;
  while (Date.now() < deadline) {
    const results = existsSync(join(liveDir, 'results.json'));
    const r = await row('live-fbn');
    const d = await drawnEpochs();
    if (r !== null && d.epochs >= 1 && !results) {
      if (first === null) first = { ...r, chart: d.svg, drawn: d.epochs };
      seen.push({ ...r, chart: d.svg, drawn: d.epochs, results });
      if (d.epochs > first.drawn && d.svg !== first.chart) break;
    }
    await sleep(300);
  }
  const update = seen.find((s) => first !== null && s.drawn > first.drawn && s.status === 'running' && !s.results && s.chart !== first.chart);
  if (first === null) failures.push('the running run never showed a finished epoch');
  else if (update === undefined) failures.push(`no update seen while the run trained: ${JSON.stringify(seen.map(({ chart: _chart, ...s }) => s))}`);
  const both = await page.$$eval('#acc svg text', (ts) => ts.map((t) => t.textContent).join(' '));
  if (!both.includes('finished-bn') || !both.includes('live-fbn')) failures.push(`the accuracy chart does not show both runs side by side: ${both.slice(0, 300)}`);
  const marks = await page.$$eval('svg.marks', (svgs) => svgs.map((s) => s.querySelectorAll('g.role-mark path, g.role-mark rect, g.role-mark line, g.role-mark text').length));
  if (marks.length !== 2 || marks.some((m) => m === 0)) failures.push(`expected 2 drawn charts, got marks ${JSON.stringify(marks)}`);
  mkdirSync(resolve(screenshot, '..'), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  // Let the run finish; the row turns finished.
  await new Promise((ok) => (trainer.exitCode !== null ? ok() : trainer.once('exit', ok)));
  await sleep(2500);
  const end = await row('live-fbn');
  if (end?.status !== 'finished' || end.epochs !== LIVE_EPOCHS) failures.push(`after training the row reads ${JSON.stringify(end)}, expected ${LIVE_EPOCHS} epochs, finished`);
  const origin = new URL(url).origin;
  const outside = requests.filter((u) => !u.startsWith(origin + '/'));
  if (outside.length > 0) failures.push(`the page made requests outside the server: ${outside.join(', ')}`);
  console.log(`charts redrawn while running at epochs: ${seen.map((s) => `${s.drawn}`).filter((v, i, a) => a.indexOf(v) === i).join(', ')}; requests: ${requests.length}, all to ${origin}`);
  console.log(`screenshot: ${screenshot}`);
} finally {
  await browser.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await sleep(300);
  rmSync(root, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(`browser test failed:\n  ${failures.join('\n  ')}`);
  console.log('1 passed, 1 failed');
  process.exit(1);
}
console.log('1 passed, 0 failed');

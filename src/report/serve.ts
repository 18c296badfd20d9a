// `normlab serve runs/`: a local web page with the curves of every run under a folder, running
// or finished, refreshed while they train, and any of them side by side. The charts are the
// reports' own Vega-Lite specs (curvesChart) rendered to SVG on the server with the reports'
// renderer, so the page needs no script library and makes no request outside this server.
//
// Security: the server listens on the loopback interface only, answers GET alone, serves no
// files (only the page and two JSON endpoints built from run directories it found), and refuses
// requests whose Host header is not its own loopback address (a guard against DNS rebinding).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { EpochMetrics } from '../io/metrics.js';
import { curvesChart, renderChart } from './charts.js';

export interface LiveRun {
  /** Path relative to the served folder, with '/' separators. */
  id: string;
  label: string;
  status: 'running' | 'finished';
  epochs: number;
  /** Epochs the run was configured for. */
  plannedEpochs: number | null;
  last: Partial<EpochMetrics> | null;
  /** metrics.jsonl's modification time (ms since the epoch), or config.json's before the first epoch. */
  updated: number;
  history: EpochMetrics[];
}

const SKIP = new Set(['tensorboard', 'node_modules', '.git']);

/** Folders under root (root included, at most `depth` levels down) that hold a config.json. */
export function findRunDirs(root: string, depth = 4): string[] {
  const out: string[] = [];
  const walk = (dir: string, level: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.isFile() && e.name === 'config.json')) out.push(dir);
    if (level >= depth) return;
    for (const e of entries) if (e.isDirectory() && !SKIP.has(e.name)) walk(join(dir, e.name), level + 1);
  };
  walk(root, 0);
  return out.sort();
}

/** A run directory as it is now; metrics.jsonl lines that do not parse (a write in progress) are skipped. */
export function readLiveRun(root: string, dir: string): LiveRun | null {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  const metrics = join(dir, 'metrics.jsonl');
  const history: EpochMetrics[] = [];
  let updated = statSync(join(dir, 'config.json')).mtimeMs;
  if (existsSync(metrics)) {
    updated = statSync(metrics).mtimeMs;
    for (const line of readFileSync(metrics, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const m = JSON.parse(line) as EpochMetrics;
        if (typeof m.epoch === 'number' && typeof m.train_loss === 'number') history.push(m);
      } catch {
        // A partial line: the next poll reads it whole.
      }
    }
  }
  const id = relative(root, dir).split(sep).join('/') || '.';
  return {
    id,
    label: typeof config.label === 'string' ? config.label : id,
    status: existsSync(join(dir, 'results.json')) ? 'finished' : 'running',
    epochs: history.length,
    plannedEpochs: typeof config.epochs === 'number' ? config.epochs : null,
    last: history.length > 0 ? history[history.length - 1] : null,
    updated,
    history,
  };
}

/** Every run under root, without histories (the /api/runs answer). */
export function listRuns(root: string): Omit<LiveRun, 'history'>[] {
  return findRunDirs(root).map((d) => readLiveRun(root, d)).filter((r): r is LiveRun => r !== null).map(({ history: _h, ...r }) => r);
}

/** Accuracy and loss charts (SVG) of the given runs side by side, each run its own line. */
export async function runCharts(root: string, ids: string[]): Promise<{ acc: string; loss: string }> {
  const byId = new Map(findRunDirs(root).map((d) => [relative(root, d).split(sep).join('/') || '.', d]));
  const runs = ids.map((id) => (byId.has(id) ? readLiveRun(root, byId.get(id)!) : null)).filter((r): r is LiveRun => r !== null && r.history.length > 0);
  if (runs.length === 0) return { acc: '', loss: '' };
  const groups = runs.map((r) => ({ label: r.id === r.label ? r.id : `${r.id} (${r.label})`, histories: [r.history] }));
  const [acc, loss] = await Promise.all([renderChart(curvesChart(groups, 'acc')), renderChart(curvesChart(groups, 'loss'))]);
  return { acc, loss };
}

const PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>normlab runs</title>
<style>
body{font-family:sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em}table{border-collapse:collapse;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}.running{color:#b35900;font-weight:bold}.finished{color:#1a7f37}
.charts{display:flex;flex-wrap:wrap;gap:1em;margin-top:1em}.chart{border:1px solid #eee;padding:.3em;min-height:100px}.muted{color:#777}
</style></head>
<body><h1>normlab runs</h1>
<p class="muted">Runs under <code id="root"></code>. Ticked runs are drawn side by side; the page refreshes every <span id="every"></span> s. <span id="updated"></span></p>
<table id="runs"><thead><tr><th></th><th>run</th><th>label</th><th>status</th><th>epochs</th><th>train acc</th><th>test acc</th><th>test loss</th></tr></thead><tbody></tbody></table>
<div class="charts"><div class="chart" id="acc"></div><div class="chart" id="loss"></div></div>
<script>
const POLL = __POLL__;
document.getElementById('root').textContent = __ROOT__;
document.getElementById('every').textContent = String(POLL / 1000);
const unticked = new Set();
let drawn = '';
const pct = (v) => (typeof v === 'number' ? (100 * v).toFixed(2) + '%' : '–');
const num = (v) => (typeof v === 'number' ? v.toFixed(4) : '–');
function cell(tr, text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }
async function tick() {
  try {
    const runs = await (await fetch('api/runs')).json();
    const body = document.querySelector('#runs tbody');
    body.replaceChildren();
    for (const r of runs) {
      const tr = document.createElement('tr');
      tr.dataset.run = r.id; tr.dataset.status = r.status; tr.dataset.epochs = String(r.epochs);
      const box = document.createElement('input'); box.type = 'checkbox'; box.checked = !unticked.has(r.id);
      box.addEventListener('change', () => { if (box.checked) unticked.delete(r.id); else unticked.add(r.id); drawn = ''; tick(); });
      const td = document.createElement('td'); td.appendChild(box); tr.appendChild(td);
      cell(tr, r.id); cell(tr, r.label); cell(tr, r.status, r.status);
      cell(tr, r.plannedEpochs ? r.epochs + ' / ' + r.plannedEpochs : String(r.epochs), 'num');
      cell(tr, pct(r.last && r.last.train_acc), 'num'); cell(tr, pct(r.last && r.last.test_acc), 'num'); cell(tr, num(r.last && r.last.test_loss), 'num');
      body.appendChild(tr);
    }
    const chosen = runs.filter((r) => !unticked.has(r.id));
    const key = chosen.map((r) => r.id + ':' + r.epochs + ':' + r.status).join('|');
    if (key !== drawn) {
      const c = await (await fetch('api/charts?' + new URLSearchParams(chosen.map((r) => ['run', r.id])))).json();
      document.getElementById('acc').innerHTML = c.acc || '<p class="muted">no finished epoch yet</p>';
      document.getElementById('loss').innerHTML = c.loss;
      drawn = key;
      document.querySelector('.charts').dataset.drawn = key;
    }
    document.getElementById('updated').textContent = 'Last refresh ' + new Date().toLocaleTimeString() + '.';
  } catch (e) {
    document.getElementById('updated').textContent = 'Server not reachable (' + e.message + ').';
  }
}
tick();
setInterval(tick, POLL);
</script></body></html>
`;

export interface ServeOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Page refresh interval in milliseconds (default 2000). */
  pollMs?: number;
}

/** Starts the server on 127.0.0.1; resolves once it listens. */
export async function serveRuns(rootDir: string, opts: ServeOptions = {}): Promise<{ server: Server; url: string }> {
  const root = resolve(rootDir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`serveRuns: '${rootDir}' is not a folder`);
  const page = PAGE.replace('__POLL__', String(opts.pollMs ?? 2000)).replace('__ROOT__', JSON.stringify(root).replace(/</g, '\\u003c'));
  let port = 0;
  const send = (res: ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(res, 403, 'text/plain', `normlab serve answers requests for 127.0.0.1:${port} only, not '${host}'\n`);
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'GET only\n');
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', page);
    if (url.pathname === '/api/runs') return send(res, 200, 'application/json', JSON.stringify(listRuns(root)));
    if (url.pathname === '/api/charts') return send(res, 200, 'application/json', JSON.stringify(await runCharts(root, url.searchParams.getAll('run'))));
    return send(res, 404, 'text/plain', 'not found\n');
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => send(res, 500, 'text/plain', `${e.message}\n`));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 8090, '127.0.0.1', () => ok());
  });
  port = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}/` };
}

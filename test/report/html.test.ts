import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildRunReport, reportCommand, readRun } from '../../src/report/html.js';
import { quantileBoxChart } from '../../src/report/charts.js';
import { writeRun, writeSeed001Runs } from '../helpers/runs.js';
import { markCounts } from '../helpers/svg.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'normlab-report-'));

describe('buildRunReport', () => {
  it('writes one self-contained report comparing labelled groups with curves, tables and a t-test', async () => {
    const root = tmp();
    const dirs = writeSeed001Runs(root);
    const out = join(root, 'out', 'report.html');
    const r = await buildRunReport(dirs, out, {
      title: 'BN scale init',
      charts: [{ title: 'quantiles', spec: quantileBoxChart([{ layer: 'bn1', min: -3, p1: -2, q1: -1, median: 0, q3: 1, p99: 2, max: 9 }]) }],
      images: [{ title: 'Misclassified', cells: [{ image: new Float32Array(4), shape: [1, 2, 2], caption: '#1: 3 (true 5)' }] }],
      notes: ['Seed 001 trains for 200 epochs; these runs are synthetic.'],
    });
    assert.equal(r.runs.length, 10);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<title>BN scale init<\/title>/);
    for (const h of ['Configuration', 'Results', 'Significance', 'Curves', 'Charts', 'Misclassified', 'Notes']) assert.match(html, new RegExp(`<h2>${h}</h2>`));
    // The t-test row: scipy says t = 2.0104621463629013, p = 0.05736922817727608 for these pairs.
    assert.match(html, /<td>bn_c100<\/td><td>bn<\/td><td class="num">5<\/td><td>0\.340 pp<\/td><td class="num">2\.0105<\/td><td class="num">0\.0574<\/td>/);
    assert.match(html, /<td>no<\/td>/);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    assert.equal(svgs.length, 4);
    assert.equal(markCounts(svgs[0]).line, 6, 'accuracy: 2 groups x 3 splits');
    assert.match(html, /src="data:image\/png;base64,/);
    assert.doesNotMatch(html, /(src|href)="(?!data:)|url\((?!#|data:)|@import|<script|<link/);
    assert.deepEqual(readdirSync(join(root, 'out')), ['report.html'], 'written atomically, no temp file left');
  });

  it('labels runs by directory name without config.label and writes TensorBoard files on request', async () => {
    const root = tmp();
    const a = writeRun(root, 'alpha', { seed: 1 }, 0.9);
    const out = join(root, 'r.html');
    await buildRunReport([a], out, { tensorboard: true });
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<td>alpha<\/td>/);
    assert.match(html, /One group only/);
    assert.equal(readdirSync(join(root, 'tensorboard', 'alpha', 'alpha')).filter((f) => f.startsWith('events.out.tfevents.')).length, 1);
  });

  it('names the directory and file that is missing, malformed or empty', async () => {
    const root = tmp();
    const d = writeRun(root, 'run1', {}, 0.8);
    assert.throws(() => readRun(join(root, 'nope')), /run directory '.*nope' does not exist/);
    rmSync(join(d, 'results.json'));
    assert.throws(() => readRun(d), /run directory '.*run1' has no results\.json/);
    writeFileSync(join(d, 'metrics.jsonl'), '');
    assert.throws(() => readRun(d), /metrics\.jsonl in run directory '.*run1' is empty/);
    writeFileSync(join(d, 'metrics.jsonl'), '{"epoch":1,"train_loss":1,"train_acc":0.5}\n{"epoch":2,\n');
    assert.throws(() => readRun(d), /metrics\.jsonl in run directory '.*run1' is malformed at line 2/);
    writeFileSync(join(d, 'config.json'), '[1]');
    assert.throws(() => readRun(d), /config\.json in run directory '.*run1' is malformed: expected a JSON object/);
    await assert.rejects(buildRunReport([], join(root, 'x.html')), /at least one run directory/);
  });
});

describe('reportCommand', () => {
  it('writes the report given on --out and returns 0', async () => {
    const root = tmp();
    const dirs = writeSeed001Runs(root);
    const out = join(root, 'cmp.html');
    const lines: string[] = [];
    assert.equal(await reportCommand([...dirs, '--out', out, '--title', 'cmp'], { out: (s) => lines.push(s), err: (s) => lines.push(s) }), 0);
    assert.ok(existsSync(out));
    assert.match(lines.join(''), /wrote .*cmp\.html \(10 runs\)/);
  });

  it('returns 2 with a clear message for unknown flags, no directories or a bad alpha, and 1 for a bad run', async () => {
    const errs: string[] = [];
    const io = { out: () => undefined, err: (s: string) => errs.push(s) };
    assert.equal(await reportCommand(['run1', '--colour', 'red'], io), 2);
    assert.match(errs.join(''), /unknown option '--colour'/);
    assert.equal(await reportCommand([], io), 2);
    assert.match(errs.join(''), /missing required argument 'runDir'/);
    assert.equal(await reportCommand(['run1', '--alpha', '2'], io), 2);
    assert.match(errs.join(''), /--alpha must be a number in \(0, 1\), got '2'/);
    assert.equal(await reportCommand([join(tmp(), 'missing')], io), 1);
    assert.match(errs.join(''), /run directory '.*missing' does not exist/);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, STACK_LINE } from '../helpers/cli.js';
import { rgbFolder } from '../helpers/images.js';
import { openRunDir, LOCK_FILE, RunDirError } from '../../src/train/runDir.js';

const TINY = ['train', '--network', 'fbn-mnist', '--train-limit', '64', '--test-limit', '32', '--batch-size', '32', '--progress', 'none'];
const tmp = (): string => mkdtempSync(join(tmpdir(), 'normlab-rundir-'));

describe('run directories', () => {
  it('refuses a non-empty --out without --resume or --overwrite, and --overwrite replaces the run', async () => {
    const out = join(tmp(), 'run');
    assert.equal((await runCli([...TINY, '--epochs', '2', '--out', out])).status, 0);
    const refused = await runCli([...TINY, '--epochs', '1', '--out', out]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--out: '.*run' already holds files \(best\.safetensors, checkpoints, config\.json.*\); pass --resume to continue the run there, --overwrite to replace it/);
    assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
    const replaced = await runCli([...TINY, '--epochs', '1', '--out', out, '--overwrite']);
    assert.equal(replaced.status, 0, replaced.stderr);
    assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 1);
    assert.deepEqual(readdirSync(join(out, 'checkpoints')), ['epoch-0001']);
  });

  it('keeps an existing metrics.jsonl when a later command into the same --out fails', async () => {
    const data = tmp();
    await rgbFolder(data);
    const out = join(tmp(), 'run');
    assert.equal((await runCli([...TINY, '--epochs', '1', '--out', out])).status, 0);
    const before = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
    for (const extra of [[], ['--overwrite'], ['--resume']]) {
      // The MNIST network takes 28 x 28 images; the folder is decoded at 64 x 64.
      const r = await runCli(['train', '--dataset', 'folder', '--data-dir', data, '--network', 'lenet5', '--progress', 'none', '--out', out, ...extra]);
      assert.notEqual(r.status, 0, `${extra.join(' ')} succeeded`);
      assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), before, `${extra.join(' ')} changed metrics.jsonl`);
      assert.doesNotMatch(r.stderr, STACK_LINE);
    }
  });

  it('refuses a second training into a locked --out, naming the first, and takes over a stale lock', async () => {
    const out = tmp();
    const lock = join(out, LOCK_FILE);
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), started: '2026-01-01T00:00:00.000Z', command: 'normlab train --out elsewhere' }));
    const r = await runCli([...TINY, '--out', out]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`is in use by another training \\(pid ${process.pid} on ${hostname()}, started 2026-01-01T00:00:00.000Z: normlab train --out elsewhere\\)`));
    assert.ok(!existsSync(join(out, 'config.json')));
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lock, JSON.stringify({ pid: gone, host: hostname(), started: '2026-01-01T00:00:00.000Z', command: 'normlab train' }));
    const ok = await runCli([...TINY, '--out', out, '--resume']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(!existsSync(lock), 'the lock is released at the end');
  });

  it('holds the lock while training, so two trainings into one --out cannot interleave', async () => {
    const out = tmp();
    const first = runCli([...TINY, '--train-limit', '4000', '--epochs', '50', '--out', out]);
    for (let i = 0; i < 200 && !existsSync(join(out, LOCK_FILE)); i++) await new Promise((r) => setTimeout(r, 50));
    const pid = (JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')) as { pid: number }).pid;
    const second = await runCli([...TINY, '--epochs', '1', '--out', out, '--overwrite']);
    assert.equal(second.status, 2);
    assert.match(second.stderr, new RegExp(`in use by another training \\(pid ${pid} `));
    process.kill(pid, 'SIGKILL');
    await first;
  });

  it('refuses --resume with changed training flags, listing each, unless --allow-config-change', async () => {
    const out = join(tmp(), 'run');
    assert.equal((await runCli([...TINY, '--epochs', '1', '--lr', '0.05', '--out', out])).status, 0);
    const r = await runCli([...TINY, '--epochs', '2', '--lr', '0.1', '--batch-size', '16', '--norm', 'fbn', '--out', out, '--resume']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--resume: the run in '.*run' was trained with other settings:/);
    assert.match(r.stderr, /batchSize: 32 \(stored\) → 16 \(now\)/);
    assert.match(r.stderr, /lr: 0\.05 \(stored\) → 0\.1 \(now\)/);
    assert.match(r.stderr, /norm: "bn" \(stored\) → \{kind: "fbn", threshold: 4\} \(now\)/);
    assert.match(r.stderr, /--allow-config-change/);
    assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 1);
    // More epochs with a constant schedule is the same training, longer: no flag needed.
    const longer = await runCli([...TINY, '--epochs', '2', '--lr', '0.05', '--out', out, '--resume']);
    assert.equal(longer.status, 0, longer.stderr);
    const changed = await runCli([...TINY, '--epochs', '3', '--lr', '0.1', '--out', out, '--resume', '--allow-config-change']);
    assert.equal(changed.status, 0, changed.stderr);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { lr: number; epochs: number; config_changes: { changes: string[] }[] };
    assert.equal(cfg.lr, 0.1);
    assert.deepEqual(cfg.config_changes.map((c) => c.changes), [['lr: 0.05 (stored) → 0.1 (now)']]);
    assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 3);
  });

  it('fails at once, naming the path and the OS error, for an --out that cannot be created or is a file', async () => {
    const t0 = Date.now();
    const proc = await runCli([...TINY, '--out', '/proc/normlab-run'], {}, 30_000);
    assert.equal(proc.status, 2, `status ${proc.status}, signal ${proc.signal}: a hang is killed after 30 s`);
    assert.match(proc.stderr, /--out: cannot create directory '\/proc\/normlab-run': ENOENT/);
    assert.ok(Date.now() - t0 < 30_000);
    const file = join(tmp(), 'file.txt');
    writeFileSync(file, 'x');
    const f = await runCli([...TINY, '--out', file]);
    assert.equal(f.status, 2);
    assert.match(f.stderr, /--out: '.*file\.txt' is a file, expected a directory for the run/);
    const under = await runCli([...TINY, '--out', join(file, 'run')]);
    assert.equal(under.status, 2);
    assert.match(under.stderr, /file\.txt' exists and is not a directory \(needed as a parent of/);
  });

  it('removes temp files of dead processes when it opens a run directory, and keeps those of live ones', () => {
    const out = tmp();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    mkdirSync(join(out, 'checkpoints', `epoch-0002.tmp-${gone}-1`), { recursive: true });
    writeFileSync(join(out, `metrics.jsonl.tmp-${gone}-1`), '');
    writeFileSync(join(out, `eval.json.tmp-${process.pid}-1`), '');
    const dir = openRunDir(out, { resume: true });
    dir.release();
    assert.deepEqual(readdirSync(out).sort(), ['checkpoints', `eval.json.tmp-${process.pid}-1`]);
    assert.deepEqual(readdirSync(join(out, 'checkpoints')), []);
    assert.throws(() => openRunDir(out), RunDirError);
  });
});

// Fault injection: `normlab train` killed with SIGKILL at every step that writes or renames a file
// of its run (src/io/faults.ts), then resumed, must end with exactly the weights and metrics of
// an uninterrupted run, and leave no temp file or lock behind.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { inPool, runCli } from '../helpers/cli.js';

// A tiny run: 64 digits, 2 epochs of 2 batches, so each process takes about a second.
const ARGS = ['train', '--network', 'fbn-mnist', '--norm', 'bn', '--epochs', '2', '--train-limit', '64', '--test-limit', '32',
  '--batch-size', '32', '--lr', '0.05', '--momentum', '0.9', '--progress', 'none'];

const TIMING = new Set(['seconds', 'samples_per_sec', 'total_seconds']);
const stripTiming = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(stripTiming);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !TIMING.has(k)).map(([k, x]) => [k, stripTiming(x)]));
  return v;
};
const metrics = (dir: string): unknown => stripTiming(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown));
const results = (dir: string): unknown => stripTiming(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')));

function allFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? [`${prefix}${n}/`, ...allFiles(join(dir, n), `${prefix}${n}/`)] : [`${prefix}${n}`]));
}

describe('normlab train killed at each checkpoint-write step', () => {
  const root = mkdtempSync(join(tmpdir(), 'normlab-faults-'));
  const ref = join(root, 'ref');
  let steps: string[] = [];

  before(async () => {
    const trace = join(root, 'trace.txt');
    const r = await runCli([...ARGS, '--out', ref], { NORMLAB_FAULT_TRACE: trace });
    assert.equal(r.status, 0, r.stderr);
    steps = readFileSync(trace, 'utf8').trim().split('\n');
  });

  it('passes through every write and rename of config, checkpoint sets, links, metrics and results', () => {
    for (const s of ['before write config.json', 'before write epoch-0001/model.safetensors', 'after write epoch-0002/optimizer.safetensors',
      'before rename epoch-0002', 'after rename epoch-0002', 'after link best.safetensors (before its rename)', 'before remove epoch-0001',
      'after rename metrics.jsonl', 'after rename results.json']) {
      assert.ok(steps.includes(s), `no fault point '${s}' in ${steps.join(' | ')}`);
    }
  });

  it('resumes to the weights and metrics of an uninterrupted run, bit for bit, after a kill at any step', async () => {
    const refLast = readFileSync(join(ref, 'last.safetensors'));
    const refBest = readFileSync(join(ref, 'best.safetensors'));
    const failures = await inPool(steps.map((step, i) => async (): Promise<string | null> => {
      const dir = join(root, `kill-${i + 1}`);
      const killed = await runCli([...ARGS, '--out', dir], { NORMLAB_FAULT_KILL_AT: String(i + 1) });
      if (killed.signal !== 'SIGKILL') return `step ${i + 1} (${step}): the run was not killed (status ${killed.status}, ${killed.stderr})`;
      const resumed = await runCli([...ARGS, '--out', dir, '--resume']);
      if (resumed.status !== 0) return `step ${i + 1} (${step}): resume failed: ${resumed.stderr}`;
      try {
        assert.ok(readFileSync(join(dir, 'last.safetensors')).equals(refLast), 'last.safetensors differs');
        assert.ok(readFileSync(join(dir, 'best.safetensors')).equals(refBest), 'best.safetensors differs');
        assert.deepEqual(metrics(dir), metrics(ref));
        assert.deepEqual(results(dir), results(ref));
        // TensorBoard event files carry their start time in the name (as TensorBoard's own writers do),
        // and a resumed run appends a second one: compare the folder, not those names.
        const files = (d: string): string[] => allFiles(d).filter((f) => !f.startsWith('tensorboard/events.out.tfevents.')).sort();
        assert.deepEqual(files(dir), files(ref), 'the files of the run differ (a temp file, lock or old checkpoint left?)');
      } catch (err) {
        return `step ${i + 1} (${step}): ${(err as Error).message}`;
      }
      return null;
    }), 2);
    assert.deepEqual(failures.filter((f) => f !== null), []);
  });
});

// Sweeps under faults: a worker or its run process killed with SIGKILL while writing a result, a
// payload that is not JSON, Redis dying under `sweep status --wait`, ids that would escape folders.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Redis } from 'ioredis';
import { expand, type RunRecord, type RunSpec } from '../../src/experiments/experiment.js';
import { getExperiment } from '../../src/experiments/registry.js';
import { resolveConfig } from '../../src/experiments/runExperiment.js';
import { runDirName } from '../../src/experiments/execute.js';
import { connectRedis } from '../../src/sweep/redisUrl.js';
import { enqueueSweep } from '../../src/sweep/queue.js';
import { jobId, QUEUE, sweepKeys } from '../../src/sweep/keys.js';
import { parseJob, splitJobId } from '../../src/sweep/schema.js';
import { sweepStatus } from '../../src/sweep/status.js';
import { redisMissing, startRedis, type LocalRedis } from '../helpers/redis.js';
import { CLI, runCli, STACK_LINE } from '../helpers/cli.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const TIMING = new Set(['seconds', 'samples_per_sec', 'total_seconds']);
const stripTiming = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(stripTiming);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !TIMING.has(k)).map(([k, x]) => [k, stripTiming(x)]));
  return v;
};

async function waitFor(what: string, timeoutMs: number, ok: () => Promise<boolean>): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

function startWorker(url: string, artifacts: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI, 'worker', '--redis', url, '--threads', '1', '--lock-ms', '1000', '--no-warm-up', '--artifacts', artifacts],
    { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, ...env } });
}

async function stop(w: ChildProcess): Promise<void> {
  if (w.exitCode !== null || w.signalCode !== null) return;
  const done = new Promise((r) => w.once('exit', r));
  w.kill('SIGTERM');
  await done;
}

describe('sweep ids and payloads', () => {
  it('rejects sweep ids that would name a parent or hidden folder, before connecting', async () => {
    for (const id of ['..', '../x', 'a/b', '.hidden', 'a..b']) {
      const r = await runCli(['sweep', 'status', id, '--redis', 'redis://127.0.0.1:1']);
      assert.equal(r.status, 2, id);
      assert.match(r.stderr, /<sweep-id>: a sweep id is 1-80 letters, digits, '\.', '_' or '-', not starting with '\.' and without '\.\.', got/);
      const rep = await runCli(['sweep', 'report', id, '--redis', 'redis://127.0.0.1:1']);
      assert.equal(rep.status, 2, id);
    }
    const [spec] = expand(getExperiment('fbn-batch-sweep'), resolveConfig('fbn-batch-sweep', { mode: 'quick', sets: ['batchSizes=64', 'thresholds=2'] }));
    assert.match((parseJob({ sweep: '..', spec }) as Error).message, /invalid job payload/);
    assert.deepEqual(parseJob({ sweep: 'ok.1', spec }), { sweep: 'ok.1', spec });
    assert.deepEqual(splitJobId(jobId('a.b', spec.id)), { sweep: 'a.b', runId: spec.id });
    assert.equal(splitJobId('../x.0123456789abcdef'), null);
  });
});

const missing = redisMissing();

describe('sweeps under faults', { skip: missing ?? false }, () => {
  let redis: LocalRedis;
  let client: Redis;
  let spec: RunSpec;
  let config: ReturnType<typeof resolveConfig>;
  const exp = getExperiment('fbn-batch-sweep');
  const root = mkdtempSync(join(tmpdir(), 'normlab-sweep-faults-'));
  const workers: ChildProcess[] = [];

  before(async () => {
    redis = await startRedis();
    client = await connectRedis(redis.url, { retry: 'once' });
    config = resolveConfig(exp.name, { mode: 'quick', sets: ['batchSizes=64', 'thresholds=2', 'epochs=2'] });
    spec = expand(exp, config)[0];
  });
  after(async () => {
    for (const w of workers) await stop(w);
    client?.disconnect();
    redis?.stop();
  });

  const record = async (sweep: string): Promise<RunRecord | null> => {
    const v = await client.hget(sweepKeys(sweep).results, spec.id);
    return v === null ? null : (JSON.parse(v) as RunRecord);
  };

  /** Runs the sweep's one run with a worker whose process tree is killed once at killAt; returns the stored record. */
  async function runWithKill(sweep: string, killAt: string | null): Promise<RunRecord> {
    const artifacts = join(root, sweep);
    await enqueueSweep(client, { experiment: exp.name, mode: 'quick', config, specs: [spec], name: sweep, backoffMs: 100 });
    const once = join(root, `${sweep}.killed`);
    const w1 = startWorker(redis.url, artifacts, killAt === null ? {} : { NORMLAB_FAULT_KILL_AT: killAt, NORMLAB_FAULT_ONCE: once });
    workers.push(w1);
    if (killAt?.includes('store')) {
      // The worker itself dies: another one takes the job once its lock has expired.
      await waitFor(`the worker to be killed at ${killAt}`, 60_000, async () => w1.signalCode === 'SIGKILL');
      workers.push(startWorker(redis.url, artifacts));
    }
    await waitFor(`the result of ${sweep}`, 90_000, async () => (await record(sweep)) !== null && (await client.hlen(sweepKeys(sweep).running)) === 0);
    if (killAt !== null) assert.ok(existsSync(once), `nothing was killed at ${killAt}`);
    for (const w of workers.splice(0)) await stop(w);
    const runDir = join(artifacts, sweep, runDirName(spec));
    assert.deepEqual(readdirSync(runDir).filter((n) => n.includes('.tmp-') || n === '.normlab-lock'), [], `temp files left in ${runDir}`);
    assert.equal(await client.hlen(sweepKeys(sweep).stored), 1);
    assert.equal((await sweepStatus(client, sweep)).failed, 0);
    return (await record(sweep))!;
  }

  it('stores the result of an uninterrupted run exactly once, also when a worker or its run process is killed while writing it', async () => {
    const ref = stripTiming(await runWithKill('fault-ref', null));
    const points = ['before write record.json#1', 'after write record.json (before its rename)#1', 'after rename record.json#1', 'before store result#1', 'after store result#1'];
    for (const [i, p] of points.entries()) {
      const got = stripTiming(await runWithKill(`fault-${i}`, p));
      assert.deepEqual(got, ref, `after a kill at ${p}`);
    }
  });

  it('fails a job whose payload is not valid JSON, and sweep status shows why', async () => {
    await enqueueSweep(client, { experiment: exp.name, mode: 'quick', config, specs: [spec], name: 'bad-json' });
    await client.hset(`bull:${QUEUE}:${jobId('bad-json', spec.id)}`, 'data', '{"sweep": "bad-json", "spec": ');
    workers.push(startWorker(redis.url, join(root, 'bad-json')));
    await waitFor('the failure', 60_000, async () => (await sweepStatus(client, 'bad-json')).failed === 1);
    const s = await sweepStatus(client, 'bad-json');
    assert.match(s.failures[spec.id], /job payload is not valid JSON \(.*JSON.*\): "\{\\"sweep\\": \\"bad-json\\", \\"spec\\": "/);
    const cli = await runCli(['sweep', 'status', 'bad-json', '--redis', redis.url]);
    assert.equal(cli.status, 1);
    assert.match(cli.stdout, new RegExp(`failed ${spec.id}: job payload is not valid JSON`));
    for (const w of workers.splice(0)) await stop(w);
  });

  it('exits non-zero with one line naming the URL when Redis dies under sweep status --wait', async () => {
    const other = await startRedis();
    const c = await connectRedis(other.url, { retry: 'once' });
    await enqueueSweep(c, { experiment: exp.name, mode: 'quick', config, specs: [spec], name: 'dies' });
    c.disconnect();
    const child = spawn(process.execPath, [CLI, 'sweep', 'status', 'dies', '--wait', '--redis', other.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitFor('the first status line', 20_000, async () => stdout.includes('0/1 done'));
    other.stop();
    const code = await exited;
    assert.equal(code, 1);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], new RegExp(`lost the connection to Redis at redis://127\\.0\\.0\\.1:${other.port} \\(gave up after 6 retries\\): .*ECONNREFUSED`));
    assert.doesNotMatch(stderr, STACK_LINE);
  });
});

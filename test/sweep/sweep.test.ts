import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { expand, runId, type RunRecord } from '../../src/experiments/experiment.js';
import { getExperiment } from '../../src/experiments/registry.js';
import { resolveConfig, runExperiment } from '../../src/experiments/runExperiment.js';
import { connectRedis, maskSecrets, maskUrl } from '../../src/sweep/redisUrl.js';
import { parseJob } from '../../src/sweep/schema.js';
import { enqueueSweep } from '../../src/sweep/queue.js';
import { QUEUE, sweepKeys } from '../../src/sweep/keys.js';
import { formatStatus, storedSweep, sweepStatus, writeSweepReport } from '../../src/sweep/status.js';
import { freePort, redisMissing, startRedis, type LocalRedis } from '../helpers/redis.js';

const CLI = join(process.cwd(), 'bin', 'normlab.js');
// 2 batch sizes x (BN + 3 thresholds) x 1 seed = 8 quick runs of 6 epochs (a second or two each,
// checkpointed every epoch, so a killed run resumes mid-way).
const SETS = ['batchSizes=64,32', 'thresholds=2,4,5', 'epochs=6'];
const setArgs = SETS.flatMap((s) => ['--set', s]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, timeoutMs: number, ok: () => Promise<boolean>): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

interface WorkerProc {
  proc: ChildProcess;
  log: () => string;
}

function startWorkerProc(url: string, artifacts: string): WorkerProc {
  const proc = spawn(process.execPath, [CLI, 'worker', '--redis', url, '--threads', '1', '--lock-ms', '2000', '--artifacts', artifacts], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  return { proc, log: () => text };
}

describe('sweep job payloads and Redis URLs', () => {
  const spec = expand(getExperiment('fbn-batch-sweep'), resolveConfig('fbn-batch-sweep', { mode: 'quick', sets: SETS }))[0];

  it('accepts a spec produced by expand and rejects anything else', () => {
    assert.deepEqual(parseJob({ sweep: 's1', spec }), { sweep: 's1', spec });
    assert.match((parseJob({ sweep: 's1', spec: { ...spec, id: '0123456789abcdef' } }) as Error).message, /not the hash of its content/);
    assert.match((parseJob({ sweep: 's1', spec: { ...spec, experiment: 'rm -rf' } }) as Error).message, /invalid job payload/);
    assert.match((parseJob({ sweep: 's1', spec, code: 'process.exit()' }) as Error).message, /invalid job payload/);
    assert.match((parseJob({ sweep: 'a:b', spec }) as Error).message, /invalid job payload/);
    const withPath = { ...spec, train: { ...spec.train, dataDir: '/etc' } };
    assert.match((parseJob({ sweep: 's1', spec: { ...withPath, id: runId(spec.experiment, withPath) } }) as Error).message, /invalid job payload/);
    assert.ok(parseJob('{"sweep":"s1"}') instanceof Error);
  });

  it('masks the password of a URL in every message', () => {
    assert.equal(maskUrl('redis://:s3cret@host:6380/2'), 'redis://:***@host:6380/2');
    assert.equal(maskUrl('rediss://user:s3cret@host:6380'), 'rediss://user:***@host:6380');
    assert.equal(maskUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
    assert.equal(maskSecrets('auth s3cret failed for redis://:s3cret@h:1', 'redis://:s3cret@h:1'), 'auth *** failed for redis://:***@h:1');
  });

  it('names the masked URL when Redis cannot be reached, and exits with an error from the command line', async () => {
    const port = await freePort();
    const url = `redis://:hunter2@127.0.0.1:${port}/1`;
    await assert.rejects(connectRedis(url, { retry: 'once' }), (err: Error) => {
      assert.match(err.message, new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/1`));
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
    const r = spawnSync(process.execPath, [CLI, 'sweep', 'status', 'x', '--redis', url], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /cannot reach Redis at redis:\/\/:\*\*\*@127/);
    assert.doesNotMatch(r.stderr + r.stdout, /hunter2/);
    const fromEnv = spawnSync(process.execPath, [CLI, 'sweep', 'status', 'x'], { encoding: 'utf8', env: { ...process.env, NORMLAB_REDIS_URL: url } });
    assert.match(fromEnv.stderr, /cannot reach Redis at redis:\/\/:\*\*\*@127/);
    const bad = spawnSync(process.execPath, [CLI, 'sweep', 'status', 'x', '--redis', 'http://:hunter2@h'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.doesNotMatch(bad.stderr, /hunter2/);
  });
});

const missing = redisMissing();

describe('sweeps on Redis with worker processes', { skip: missing ?? false }, () => {
  let redis: LocalRedis;
  let client: Redis;
  const workers: WorkerProc[] = [];
  const artifacts = mkdtempSync(join(tmpdir(), 'normlab-sweep-art-'));

  before(async () => {
    redis = await startRedis('pa55word');
    client = await connectRedis(redis.url, { retry: 'once' });
  });
  after(async () => {
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGTERM');
    await sleep(200);
    client?.disconnect();
    redis?.stop();
  });

  it('runs 8 runs on 2 workers, survives a SIGKILLed worker, stores each result once and reports as the local pool does', async () => {
    workers.push(startWorkerProc(redis.url, artifacts), startWorkerProc(redis.url, artifacts));
    const enqueue = (): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [CLI, 'sweep', 'fbn-batch-sweep', ...setArgs, '--seeds', '1', '--redis', redis.url, '--name', 'kill-test'], { encoding: 'utf8' });
    const first = enqueue();
    assert.equal(first.status, 0, String(first.stderr));
    assert.equal(String(first.stdout).trim(), 'kill-test');
    assert.match(String(first.stderr), /8 run\(s\), 8 newly queued/);
    assert.match(String(enqueue().stderr), /8 run\(s\), 0 newly queued/);
    const keys = sweepKeys('kill-test');

    await waitFor('the first result', 60_000, async () => (await client.hlen(keys.results)) >= 1);
    // Kill the worker that holds a job right now (its lock then expires and the other takes it).
    let victim: WorkerProc | undefined;
    let victimRun = '';
    await waitFor('a running job', 20_000, async () => {
      for (const [run, v] of Object.entries(await client.hgetall(keys.running))) {
        const pid = (JSON.parse(v) as { worker: string }).worker.split(':').pop();
        victim = workers.find((w) => String(w.proc.pid) === pid);
        victimRun = run;
        if (victim !== undefined) return true;
      }
      return false;
    });
    victim!.proc.kill('SIGKILL');
    const killedAt = await client.hlen(keys.results);
    assert.ok(killedAt < 8, 'the kill came after the last run');

    await waitFor('8 results', 80_000, async () => (await client.hlen(keys.results)) === 8);
    // A worker logs "stored" after the store returns: wait for the lines, then count them.
    const storedLines = (): number => (workers.map((w) => w.log()).join('').match(/ stored \(test acc/g) ?? []).length;
    await waitFor('8 "stored" log lines', 20_000, async () => storedLines() >= 8);
    await sleep(500);
    const logs = workers.map((w) => w.log()).join('');
    assert.equal(storedLines(), 8, logs);
    const survivor = workers.find((w) => w !== victim)!;
    assert.match(survivor.log(), new RegExp(`run ${victimRun} .* started`), 'the killed run was taken over');
    assert.doesNotMatch(logs, /pa55word/);
    const status = await sweepStatus(client, 'kill-test');
    assert.deepEqual([status.total, status.done, status.running, status.queued, status.failed], [8, 8, 0, 0, 0]);
    assert.match(formatStatus(status), /\[#{30}\] 8\/8 done, 0 running, 0 queued, 0 failed, finished/);
    // --wait on a finished sweep prints its status once and returns.
    const waited = spawnSync(process.execPath, [CLI, 'sweep', 'status', 'kill-test', '--wait', '--redis', redis.url], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(waited.status, 0, waited.stderr);
    assert.match(waited.stdout, /^kill-test \(fbn-batch-sweep\) \[#{30}\] 8\/8 done, 0 running, 0 queued, 0 failed, finished\n$/);

    const outSweep = mkdtempSync(join(tmpdir(), 'normlab-sweep-rep-'));
    const report = spawnSync(process.execPath, [CLI, 'sweep', 'report', 'kill-test', '--redis', redis.url, '--out', outSweep], { encoding: 'utf8' });
    assert.equal(report.status, 0, report.stderr);
    assert.equal(report.stdout.trim(), join(outSweep, 'report.html'));

    const local = await runExperiment('fbn-batch-sweep', { mode: 'quick', sets: SETS, seeds: 1, out: mkdtempSync(join(tmpdir(), 'normlab-sweep-local-')) });
    const stored = await storedSweep(client, 'kill-test');
    const finals = (rs: RunRecord[]) => rs.map((r) => [r.spec.id, r.results.final.test_acc, r.results.final.train_acc]);
    assert.deepEqual(finals(stored.records), finals(local.records));
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(stored.records[i].results.final.test_loss - local.records[i].results.final.test_loss) < 1e-4);
    // The tables of both reports, without the seconds column (wall time differs).
    const tables = (f: string) => (readFileSync(f, 'utf8').match(/<table>[\s\S]*?<\/table>/g) ?? []).map((t) => t.replace(/[\d.]+ s</g, 's<'));
    assert.equal(tables(local.report).length, 2);
    assert.deepEqual(tables(join(outSweep, 'report.html')), tables(local.report));
  });

  it('marks a run that throws as failed after its attempts and rejects a payload that is not a run, and the sweep goes on', async () => {
    const alive = workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null);
    if (alive.length === 0) workers.push(startWorkerProc(redis.url, artifacts));
    const exp = getExperiment('fbn-batch-sweep');
    const config = resolveConfig('fbn-batch-sweep', { mode: 'quick', sets: ['batchSizes=64', 'thresholds=2'] });
    const [good, other] = expand(exp, config);
    const { id: _id, experiment: _e, ...rest } = other;
    const broken = { ...rest, train: { ...rest.train, network: 'no-such-network' } };
    const bad = { ...broken, experiment: exp.name, id: runId(exp.name, broken) };
    const queue = new Queue(QUEUE, { connection: client });
    await queue.add('run', { sweep: 'evil', spec: { id: 'x', code: 'process.exit(1)' } }, { jobId: 'evil-1', removeOnFail: false });
    const r = await enqueueSweep(client, { experiment: exp.name, mode: 'quick', config, specs: [bad, good], name: 'fail-test', backoffMs: 100 });
    assert.deepEqual(r, { sweep: 'fail-test', total: 2, added: 2 });
    await waitFor('one failure and one result', 60_000, async () => {
      const s = await sweepStatus(client, 'fail-test');
      return s.failed === 1 && s.done === 1;
    });
    const s = await sweepStatus(client, 'fail-test');
    assert.match(s.failures[bad.id], /no-such-network/);
    const logs = workers.map((w) => w.log()).join('');
    assert.match(logs, /attempt 1 failed, will retry: .*no-such-network/);
    assert.match(logs, /: failed: .*no-such-network/);
    await waitFor('the rejected payload', 10_000, async () => (await queue.getJobState('evil-1')) === 'failed');
    const evil = await queue.getJob('evil-1');
    assert.match(evil!.failedReason, /invalid job payload/);
    assert.equal(evil!.attemptsMade, 1);
    await queue.close();
    const out = mkdtempSync(join(tmpdir(), 'normlab-sweep-rep-'));
    await assert.rejects(writeSweepReport(client, 'fail-test', out), /1 of 2 run\(s\) have no result yet/);
  });
});

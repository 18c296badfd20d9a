import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { expand } from '../../src/experiments/experiment.js';
import { getExperiment } from '../../src/experiments/registry.js';
import { resolveConfig } from '../../src/experiments/runExperiment.js';
import { longestFirst } from '../../src/experiments/schedule.js';
import { connectRedis } from '../../src/sweep/redisUrl.js';
import { enqueueSweep } from '../../src/sweep/queue.js';
import { QUEUE, sweepKeys } from '../../src/sweep/keys.js';
import { startWorker } from '../../src/sweep/worker.js';
import { waitForSweep } from '../../src/sweep/status.js';
import { redisMissing, startRedis, type LocalRedis } from '../helpers/redis.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const missing = redisMissing();

describe('sweep scheduling on Redis', { skip: missing ?? false }, () => {
  let redis: LocalRedis;
  let client: Redis;
  const exp = getExperiment('fbn-batch-sweep');

  before(async () => {
    redis = await startRedis();
    client = await connectRedis(redis.url, { retry: 'once' });
  });
  after(() => {
    client?.disconnect();
    redis?.stop();
  });

  it('enqueues the runs longest first', async () => {
    const config = resolveConfig(exp.name, { mode: 'quick', sets: ['batchSizes=64,32', 'thresholds=2,4,5', 'epochs=6'] });
    const specs = expand(exp, config);
    await enqueueSweep(client, { experiment: exp.name, mode: 'quick', config, specs, name: 'order-test' });
    // Take the jobs the way a worker does, without running them: the order a worker gets them in.
    const taker = new Worker(QUEUE, null, { connection: await connectRedis(redis.url, { retry: 'once' }), autorun: false });
    const taken: string[] = [];
    for (let i = 0; i < specs.length; i++) {
      const job = await taker.getNextJob('order-test-token');
      assert.ok(job !== undefined, `job ${i + 1} of ${specs.length}`);
      taken.push((job.data as { spec: { group: string } }).spec.group);
    }
    await taker.close(true);
    assert.deepEqual(taken, longestFirst(specs).map((s) => s.group));
    assert.deepEqual(taken.slice(0, 4), ['bs=32 BN', 'bs=32 FBN T=2', 'bs=32 FBN T=4', 'bs=32 FBN T=5']);
    // The sweep's own run order (reports, status) stays the experiment's.
    assert.deepEqual(JSON.parse((await client.hget(sweepKeys('order-test').meta, 'order'))!), specs.map((s) => s.id));
    await client.del(`bull:${QUEUE}:active`);
  });

  it('reuses a loaded dataset across jobs in one worker, from the warm-up on', async () => {
    const config = resolveConfig(exp.name, { mode: 'quick', sets: ['batchSizes=64', 'thresholds=2,4', 'epochs=1'] });
    const specs = expand(exp, config);
    assert.equal(specs.length, 3);
    const lines: string[] = [];
    const w = startWorker(await connectRedis(redis.url, { retry: 'once' }), { url: redis.url, threads: 1, log: (l) => lines.push(l) });
    try {
      await enqueueSweep(client, { experiment: exp.name, mode: 'quick', config, specs, name: 'cache-test' });
      const t0 = Date.now();
      while ((lines.join('\n').match(/cache-test: run \w+ stored/g) ?? []).length < 3) {
        if (Date.now() - t0 > 120_000) throw new Error(`timed out waiting for 3 stored runs:\n${lines.join('\n')}`);
        await sleep(100);
      }
    } finally {
      await w.close();
    }
    // One run process trains all three. Its warm-up (four short runs on the bundled digits)
    // loaded the train and test splits once and reused them three times, so every job reuses them.
    const counts = lines.filter((l) => / stored /.test(l)).map((l) => /(\d+) loaded, (\d+) reused/.exec(l)?.slice(1).map(Number));
    assert.deepEqual(counts, [[2, 8], [2, 10], [2, 12]], lines.join('\n'));
    assert.equal(await client.hlen(sweepKeys('cache-test').results), 3);
  });
  it('takes the first job without a warm-up when warmUp is false', async () => {
    const config = resolveConfig(exp.name, { mode: 'quick', sets: ['batchSizes=64', 'thresholds=2', 'epochs=1'] });
    const specs = expand(exp, config).slice(0, 1);
    const lines: string[] = [];
    const w = startWorker(await connectRedis(redis.url, { retry: 'once' }), { url: redis.url, threads: 1, warmUp: false, log: (l) => lines.push(l) });
    try {
      await enqueueSweep(client, { experiment: exp.name, mode: 'quick', config, specs, name: 'cold-test' });
      const t0 = Date.now();
      while (!/cold-test: run \w+ stored/.test(lines.join('\n'))) {
        if (Date.now() - t0 > 120_000) throw new Error(`timed out waiting for the stored run:\n${lines.join('\n')}`);
        await sleep(100);
      }
    } finally {
      await w.close();
    }
    // Nothing ran before the job: it loaded both splits itself.
    assert.match(lines.join('\n'), /cold-test: run \w+ stored .*2 loaded, 0 reused/);
  });
  it('announces every stored run on the sweep\'s events channel, which waitForSweep waits on', async () => {
    const config = resolveConfig(exp.name, { mode: 'quick', sets: ['batchSizes=64', 'thresholds=2', 'epochs=1'] });
    const specs = expand(exp, config);
    assert.equal(specs.length, 2);
    const sub = client.duplicate();
    const announced: string[] = [];
    await sub.subscribe(sweepKeys('events-test').events);
    sub.on('message', (_channel: string, id: string) => announced.push(id));
    await enqueueSweep(client, { experiment: exp.name, mode: 'quick', config, specs, name: 'events-test' });
    const seen: number[] = [];
    const w = startWorker(await connectRedis(redis.url, { retry: 'once' }), { url: redis.url, threads: 1, warmUp: false });
    try {
      const s = await waitForSweep(client, 'events-test', { timeoutMs: 120_000, onChange: (st) => seen.push(st.done) });
      assert.equal(s.done, 2);
      assert.deepEqual(seen, [0, 1, 2]);
    } finally {
      await w.close();
      sub.disconnect();
    }
    assert.deepEqual([...announced].sort(), specs.map((sp) => sp.id).sort());
    // A finished sweep: the first read already says so.
    const t0 = Date.now();
    assert.equal((await waitForSweep(client, 'events-test')).done, 2);
    assert.ok(Date.now() - t0 < 1000);
  });
});

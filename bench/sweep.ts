// Sweep scheduling on Redis: throughput of 8 quick fbn-batch-sweep runs (6 epochs) with 1 vs 2 worker
// processes (1 thread each), and the queue's own overhead per run: enqueue -> start (an idle
// worker) and result stored -> visible in `sweep status`. Prints JSON lines with the load average,
// since the runs share the machine with whatever else runs on it.
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { expand } from '../src/experiments/experiment.js';
import { getExperiment } from '../src/experiments/registry.js';
import { resolveConfig } from '../src/experiments/runExperiment.js';
import { connectRedis } from '../src/sweep/redisUrl.js';
import { enqueueSweep } from '../src/sweep/queue.js';
import { sweepKeys } from '../src/sweep/keys.js';
import { sweepStatus } from '../src/sweep/status.js';
import { redisMissing, startRedis } from '../test/helpers/redis.js';

const CLI = join(process.cwd(), 'bin', 'normlab.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

interface Proc {
  proc: ChildProcess;
  log: () => string;
}

async function startWorkers(url: string, n: number): Promise<Proc[]> {
  const ps = Array.from({ length: n }, () => {
    const proc = spawn(process.execPath, [CLI, 'worker', '--redis', url, '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    return { proc, log: () => text };
  });
  while (!ps.every((p) => p.log().includes(': ready'))) await sleep(50);
  return ps;
}

async function stopWorkers(ps: Proc[]): Promise<void> {
  for (const p of ps) p.proc.kill('SIGTERM');
  await Promise.all(ps.map((p) => new Promise((r) => (p.proc.exitCode !== null ? r(null) : p.proc.on('exit', r)))));
}

export async function main(): Promise<void> {
  const why = redisMissing();
  if (why !== null) {
    process.stdout.write(JSON.stringify({ name: 'sweep', skipped: why }) + '\n');
    return;
  }
  const redis = await startRedis();
  const client = await connectRedis(redis.url, { retry: 'once' });
  const exp = getExperiment('fbn-batch-sweep');
  const config = resolveConfig(exp.name, { mode: 'quick', sets: ['batchSizes=64,32', 'thresholds=2,4,5', 'epochs=6'], seeds: 1 });
  const specs = expand(exp, config);
  try {
    const seconds: Record<number, number> = {};
    for (const n of [1, 2]) {
      const ps = await startWorkers(redis.url, n);
      const sweep = `bench-throughput-${n}`;
      const loadBefore = load();
      const t0 = Date.now();
      await enqueueSweep(client, { experiment: exp.name, mode: 'quick', config, specs, name: sweep });
      while ((await client.hlen(sweepKeys(sweep).results)) < specs.length) await sleep(20);
      seconds[n] = (Date.now() - t0) / 1000;
      process.stdout.write(JSON.stringify({ name: 'sweep_throughput', workers: n, threads: 1, runs: specs.length, seconds: seconds[n], runs_per_min: +((60 * specs.length) / seconds[n]).toFixed(2), load_before: loadBefore, load_after: load() }) + '\n');
      await stopWorkers(ps);
    }
    process.stdout.write(JSON.stringify({ name: 'sweep_speedup', workers: 2, speedup: +(seconds[1] / seconds[2]).toFixed(2), goal: 1.7 }) + '\n');

    const ps = await startWorkers(redis.url, 1);
    const toStart: number[] = [];
    const toVisible: number[] = [];
    const statusMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const sweep = `bench-overhead-${i}`;
      await enqueueSweep(client, { experiment: exp.name, mode: 'quick', config, specs: [specs[i]], name: sweep });
      let visibleAt = 0;
      for (;;) {
        const t = performance.now();
        const s = await sweepStatus(client, sweep);
        statusMs.push(performance.now() - t);
        if (s.done === 1) {
          visibleAt = Date.now();
          break;
        }
      }
      const storedAt = Number(await client.hget(sweepKeys(sweep).stored, specs[i].id));
      toVisible.push(visibleAt - storedAt);
      await sleep(300);
    }
    for (const m of ps[0].log().matchAll(/started, attempt \d+, (\d+) ms after enqueue/g)) toStart.push(Number(m[1]));
    await stopWorkers(ps);
    process.stdout.write(JSON.stringify({
      name: 'sweep_overhead', runs: toStart.length, enqueue_to_start_ms: toStart, enqueue_to_start_median_ms: median(toStart),
      stored_to_visible_ms: toVisible, stored_to_visible_median_ms: median(toVisible), status_call_median_ms: +median(statusMs).toFixed(2), goal_ms: 50, load: load(),
    }) + '\n');
  } finally {
    client.disconnect();
    redis.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

// `normlab worker --redis URL`: takes jobs from the shared queue and runs each with executeRun in a
// child process (runProcess.ts: the local pool's run process, which ends when the worker dies), so this process's event loop stays free to renew
// BullMQ's job lock while the native code trains. Results go to the sweep's results hash exactly
// once (HSETNX in a Lua script); with --artifacts the run directory lives in a shared folder, so a
// job picked up again after its worker died resumes from the run's last checkpoint there.
// Without --artifacts a run trains in a private temp folder with no checkpoints (nobody could
// resume from them), and the folder is removed in the background while the next job starts.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, UnrecoverableError, type Job, type JobJsonRaw } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RunRecord } from '../experiments/experiment.js';
import type { DatasetCacheStats } from '../data/cache.js';
import { runDirName } from '../experiments/execute.js';
import { QUEUE, sweepKeys } from './keys.js';
import { parseJob, splitJobId } from './schema.js';
import { faultPoint } from '../io/faults.js';
import { maskSecrets } from './redisUrl.js';
import type { Device } from '../backend/index.js';

export interface WorkerOptions {
  url: string;
  /** Native threads per run (default 1). */
  threads?: number;
  /** Runs at once (default 1). */
  concurrency?: number;
  /** Shared folder for run directories: <artifacts>/<sweep>/<run dir>. Default: a private temp folder, removed after each run. */
  artifacts?: string;
  dataDir?: string;
  /** BullMQ lock duration in ms; a job whose worker stops renewing it is picked up again after about this long (default 30000). */
  lockMs?: number;
  /** Run processes train four quick throw-away runs (about 1.6 s) before taking jobs, so V8 has compiled the hot code before jobs run (default true; see warmUp.ts). */
  warmUp?: boolean;
  /** Where the runs train (default 'cpu'): each run process enables WebGPU itself for 'webgpu'. */
  device?: Device;
  log?: (line: string) => void;
}

interface ChildReply {
  type?: 'ready';
  id: string;
  record?: RunRecord;
  error?: string;
  /** The run process's dataset-cache counts after the run. */
  datasets?: DatasetCacheStats;
}

/** A finished run and its process's dataset-cache counts. */
interface RunReply {
  record: RunRecord;
  datasets?: DatasetCacheStats;
}

const childScript = join(dirname(fileURLToPath(import.meta.url)), 'runProcess.js');

// Stores a result unless one is there and announces it on the sweep's events channel; returns 1
// when this call stored it. KEYS: results, running, stored, failed; ARGV: run id, record JSON,
// now (ms), events channel.
const STORE_ONCE = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[4], ARGV[1])
  redis.call('PUBLISH', ARGV[4], ARGV[1])
  return 1
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 0`;

/**
 * Run processes, one per concurrent run, started with the worker and kept between jobs so a run
 * does not pay for starting Node and loading the engine (about a second, more than a quick run's
 * training). A process that dies is replaced by a fresh one for the next job.
 */
class RunProcesses {
  private idle: ChildProcess[] = [];
  private all = new Set<ChildProcess>();
  /** Resolves when the first `count` processes have loaded the engine. */
  readonly ready: Promise<void>;

  constructor(private readonly threads: number, count: number, private readonly warmUp: boolean, private readonly device: Device = 'cpu') {
    const started = Array.from({ length: count }, () => this.spawn());
    this.idle.push(...started);
    this.ready = Promise.all(started.map((c) => new Promise<void>((resolve) => {
      const onReady = (m: ChildReply): void => {
        if (m.type !== 'ready') return;
        c.off('message', onReady);
        resolve();
      };
      c.on('message', onReady);
      c.once('exit', () => resolve());
    }))).then(() => undefined);
  }

  /** Runs one spec; rejects with the run's own error message. */
  run(data: { spec: RunRecord['spec']; runDir: string; dataDir?: string; checkpoints?: boolean }): Promise<RunReply> {
    const child = this.idle.pop() ?? this.spawn();
    return new Promise((resolve, reject) => {
      const onMessage = (m: ChildReply): void => {
        if (m.type === 'ready') return;
        child.off('exit', onExit);
        child.off('message', onMessage);
        this.idle.push(child);
        if (m.error !== undefined) reject(new Error(m.error));
        else resolve({ record: m.record!, datasets: m.datasets });
      };
      const onExit = (code: number | null, signal: string | null): void => {
        child.off('message', onMessage);
        reject(new Error(`the run process exited (${signal ?? `code ${code}`}) before finishing`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ type: 'run', spec: data.spec, runDir: data.runDir, exec: { threads: this.threads, resume: true, dataDir: data.dataDir, checkpoints: data.checkpoints, device: this.device } });
    });
  }

  /** Asks every run process to exit (call when no run is in progress). */
  close(): void {
    for (const c of this.all) if (c.connected) c.send({ type: 'exit' });
  }

  private spawn(): ChildProcess {
    const child = fork(childScript, [], { env: { ...process.env, NORMLAB_NUM_THREADS: String(this.threads), NORMLAB_WORKER_WARM_UP: this.warmUp ? '1' : '0' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.all.add(child);
    child.once('exit', () => {
      this.all.delete(child);
      this.idle = this.idle.filter((c) => c !== child);
    });
    return child;
  }
}

/** Key of the job data that stands in for a payload BullMQ could not parse; its value says why. */
const UNREADABLE = '__unreadable';

/**
 * BullMQ parses a job's stored data with JSON.parse as it takes the job; a payload that is not JSON
 * makes that throw inside BullMQ's loop, and the job is taken, dropped and stalled again and again
 * without ever reaching the processor. This worker builds such a job with stand-in data saying
 * why, so the processor fails it for good and the failure is recorded like any other.
 */
class SweepWorker extends Worker {
  protected override createJob(data: JobJsonRaw, jobId: string): Job {
    try {
      return super.createJob(data, jobId);
    } catch (err) {
      const reason = `job payload is not valid JSON (${(err as Error).message}): ${JSON.stringify(String(data.data ?? '').slice(0, 80))}`;
      return super.createJob({ ...data, data: JSON.stringify({ [UNREADABLE]: reason }) }, jobId);
    }
  }
}

export interface RunningWorker {
  worker: Worker;
  /** Waits for the jobs in progress, then disconnects. */
  close(): Promise<void>;
}

export function startWorker(client: Redis, o: WorkerOptions): RunningWorker {
  const log = o.log ?? (() => undefined);
  const threads = o.threads ?? 1;
  const name = `${hostname()}:${process.pid}`;
  const procs = new RunProcesses(threads, o.concurrency ?? 1, o.warmUp ?? true, o.device ?? 'cpu');
  const lockMs = o.lockMs ?? 30_000;
  // Removals of private run folders still in progress; close() waits for them.
  const removals = new Set<Promise<void>>();
  const removeLater = (dir: string): void => {
    const p: Promise<void> = rm(dir, { recursive: true, force: true })
      .catch((e: Error) => log(`could not remove ${dir}: ${e.message}`))
      .finally(() => removals.delete(p));
    removals.add(p);
  };

  const processor = async (job: Job): Promise<{ stored: boolean }> => {
    const unreadable = (job.data as Record<string, unknown> | null)?.[UNREADABLE];
    if (typeof unreadable === 'string') throw new UnrecoverableError(unreadable);
    const parsed = parseJob(job.data);
    if (parsed instanceof Error) throw new UnrecoverableError(parsed.message);
    const { sweep, spec } = parsed;
    const keys = sweepKeys(sweep);
    if ((await client.hexists(keys.results, spec.id)) === 1) return { stored: false };
    const startedAt = Date.now();
    await client.hset(keys.running, spec.id, JSON.stringify({ worker: name, enqueuedAt: job.timestamp, startedAt }));
    log(`${sweep}: run ${spec.id} (${spec.group}, seed ${spec.seed}) started, attempt ${job.attemptsMade + 1}, ${startedAt - job.timestamp} ms after enqueue`);
    const privateDir = o.artifacts === undefined ? mkdtempSync(join(tmpdir(), 'normlab-worker-')) : undefined;
    const runDir = join(o.artifacts ?? privateDir!, sweep, runDirName(spec));
    try {
      const { record, datasets } = await procs.run({ spec, runDir, dataDir: o.dataDir, checkpoints: privateDir === undefined ? undefined : false });
      faultPoint('before store result');
      const stored = (await client.eval(STORE_ONCE, 4, keys.results, keys.running, keys.stored, keys.failed, spec.id, JSON.stringify(record), String(Date.now()), keys.events)) === 1;
      faultPoint('after store result');
      const data = datasets === undefined ? '' : `; dataset splits in this run process: ${datasets.loaded} loaded, ${datasets.reused} reused`;
      log(`${sweep}: run ${spec.id} ${stored ? 'stored' : 'already stored by another worker'} (test acc ${record.results.final.test_acc}${data})`);
      return { stored };
    } finally {
      // In the background: removing a run folder takes a few to tens of milliseconds, which the
      // next job need not wait for.
      if (privateDir !== undefined) removeLater(privateDir);
    }
  };

  const worker = new SweepWorker(QUEUE, processor, {
    connection: client,
    concurrency: o.concurrency ?? 1,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 1,
  });
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (job === undefined) return;
    const msg = maskSecrets(err.message, o.url);
    const last = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    const parsed = parseJob(job.data);
    log(`job ${job.id}: ${last ? 'failed' : `attempt ${job.attemptsMade} failed, will retry`}: ${msg}`);
    if (!last) return;
    // A payload that is not a run still names its sweep and run in the job id (<sweep>.<run id>):
    // the failure goes to that sweep, so `sweep status` shows it instead of a run queued forever.
    const ids = parsed instanceof Error ? splitJobId(job.id) : { sweep: parsed.sweep, runId: parsed.spec.id };
    if (ids === null) return;
    const keys = sweepKeys(ids.sweep);
    client.exists(keys.meta).then((n) => {
      if (n === 0) return undefined;
      return client.multi().hset(keys.failed, ids.runId, msg).hdel(keys.running, ids.runId).publish(keys.events, ids.runId).exec();
    }).catch((e: Error) => log(`redis: ${maskSecrets(e.message, o.url)}`));
  });
  worker.on('error', (err: Error) => log(`worker: ${maskSecrets(err.message, o.url)}`));
  log(`worker ${name}: queue ${QUEUE}, ${o.concurrency ?? 1} run(s) at once, ${threads} thread(s) each, device ${o.device ?? 'cpu'}, lock ${lockMs} ms${o.artifacts ? `, artifacts in ${o.artifacts}` : ''}`);
  procs.ready.then(() => log(`worker ${name}: ready`), () => undefined);
  return {
    worker,
    async close() {
      await worker.close();
      procs.close();
      await Promise.all([...removals]);
    },
  };
}

// `normlab sweep` with --redis: records the sweep (configuration, run specs) and enqueues one job
// per run that has neither a stored result nor a live job. Re-running it is harmless: job ids are
// content hashes, so it adds only the runs that are missing (failed runs are queued again).
// Jobs are added longest expected run first (experiments/schedule.ts): workers take them in
// that order, so the short runs fill in at the end instead of one long run finishing alone.
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { stableJson, type ExperimentConfig, type RunSpec } from '../experiments/experiment.js';
import { longestFirst } from '../experiments/schedule.js';
import { QUEUE, jobId, sweepKeys } from './keys.js';
import { checkSweepId } from './schema.js';

export interface EnqueueOptions {
  experiment: string;
  mode: 'quick' | 'full';
  config: ExperimentConfig;
  specs: RunSpec[];
  /** Sweep id (default: <experiment>-<hash of mode and configuration>). */
  name?: string;
  /** Attempts per run before it is marked failed (default 2), with exponential back-off from backoffMs. */
  attempts?: number;
  backoffMs?: number;
}

export interface EnqueueResult {
  sweep: string;
  total: number;
  added: number;
}

export function defaultSweepId(experiment: string, mode: string, config: ExperimentConfig): string {
  return `${experiment}-${createHash('sha256').update(stableJson({ mode, config })).digest('hex').slice(0, 10)}`;
}

export async function enqueueSweep(client: Redis, o: EnqueueOptions): Promise<EnqueueResult> {
  const sweep = o.name ?? defaultSweepId(o.experiment, o.mode, o.config);
  checkSweepId(sweep, '--name');
  const keys = sweepKeys(sweep);
  const configJson = stableJson(o.config);
  const existing = await client.hmget(keys.meta, 'experiment', 'config');
  if (existing[0] !== null && (existing[0] !== o.experiment || existing[1] !== configJson)) {
    throw new RangeError(`sweep '${sweep}' already exists with another experiment or configuration; choose another --name`);
  }
  // Meta and specs in one transaction: a sweep is either fully described or absent.
  await client.multi()
    .hsetnx(keys.meta, 'createdAt', String(Date.now()))
    .hset(keys.meta, { experiment: o.experiment, mode: o.mode, config: configJson, order: JSON.stringify(o.specs.map((s) => s.id)) })
    .hset(keys.runs, Object.fromEntries(o.specs.map((s) => [s.id, JSON.stringify(s)])))
    .exec();
  const done = await client.hmget(keys.results, ...o.specs.map((s) => s.id));
  const failed = await client.hmget(keys.failed, ...o.specs.map((s) => s.id));
  const unfinished = longestFirst(o.specs.filter((_, i) => done[i] === null));
  const retry = o.specs.filter((_, i) => done[i] === null && failed[i] !== null).map((s) => s.id);
  if (retry.length > 0) await client.hdel(keys.failed, ...retry);
  const queue = new Queue(QUEUE, { connection: client });
  try {
    const states = await Promise.all(unfinished.map((spec) => queue.getJobState(jobId(sweep, spec.id))));
    const added = states.filter((st) => st === 'unknown').length;
    await queue.addBulk(unfinished.map((spec) => ({
      name: 'run',
      data: { sweep, spec },
      opts: {
        jobId: jobId(sweep, spec.id),
        attempts: o.attempts ?? 2,
        backoff: { type: 'exponential', delay: o.backoffMs ?? 1000 },
        // Finished jobs leave the queue: the results hash is the record, and the check above
        // keeps a finished run from being queued again.
        removeOnComplete: true,
        removeOnFail: true,
      },
    })));
    return { sweep, total: o.specs.length, added };
  } finally {
    await queue.close();
  }
}

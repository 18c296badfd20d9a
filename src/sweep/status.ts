// `normlab sweep status|report <id>`: counts and ETA from the sweep's hashes, and the experiment's
// own report built from the stored records, exactly as the local pool's run would build it.
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { ExperimentConfig, RunRecord } from '../experiments/experiment.js';
import { getExperiment } from '../experiments/registry.js';
import { ensureDir, writeJsonAtomic } from '../io/atomic.js';
import { sweepKeys } from './keys.js';
import { checkSweepId } from './schema.js';

export interface SweepStatus {
  sweep: string;
  experiment: string;
  total: number;
  queued: number;
  running: number;
  done: number;
  failed: number;
  /** Failed run id -> message. */
  failures: Record<string, string>;
  /** Seconds until every run is done at the rate so far (null before the first result). */
  etaSeconds: number | null;
}

async function meta(client: Redis, sweep: string): Promise<{ experiment: string; mode: string; config: ExperimentConfig; order: string[]; createdAt: number }> {
  checkSweepId(sweep, 'sweep id');
  const m = await client.hgetall(sweepKeys(sweep).meta);
  if (m.experiment === undefined) throw new RangeError(`no sweep '${sweep}' in this Redis database`);
  return { experiment: m.experiment, mode: m.mode, config: JSON.parse(m.config) as ExperimentConfig, order: JSON.parse(m.order) as string[], createdAt: Number(m.createdAt) };
}

export async function sweepStatus(client: Redis, sweep: string): Promise<SweepStatus> {
  const m = await meta(client, sweep);
  const keys = sweepKeys(sweep);
  const [done, running, failures, stored, started] = await Promise.all([
    client.hlen(keys.results), client.hlen(keys.running), client.hgetall(keys.failed), client.hvals(keys.stored), client.hvals(keys.running),
  ]);
  const failed = Object.keys(failures).length;
  const total = m.order.length;
  const queued = Math.max(0, total - done - running - failed);
  let etaSeconds: number | null = null;
  if (done > 0) {
    // The rate is results per second since the first run started (or the sweep was created).
    const starts = started.map((s) => Number((JSON.parse(s) as { startedAt: number }).startedAt));
    const first = Math.min(m.createdAt, ...starts);
    const last = Math.max(...stored.map(Number));
    etaSeconds = ((Math.max(last, Date.now()) - first) / 1000 / done) * (queued + running);
  }
  return { sweep, experiment: m.experiment, total, queued, running, done, failed, failures, etaSeconds };
}

/**
 * Resolves with the sweep's status once every run is done or failed, or when timeoutMs passes
 * (then with the counts so far). Waits on the sweep's events channel (a second connection,
 * subscribed before the counts are first read, so no event is missed) instead of polling:
 * a watcher polling every 10 ms cost the 2-core machine's training runs about 8% of their
 * speed. onChange sees the status as first read and after each event.
 */
export async function waitForSweep(
  client: Redis, sweep: string, o: { timeoutMs?: number; onChange?: (s: SweepStatus) => void } = {},
): Promise<SweepStatus> {
  const sub = client.duplicate();
  // The subscriber's failures surface through the main connection (both end together); without a
  // listener ioredis would print each to stderr with its stack.
  sub.on('error', () => undefined);
  try {
    await sub.subscribe(sweepKeys(sweep).events);
    let status = await sweepStatus(client, sweep);
    o.onChange?.(status);
    const finished = (s: SweepStatus): boolean => s.done + s.failed >= s.total;
    if (finished(status)) return status;
    return await new Promise<SweepStatus>((resolve, reject) => {
      const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => resolve(status), o.timeoutMs);
      const refresh = (): void => {
        sweepStatus(client, sweep).then((s) => {
          status = s;
          o.onChange?.(s);
          if (finished(s)) {
            clearTimeout(timer);
            resolve(s);
          }
        }, reject);
      };
      sub.on('message', refresh);
      // After a reconnect (a Redis restart) the events sent meanwhile are lost: read the counts again.
      sub.on('ready', refresh);
    });
  } finally {
    sub.disconnect();
  }
}

/** One line: a 30-character bar and the counts, e.g. `[##########....] 5/8 done, 2 running, 1 queued, 0 failed, ETA 12 s`. */
export function formatStatus(s: SweepStatus): string {
  const width = 30;
  const fill = s.total === 0 ? width : Math.round((width * (s.done + s.failed)) / s.total);
  const eta = s.done + s.failed === s.total ? 'finished' : s.etaSeconds === null ? 'ETA unknown' : `ETA ${formatSeconds(s.etaSeconds)}`;
  const lines = [`${s.sweep} (${s.experiment}) [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${s.done}/${s.total} done, ${s.running} running, ${s.queued} queued, ${s.failed} failed, ${eta}`];
  for (const [id, msg] of Object.entries(s.failures)) lines.push(`  failed ${id}: ${msg}`);
  return lines.join('\n');
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export interface StoredSweep {
  experiment: string;
  mode: string;
  config: ExperimentConfig;
  /** Stored records, in the order of the experiment's runs. */
  records: RunRecord[];
  /** Run ids without a stored result. */
  missing: string[];
}

export async function storedSweep(client: Redis, sweep: string): Promise<StoredSweep> {
  const m = await meta(client, sweep);
  const values = m.order.length === 0 ? [] : await client.hmget(sweepKeys(sweep).results, ...m.order);
  const records: RunRecord[] = [];
  const missing: string[] = [];
  values.forEach((v, i) => (v === null ? missing.push(m.order[i]) : records.push(JSON.parse(v) as RunRecord)));
  return { experiment: m.experiment, mode: m.mode, config: m.config, records, missing };
}

/** Writes <outDir>/report.html (and results.json, as the local run does) from the stored records. */
export async function writeSweepReport(client: Redis, sweep: string, outDir: string): Promise<string> {
  const s = await storedSweep(client, sweep);
  if (s.missing.length > 0) throw new RangeError(`sweep '${sweep}': ${s.missing.length} of ${s.records.length + s.missing.length} run(s) have no result yet (see 'normlab sweep status ${sweep}')`);
  ensureDir(outDir, '--out');
  const exp = getExperiment(s.experiment);
  writeJsonAtomic(join(outDir, 'experiment.json'), { experiment: s.experiment, seedDoc: exp.seedDoc, seedFile: exp.seedFile, mode: s.mode, config: s.config, sweep });
  const report = await exp.report(s.config, s.records, outDir);
  writeJsonAtomic(join(outDir, 'results.json'), { experiment: s.experiment, mode: s.mode, config: s.config, sweep, runs: s.records.map((r) => ({ id: r.spec.id, group: r.spec.group, seed: r.spec.seed, final: r.results.final, total_seconds: r.results.total_seconds })) });
  return report;
}

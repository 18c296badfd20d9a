// The local pool: runs an experiment's RunSpecs on this machine, in worker processes when
// more than one worker is asked for, each with an equal share of the cores as native threads.
// Worker processes take the runs longest expected first (schedule.ts) so that the pool does not
// end with one long run on one process while the others idle; records come back in spec order.
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunRecord, RunSpec } from './experiment.js';
import { executeRun, runDirName, type ExecuteOptions } from './execute.js';
import { longestFirst } from './schedule.js';

export interface PoolOptions {
  /** Folder that receives one run directory per spec. */
  runsDir: string;
  /** Parallel worker processes (default 1: in this process). */
  workers?: number;
  dataDir?: string;
  resume?: boolean;
  /** Where every run trains (default 'cpu'; see ExecuteOptions.device). */
  device?: ExecuteOptions['device'];
  /** Called when a run finishes (for progress output). */
  onDone?: (record: RunRecord, doneCount: number, total: number) => void;
}

interface WorkerReply {
  type?: 'ready';
  id: string;
  record?: RunRecord;
  error?: string;
}

const workerScript = join(dirname(fileURLToPath(import.meta.url)), 'worker.js');

export async function runPool(specs: RunSpec[], o: PoolOptions): Promise<RunRecord[]> {
  const workers = Math.max(1, Math.min(o.workers ?? 1, specs.length));
  const threads = Math.max(1, Math.floor(availableParallelism() / workers));
  const exec: ExecuteOptions = { dataDir: o.dataDir, resume: o.resume ?? true, threads: workers > 1 ? threads : undefined, device: o.device };
  const records = new Map<string, RunRecord>();
  let done = 0;
  const finish = (r: RunRecord): void => {
    records.set(r.spec.id, r);
    done++;
    o.onDone?.(r, done, specs.length);
  };
  if (workers === 1) {
    for (const s of specs) finish(await executeRun(s, join(o.runsDir, runDirName(s)), exec));
    return specs.map((s) => records.get(s.id)!);
  }
  const queue = longestFirst(specs);
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: workers }, () =>
      new Promise<void>((resolve) => {
        const child = fork(workerScript, [], { env: { ...process.env, NORMLAB_NUM_THREADS: String(threads) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        const next = (): void => {
          const s = queue.shift();
          if (s === undefined) {
            child.send({ type: 'exit' });
            return;
          }
          child.send({ type: 'run', spec: s, runDir: join(o.runsDir, runDirName(s)), exec });
        };
        child.on('message', (m: WorkerReply) => {
          if (m.type === 'ready') return;
          if (m.error !== undefined) errors.push(`run ${m.id}: ${m.error}`);
          else finish(m.record!);
          next();
        });
        child.on('exit', (code) => {
          if (code !== 0 && code !== null) errors.push(`a worker process exited with code ${code}`);
          resolve();
        });
        next();
      }),
    ),
  );
  if (errors.length > 0) throw new Error(`experiment runs failed:\n  ${errors.join('\n  ')}`);
  return specs.map((s) => {
    const r = records.get(s.id);
    if (r === undefined) throw new Error(`run ${s.id} (${s.group}, seed ${s.seed}) did not finish`);
    return r;
  });
}

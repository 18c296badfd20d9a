// Redis layout of a sweep. Every key starts with normlab:sweep:<id>:
//   meta     hash  experiment, mode, config (JSON), order (JSON list of run ids), createdAt (ms)
//   runs     hash  run id -> RunSpec JSON
//   running  hash  run id -> { worker, enqueuedAt, startedAt } JSON (while a worker holds it)
//   results  hash  run id -> RunRecord JSON (written once, with HSETNX)
//   stored   hash  run id -> ms when its result was stored
//   failed   hash  run id -> error message after the last attempt
//   events   pub/sub channel (not a key): a run id is published when its result is stored or
//            it has failed for good, so a watcher can wait without polling
// Jobs of all sweeps share one BullMQ queue, QUEUE; a job's id is <sweep>.<run id>, so adding
// the same run of the same sweep twice adds nothing.
export const QUEUE = 'normlab-runs';

export interface SweepKeys {
  meta: string;
  runs: string;
  running: string;
  results: string;
  stored: string;
  failed: string;
  events: string;
}

export function sweepKeys(sweep: string): SweepKeys {
  const k = (s: string): string => `normlab:sweep:${sweep}:${s}`;
  return { meta: k('meta'), runs: k('runs'), running: k('running'), results: k('results'), stored: k('stored'), failed: k('failed'), events: k('events') };
}

export function jobId(sweep: string, runId: string): string {
  return `${sweep}.${runId}`;
}

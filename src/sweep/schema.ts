// The job payload schema. A queued job is data only: { sweep, spec } where spec has RunSpec's
// shape, its experiment is registered, its training keys are TrainConfig's (no paths or thread
// counts: those belong to the worker) and its id is the content hash of the rest. Anything else is
// rejected before a run starts; nothing from the queue is ever executed as code.
import { z } from 'zod';
import { runId, type RunSpec } from '../experiments/experiment.js';
import { EXPERIMENTS } from '../experiments/registry.js';
import { DEFAULT_CONFIG } from '../train/run.js';

/**
 * Sweep ids: letters, digits, '.', '_' and '-', not starting with '.' and without '..'. They become
 * parts of Redis keys, job ids and folder names (<artifacts>/<sweep>/, runs/<sweep>/), so none may
 * name a parent folder or a hidden one.
 */
export const SWEEP_ID = /^(?!.*\.\.)[A-Za-z0-9_-][A-Za-z0-9._-]{0,79}$/;

/** Throws a RangeError naming `what` (a flag or argument) unless id is a valid sweep id. */
export function checkSweepId(id: string, what: string): void {
  if (!SWEEP_ID.test(id)) {
    throw new RangeError(`${what}: a sweep id is 1-80 letters, digits, '.', '_' or '-', not starting with '.' and without '..', got '${id}'`);
  }
}

/** The sweep and run id of a job id (<sweep>.<16 hex digits>), or null. */
export function splitJobId(jobId: string | undefined): { sweep: string; runId: string } | null {
  const m = /^(.+)\.([0-9a-f]{16})$/.exec(jobId ?? '');
  return m === null || !SWEEP_ID.test(m[1]) ? null : { sweep: m[1], runId: m[2] };
}

const configValue = z.union([z.number(), z.string(), z.boolean(), z.array(z.number()), z.array(z.string())]);
const trainKeys = Object.keys(DEFAULT_CONFIG).filter((k) => k !== 'dataDir' && k !== 'threads') as [string, ...string[]];

export const runSpecSchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  experiment: z.enum(EXPERIMENTS.map((e) => e.name) as [string, ...string[]]),
  group: z.string().max(200),
  seed: z.number().int().nonnegative(),
  train: z.partialRecord(z.enum([...trainKeys, 'label', 'dropout', 'stepsPerEpoch']), z.json()),
  extra: z.record(z.string(), configValue),
});

export const jobSchema = z.strictObject({
  sweep: z.string().regex(SWEEP_ID),
  spec: runSpecSchema,
});

export interface JobData {
  sweep: string;
  spec: RunSpec;
}

/** The payload as a JobData, or an Error saying what is wrong with it. */
export function parseJob(data: unknown): JobData | Error {
  const r = jobSchema.safeParse(data);
  if (!r.success) return new Error(`invalid job payload: ${z.prettifyError(r.error).replace(/\n/g, '; ')}`);
  const spec = r.data.spec as unknown as RunSpec;
  const { id: _id, experiment, ...rest } = spec;
  const expected = runId(experiment, rest);
  if (expected !== spec.id) return new Error(`invalid job payload: spec id ${spec.id} is not the hash of its content (${expected})`);
  return { sweep: r.data.sweep, spec };
}

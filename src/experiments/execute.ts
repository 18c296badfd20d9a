// executeRun: the one code path that runs a RunSpec into its run directory, used by the local
// pool, the in-process runner and the sweep workers. A run directory holds the trainer's files
// plus spec.json, analysis.json (when the experiment analyses the trained model) and
// record.json, written last: its presence marks the run finished, so re-running an experiment
// with --resume re-uses finished runs and continues interrupted ones from their checkpoint.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runTraining } from '../train/run.js';
import { ensureDir, writeJsonAtomic } from '../io/atomic.js';
import { readJsonFile } from '../io/jsonFile.js';
import type { Experiment, RunRecord, RunSpec } from './experiment.js';
import { getExperiment } from './registry.js';
import { RunInstruments } from './instruments.js';
import { resolveDevice } from '../backend/select.js';
import type { Device } from '../backend/index.js';

export interface ExecuteOptions {
  threads?: number;
  dataDir?: string;
  /** Continue an interrupted run from its last checkpoint (default true). */
  resume?: boolean;
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  /**
   * false: write no checkpoints whatever the spec says. For a sweep worker whose run directory is
   * private and removed after the run: nobody could resume from them, and writing model and
   * optimizer state every epoch is a cost each quick run paid for nothing.
   */
  checkpoints?: boolean;
  /**
   * Where the run trains (default 'cpu'). A worker process enables WebGPU itself when asked for
   * it (and fails naming the reason when it cannot). The analyses after training run on a CPU
   * copy of the trained model.
   */
  device?: Device;
}

export function runDirName(spec: RunSpec): string {
  const slug = spec.group.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-|-$/g, '');
  return `${slug}-s${spec.seed}-${spec.id.slice(0, 8)}`;
}

export function readRecord(runDir: string): RunRecord | null {
  const f = join(runDir, 'record.json');
  if (!existsSync(f)) return null;
  return readJsonFile(f, 'readRecord') as RunRecord;
}

export async function executeRun(spec: RunSpec, runDir: string, opts: ExecuteOptions = {}): Promise<RunRecord> {
  const done = readRecord(runDir);
  if (done !== null && done.spec.id === spec.id) return done;
  const exp: Experiment = getExperiment(spec.experiment);
  ensureDir(runDir, 'executeRun');
  writeJsonAtomic(join(runDir, 'spec.json'), spec);
  const train = { ...spec.train, seed: spec.seed, label: spec.group, ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) };
  // extra.checkpoints === false skips checkpoints (an interrupted run then starts over).
  const checkpoints = spec.extra.checkpoints !== false && opts.checkpoints !== false;
  // The run directory belongs to this spec (its name holds the spec's hash): what is there is an
  // interrupted attempt of the same run, continued or replaced.
  const inst = exp.instruments ? new RunInstruments() : null;
  const hooks = inst === null ? {} : { onStart: inst.onStart, onEvaluate: inst.onEvaluate };
  const device = opts.device === undefined || opts.device === 'cpu' ? 'cpu' : await resolveDevice(opts.device, () => undefined);
  const out = await runTraining(train, { outDir: runDir, device, resume: checkpoints && (opts.resume ?? true), overwrite: true, progress: opts.progress ?? 'none', checkpoints, ...hooks });
  // The analyses read activations and parameters synchronously: they run on the CPU.
  if (out.model.device !== 'cpu') await out.model.toAsync('cpu');
  let analysis: Record<string, unknown> | undefined;
  if (exp.analyze) analysis = await exp.analyze(spec, { runDir, model: out.model, data: out.data, evalLoader: out.evalLoader });
  // After the experiment's own analysis: precise BN changes the model's running statistics.
  if (inst !== null) {
    const instruments = inst.finish(out.model, out.evalLoader(out.data.train), out.evalLoader(out.data.test), out.result.history, runDir);
    analysis = { ...(analysis ?? {}), instruments };
  }
  if (analysis !== undefined) writeJsonAtomic(join(runDir, 'analysis.json'), analysis);
  const record: RunRecord = { spec, results: out.result as unknown as RunRecord['results'], ...(analysis ? { analysis } : {}) };
  writeJsonAtomic(join(runDir, 'record.json'), record);
  return record;
}

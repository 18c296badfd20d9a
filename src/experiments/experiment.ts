// The experiment model: an experiment expands a typed configuration into runs; a run is
// (experiment, group, config, seed) and writes one run directory. One function executes a
// run (executeRun); schedulers (the local pool, BullMQ workers) only decide where it runs.
import { createHash } from 'node:crypto';
import type { TrainConfig } from '../train/run.js';
import { suggestion } from '../nn/norm/spec.js';

/** Scalar or list values a user can override with --set key=value. */
export type ConfigValue = number | string | boolean | number[] | string[];
export type ExperimentConfig = Record<string, ConfigValue>;

/** The training settings of the experiments that train with SGD (each a --set key). */
export interface SgdRunConfig extends ExperimentConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  /** Stratified subset of the training set (0: all). */
  trainLimit: number;
  /** Stratified subset of the test set (0: all). */
  testLimit: number;
}

export interface RunSpec {
  /** Content hash of (experiment, group, training config, seed, extra): the job/run id. */
  id: string;
  experiment: string;
  /** What the run stands for in the study, e.g. 'bn', 'fbn T=4', 'bs=64 T=3'. */
  group: string;
  seed: number;
  /** The training configuration (seed included). */
  train: Partial<TrainConfig>;
  /** Experiment-specific parameters of the run (e.g. an analysis to run after training). */
  extra: Record<string, ConfigValue>;
}

/** What a finished run left behind: its spec, its results.json and any analysis output. */
export interface RunRecord {
  spec: RunSpec;
  results: {
    final: Record<string, number>;
    history: Record<string, number>[];
    best_epoch: number;
    total_seconds: number;
    [k: string]: unknown;
  };
  analysis?: Record<string, unknown>;
}

export interface Experiment<C extends ExperimentConfig = ExperimentConfig> {
  name: string;
  /** The seed document it comes from: '000' … '003'. */
  seedDoc: string;
  /** The file(s) of that seed whose method it reproduces, e.g. 'MNIST/mnist_train.py'. */
  seedFile: string;
  description: string;
  /** Minutes, bundled or synthetic data, no network (CI). */
  quick: C;
  /** The seed's own configuration. */
  full: C;
  /** The runs of a configuration. */
  runs(config: C): Omit<RunSpec, 'id' | 'experiment'>[];
  /**
   * Record the normalization instruments during each run (running-statistics drift, Filtered
   * BN's kept fraction, γ/β quantiles, train/eval-mode accuracy, precise BN after training):
   * analysis.instruments, TensorBoard scalars in the run directory (src/experiments/instruments.ts).
   */
  instruments?: boolean;
  /** Optional work after training, in the run's process (activation statistics, landscapes…). */
  analyze?(spec: RunSpec, ctx: AnalyzeContext): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Writes report.html (and any tables) for the finished runs into outDir. */
  report(config: C, records: RunRecord[], outDir: string): Promise<string> | string;
}

export interface AnalyzeContext {
  runDir: string;
  /** The trained model, datasets and evaluation loaders of the run. */
  model: import('../nn/module.js').Module;
  data: import('../train/run.js').RunOutput['data'];
  evalLoader: import('../train/run.js').RunOutput['evalLoader'];
}

/** Stable JSON (sorted keys) for hashing. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function runId(experiment: string, r: Omit<RunSpec, 'id' | 'experiment'>): string {
  const { dataDir: _d, threads: _t, ...train } = r.train;
  return createHash('sha256').update(stableJson({ experiment, group: r.group, seed: r.seed, train, extra: r.extra })).digest('hex').slice(0, 16);
}

/** The run specs of an experiment under a configuration. */
export function expand<C extends ExperimentConfig>(exp: Experiment<C>, config: C): RunSpec[] {
  return exp.runs(config).map((r) => ({ ...r, experiment: exp.name, id: runId(exp.name, r) }));
}

/**
 * Applies --set key=value overrides to a configuration, coercing each value to the type of the
 * default (number, boolean, string, or comma-separated lists). Unknown keys are an error that
 * lists the known ones and names the closest one.
 */
export function applyOverrides<C extends ExperimentConfig>(name: string, base: C, sets: string[]): C {
  const out: ExperimentConfig = { ...base };
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new RangeError(`${name}: --set expects key=value, got '${s}'`);
    const key = s.slice(0, eq);
    const raw = s.slice(eq + 1);
    // Own keys only: 'constructor', 'toString' or '__proto__' are in every object but are no settings.
    if (!Object.hasOwn(base, key)) {
      throw new RangeError(`${name}: --set: unknown setting '${key}'; allowed settings: ${Object.keys(base).join(', ')}${suggestion(key, Object.keys(base))}`);
    }
    const def = base[key];
    const num = (v: string): number => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) throw new RangeError(`${name}: setting '${key}' must be a number, got '${v}'`);
      return n;
    };
    if (typeof def === 'number') out[key] = num(raw);
    else if (typeof def === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new RangeError(`${name}: setting '${key}' must be true or false, got '${raw}'`);
      out[key] = raw === 'true';
    } else if (Array.isArray(def)) {
      const parts = raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
      out[key] = def.length > 0 && typeof def[0] === 'string' ? parts : parts.map(num);
    } else out[key] = raw;
  }
  return out as C;
}

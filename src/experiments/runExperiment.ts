// Runs an experiment end to end: configuration (quick or full, --set overrides, --seeds),
// a data check, its runs on the local pool, and its report.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyOverrides, expand, type ExperimentConfig, type RunRecord, type RunSpec } from './experiment.js';
import { getExperiment } from './registry.js';
import { runPool } from './pool.js';
import { ensureDir, writeJsonAtomic } from '../io/atomic.js';
import { loadDatasetSync, DATASET_NAMES, type DatasetName } from '../data/load.js';
import type { Device } from '../backend/index.js';

export interface RunExperimentOptions {
  mode: 'quick' | 'full';
  sets?: string[];
  seeds?: number;
  workers?: number;
  resume?: boolean;
  /** Parent folder; the experiment writes <out>/<name>/. */
  out: string;
  dataDir?: string;
  /** Where every run trains (default 'cpu'). */
  device?: Device;
  log?: (line: string) => void;
}

export interface ExperimentOutput {
  dir: string;
  report: string;
  config: ExperimentConfig;
  specs: RunSpec[];
  records: RunRecord[];
}

/** The experiment's configuration after mode, --seeds and --set. */
export function resolveConfig(name: string, o: Pick<RunExperimentOptions, 'mode' | 'sets' | 'seeds'>): ExperimentConfig {
  const exp = getExperiment(name);
  let config = applyOverrides(name, o.mode === 'quick' ? exp.quick : exp.full, o.sets ?? []);
  if (o.seeds !== undefined) {
    if (!('seeds' in config)) throw new RangeError(`${name}: this experiment has a fixed set of runs; --seeds does not apply`);
    config = { ...config, seeds: o.seeds };
  }
  return config;
}

/** Fails early, with the dataset's own message (files, --data-dir, download), when data is missing. */
function checkData(config: ExperimentConfig, dataDir: string | undefined): void {
  const name = config.dataset;
  if (typeof name !== 'string' || !(DATASET_NAMES as readonly string[]).includes(name)) return;
  if (name === 'mnist-bundled') return;
  loadDatasetSync(name as DatasetName, { dataDir, split: 'test' });
}

export async function runExperiment(name: string, o: RunExperimentOptions): Promise<ExperimentOutput> {
  const exp = getExperiment(name);
  const config = resolveConfig(name, o);
  checkData(config, o.dataDir);
  const dir = join(o.out, name);
  const runsDir = join(dir, 'runs');
  if (!o.resume && existsSync(runsDir)) rmSync(runsDir, { recursive: true, force: true });
  ensureDir(runsDir, '--out');
  writeJsonAtomic(join(dir, 'experiment.json'), { experiment: name, seedDoc: exp.seedDoc, seedFile: exp.seedFile, mode: o.mode, config });
  const specs = expand(exp, config);
  const log = o.log ?? (() => undefined);
  log(`${name}: ${specs.length} run(s), ${o.workers ?? 1} worker(s), device ${o.device ?? 'cpu'}, writing ${dir}`);
  const t0 = Date.now();
  const records = await runPool(specs, {
    runsDir, workers: o.workers, dataDir: o.dataDir, resume: o.resume, device: o.device,
    onDone: (r, done, total) => {
      const acc = Number(r.results.final.test_acc);
      log(`  [${done}/${total}] ${r.spec.group} seed ${r.spec.seed}: test acc ${Number.isFinite(acc) ? (100 * acc).toFixed(2) + '%' : 'n/a'} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    },
  });
  const report = await exp.report(config, records, dir);
  writeJsonAtomic(join(dir, 'results.json'), { experiment: name, mode: o.mode, config, runs: records.map((r) => ({ id: r.spec.id, group: r.spec.group, seed: r.spec.seed, final: r.results.final, total_seconds: r.results.total_seconds })) });
  log(`${name}: report ${report}`);
  return { dir, report, config, specs, records };
}

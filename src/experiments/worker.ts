// A run process of the local pool and of sweep workers: receives RunSpecs over IPC, executes them,
// replies with records. It sends { type: 'ready' } once the engine is loaded. Each reply carries
// this process's dataset-cache counts, so a scheduler can tell that its runs share the loaded data.
import './runProcessV8.js';
import type { RunSpec } from './experiment.js';
import { executeRun, type ExecuteOptions } from './execute.js';
import { datasetCacheStats } from '../data/cache.js';

interface Job {
  type: 'run' | 'exit';
  spec: RunSpec;
  runDir: string;
  exec: ExecuteOptions;
}

process.on('message', (m: Job) => {
  if (m.type === 'exit') {
    process.disconnect?.();
    return;
  }
  executeRun(m.spec, m.runDir, m.exec).then(
    (record) => process.send?.({ id: m.spec.id, record, datasets: datasetCacheStats() }),
    (err: unknown) => process.send?.({ id: m.spec.id, error: err instanceof Error ? err.message : String(err), datasets: datasetCacheStats() }),
  );
});

process.send?.({ type: 'ready' });

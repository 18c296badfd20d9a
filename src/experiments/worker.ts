// A run process of the local pool and of sweep workers: receives RunSpecs over IPC, executes them,
// replies with records. It sends { type: 'ready' } once the engine is loaded.
import type { RunSpec } from './experiment.js';
import { executeRun, type ExecuteOptions } from './execute.js';

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
    (record) => process.send?.({ id: m.spec.id, record }),
    (err: unknown) => process.send?.({ id: m.spec.id, error: err instanceof Error ? err.message : String(err) }),
  );
});

process.send?.({ type: 'ready' });

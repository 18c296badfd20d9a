// A sweep worker's run process: the local pool's run process (with its V8 settings, runProcessV8.ts),
// warmed up first (warmUp.ts), plus a watchdog thread that ends this process when its worker is
// gone (killed with SIGKILL, say).
// The watchdog runs on its own thread because training blocks the main thread; without it an
// orphaned run would keep training into the shared run directory while another worker resumes
// the same run there.
import '../experiments/runProcessV8.js';
import { Worker } from 'node:worker_threads';
import { warmUpRunProcess } from './warmUp.js';

// process.ppid is a fixed value inside a worker thread, so the watchdog probes the parent's pid.
const watchdog = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  try {
    process.kill(workerData.parent, 0);
  } catch {
    process.kill(workerData.self, 'SIGKILL');
  }
}, 200);
`;

new Worker(watchdog, { eval: true, workerData: { parent: process.ppid, self: process.pid } }).unref();
// A reply that cannot be delivered (the worker died as the run finished) ends the process quietly.
process.on('error', () => process.exit(1));
// NORMLAB_WORKER_WARM_UP=0 (the worker's warmUp: false): take the first job at once.
if (process.env.NORMLAB_WORKER_WARM_UP !== '0') await warmUpRunProcess();
await import('../experiments/worker.js');

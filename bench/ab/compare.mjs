// A/B timing of two normlab checkouts on the same machine in one run: each workload runs in a
// fresh process per version, alternating A, B, A, B… for `rounds` rounds; the table gives the
// median over rounds of each version's per-round median and the ratio B/A.
//   node bench/ab/compare.mjs <rootA> <rootB> [threads=2] [rounds=5] [workload,workload...]
// Both checkouts need dist/ built (npm run build). Run on a quiet machine (load below threads).
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [rootA, rootB, threadsArg = '2', roundsArg = '5', only] = process.argv.slice(2);
if (rootA === undefined || rootB === undefined) {
  console.error('usage: node bench/ab/compare.mjs <rootA> <rootB> [threads] [rounds]');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const workloads = [
  ['lenet5-step', 100], ['fbn-mnist-step', 100], ['bn2d-fwd-bwd', 15], ['fbn2d-fwd-bwd', 15], ['conv64-fwd-bwd', 5], ['resnet18-step', 3],
].filter(([w]) => only === undefined || only.split(',').includes(w));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(root, workload, reps) {
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, 'workload.mjs'), root, workload, threadsArg, String(reps)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`compare: ${workload} on ${root} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()).ms;
}

const loadBefore = loadavg()[0];
console.log(`threads ${threadsArg}, rounds ${roundsArg}, load average at start ${loadBefore.toFixed(2)}`);
console.log('| workload | A ms | B ms | B / A |');
console.log('|---|---|---|---|');
for (const [w, reps] of workloads) {
  const a = [];
  const b = [];
  for (let i = 0; i < Number(roundsArg); i++) {
    a.push(run(rootA, w, reps));
    b.push(run(rootB, w, reps));
  }
  const ma = median(a);
  const mb = median(b);
  console.log(`| ${w} | ${ma.toFixed(2)} | ${mb.toFixed(2)} | ${(mb / ma).toFixed(3)} |`);
}
console.log(`load average at end ${loadavg()[0].toFixed(2)}`);

// Fault injection for the reliability tests (test/train/faults.test.ts, test/sweep/faults.test.ts).
// Every step that writes or renames a file of a run calls faultPoint(name). Two environment
// variables act on it; without them a fault point does nothing:
//   NORMLAB_FAULT_TRACE=<file>  appends each point's name to <file>, one per line, in order;
//   NORMLAB_FAULT_KILL_AT=<n>   the process sends itself SIGKILL at the n-th point (1-based).
// A test traces one run to learn the sequence of steps, then kills a fresh run at each of them in
// turn and checks what a resume makes of the files left behind.
import { appendFileSync } from 'node:fs';

const trace = process.env.NORMLAB_FAULT_TRACE;
const killAt = Number(process.env.NORMLAB_FAULT_KILL_AT ?? 0);
let count = 0;

export function faultPoint(name: string): void {
  if (trace === undefined && killAt === 0) return;
  count++;
  if (trace !== undefined) appendFileSync(trace, `${name}\n`);
  if (count === killAt) process.kill(process.pid, 'SIGKILL');
}

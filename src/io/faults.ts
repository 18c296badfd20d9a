// Fault injection for the reliability tests (test/train/faults.test.ts, test/sweep/faults.test.ts).
// Every step that writes or renames a file of a run, and a sweep worker's storing of a result,
// calls faultPoint(name). Environment variables act on it; without them a fault point does nothing:
//   NORMLAB_FAULT_TRACE=<file>    appends each point's name to <file>, one per line, in order;
//   NORMLAB_FAULT_KILL_AT=<n>     the process sends itself SIGKILL at its n-th point (1-based);
//   NORMLAB_FAULT_KILL_AT=<name>#<k>   … at the k-th time it reaches the point called <name>;
//   NORMLAB_FAULT_ONCE=<file>     with KILL_AT: kill only if <file> does not exist yet (it is
//                                 created first), so of a process tree sharing the variables
//                                 (a sweep worker and its run processes) only one is killed, once.
// A test traces one run to learn the sequence of steps, then kills a fresh run at each of them in
// turn and checks what a resume makes of the files left behind.
import { appendFileSync, closeSync, openSync } from 'node:fs';

const trace = process.env.NORMLAB_FAULT_TRACE;
const killAt = process.env.NORMLAB_FAULT_KILL_AT ?? '';
const once = process.env.NORMLAB_FAULT_ONCE;
const byName = /^(.+)#(\d+)$/.exec(killAt);
let count = 0;
const seen = new Map<string, number>();

function kill(): void {
  if (once !== undefined) {
    try {
      closeSync(openSync(once, 'wx'));
    } catch {
      return;
    }
  }
  process.kill(process.pid, 'SIGKILL');
}

export function faultPoint(name: string): void {
  if (trace === undefined && killAt === '') return;
  count++;
  if (trace !== undefined) appendFileSync(trace, `${name}\n`);
  if (byName !== null) {
    if (byName[1] !== name) return;
    const k = (seen.get(name) ?? 0) + 1;
    seen.set(name, k);
    if (k === Number(byName[2])) kill();
  } else if (count === Number(killAt)) {
    kill();
  }
}

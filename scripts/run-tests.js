#!/usr/bin/env node
// Runs the compiled node:test suite (dist/test/**/*.test.js). Kernel tests iterate over every
// instruction-set path the CPU supports themselves (see test/helpers/isa.ts).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = collect('dist/test').sort();
if (filter.length > 0) files = files.filter((f) => filter.some((s) => f.includes(s)));
// NORMLAB_POISON_EMPTY: uninitialized output buffers (src/backend/cpu/alloc.ts) start as NaN, so a
// kernel that leaves an element unwritten fails the fixture comparisons.
const env = { ...process.env, NORMLAB_POISON_EMPTY: process.env.NORMLAB_POISON_EMPTY ?? '1' };
const r = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);

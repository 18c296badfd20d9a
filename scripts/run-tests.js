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
// Which WebGPU the device-parameterised suites run on: the real backend (Dawn; lavapipe without a
// GPU) or, where there is none, the host-memory emulation of test/helpers/device.ts — said here,
// with the reason, since those suites then skip the real device.
const probe = spawnSync(process.execPath, ['-e', "import('./dist/src/backend/webgpu.js').then(async (m) => { const p = await m.probeWebgpu(); console.log(p.available ? 'WebGPU tests run on ' + (p.adapter.description || p.adapter.device) + (p.adapter.software ? ' (software)' : '') : 'WebGPU tests skipped (the device suites run on the emulated webgpu device): ' + p.reason); })"], { encoding: 'utf8' });
const webgpuLine = (probe.stdout || '').trim() || `WebGPU probe failed: ${(probe.stderr || '').trim().split('\n')[0]}`;
console.log(webgpuLine);
if (process.env.NORMLAB_REQUIRE_WEBGPU === '1' && !webgpuLine.startsWith('WebGPU tests run on')) {
  console.error('NORMLAB_REQUIRE_WEBGPU=1: ' + webgpuLine);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit', env });
console.log(webgpuLine);
process.exit(r.status ?? 1);

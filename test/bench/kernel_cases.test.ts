import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backendKernelNames } from '../../src/backend/cpu.js';
import { kernelCases } from '../../bench/kernel_cases.js';

describe('the kernel benchmark', () => {
  const cases = kernelCases();

  it('times every kernel of the Backend type', () => {
    const timed = new Set(cases.map((c) => c.kernel));
    const missing = backendKernelNames.filter((k) => !timed.has(k));
    assert.deepEqual(missing, [], `kernels without a benchmark line: ${missing.join(', ')}`);
  });

  it('names only kernels of the Backend type', () => {
    const known = new Set<string>(backendKernelNames);
    assert.deepEqual(cases.filter((c) => !known.has(c.kernel)).map((c) => c.name), []);
  });

  it('gives every line a unique name', () => {
    const names = cases.map((c) => c.name);
    assert.equal(new Set(names).size, names.length);
  });

  it('times every compute kernel at two shapes', () => {
    const runtime = new Set(['getNumThreads', 'setNumThreads', 'getIsa', 'setIsa', 'supportedIsas']);
    for (const k of backendKernelNames) {
      if (runtime.has(k)) continue;
      const n = cases.filter((c) => c.kernel === k).length;
      assert.ok(n >= 2, `${k} has ${n} benchmark line(s)`);
    }
  });
});

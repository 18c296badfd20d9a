// The thread pool must start workers that take part in the very first job they are created
// for (a worker that reads the job's generation as its starting point would sleep forever).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, ones, getNumThreads, setNumThreads } from '../../src/index.js';

describe('thread pool', () => {
  it('finishes jobs while growing from 1 to 4 threads, with the same results', { timeout: 60000 }, () => {
    const nt0 = getNumThreads();
    try {
      const x = ones([100003]);
      const results: Float32Array[] = [];
      for (let nt = 1; nt <= 4; nt++) {
        setNumThreads(nt);
        for (let rep = 0; rep < 3; rep++) results.push(F.dropout(x, 0.5, { seed: 42 }).data());
      }
      for (const r of results) assert.deepEqual(r, results[0]);
    } finally {
      setNumThreads(nt0);
    }
  });
});

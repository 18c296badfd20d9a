// A small training loop must not grow the heap: the autograd graph and its saved buffers are
// freed by backward(), and nothing accumulates across steps.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nn, functional as F, randn, noGrad, manualSeed } from '../../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;

describe('training loop memory', () => {
  it('keeps heapUsed flat between step 10 and step 100 while the loss falls', { skip: gc === undefined ? 'needs --expose-gc' : false }, () => {
    manualSeed(1);
    const model = new nn.Sequential(new nn.Linear(20, 32), new nn.ReLU(), new nn.Linear(32, 32), new nn.ReLU(), new nn.Linear(32, 5));
    const x = randn([16, 20], { seed: 2 });
    const target = Int32Array.from({ length: 16 }, (_, i) => i % 5);
    const lr = 0.1;
    let heap10 = 0;
    let first = 0;
    let last = 0;
    for (let step = 1; step <= 100; step++) {
      model.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), target);
      loss.backward();
      noGrad(() => {
        for (const p of model.parameters()) {
          const g = p.grad!.buffer;
          for (let i = 0; i < p.buffer.length; i++) p.buffer[i] -= lr * g[i];
        }
      });
      if (step === 1) first = loss.item();
      last = loss.item();
      if (step === 10) {
        gc!();
        heap10 = process.memoryUsage().heapUsed;
      }
    }
    gc!();
    const growth = process.memoryUsage().heapUsed - heap10;
    assert.ok(growth < 2 * 1024 * 1024, `heap grew by ${(growth / 1024).toFixed(0)} KiB between step 10 and step 100`);
    assert.ok(last < first * 0.5, `loss went from ${first} to ${last}`);
  });
});

// Per-op overhead of the JS layer on a tiny tensor: tensor add and relu on 4 values, with and
// without gradient recording, against the same ops in PyTorch (eager, CPU).
import { tensor, noGrad, setNumThreads } from '../src/index.js';
import { relu } from '../src/ops/elementwise.js';
import { runTorch, report } from './common.js';

function perOpMicros(fn: () => void, iters: number): number {
  for (let i = 0; i < 1000; i++) fn();
  const samples: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / iters);
  }
  samples.sort((a, b) => a - b);
  return samples[3];
}

export function main(): void {
  const torch = runTorch('overhead.py', []);
  for (const threads of [1, 2]) {
    setNumThreads(threads);
    const a = tensor([1, 2, 3, 4], [4]);
    const b = tensor([4, 3, 2, 1], [4]);
    const g = tensor([1, -2, 3, -4], [4], { requiresGrad: true });
    const cases: [string, () => void][] = [
      ['add 4 values (no grad)', () => noGrad(() => a.add(b))],
      ['relu 4 values (no grad)', () => noGrad(() => relu(a))],
      ['relu 4 values (recording grad)', () => relu(g)],
    ];
    for (const [name, fn] of cases) {
      const us = perOpMicros(fn, 20000);
      const t = torch.get(`${name}@1`);
      report(`overhead ${name}`, threads, us / 1000, t === undefined ? undefined : t, { normlab_us: Math.round(us * 100) / 100 });
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();

// SGEMM benchmark: normlab's native sgemm against torch.mm on the same sizes and thread
// counts, in one run. Prints one JSON line per (size, threads):
//   {"name": "sgemm MxNxK", "threads": T, "normlab_ms", "torch_ms", "ratio": torch/normlab, "gflops"}
// torch_ms is null when PyTorch cannot be imported.
//
// Usage: node dist/bench/gemm.js            (after npx tsc -p tsconfig.json)
import { loadAddon } from '../src/backend/native.js';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

interface Addon {
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
  ): void;
  getNumThreads(): number;
  setNumThreads(n: number): void;
}

// This file runs as dist/bench/gemm.js; the repository root is two levels up.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const addon = loadAddon() as Addon;
const PYTHON = '/usr/bin/python3';

// Must match SIZES in bench/torch/gemm.py: square, small, two convolution-layer shapes
// (im2col GEMMs) and a long-K shape.
const SIZES: [number, number, number][] = [
  [1024, 1024, 1024],
  [256, 256, 256],
  [64, 1024, 576],
  [16, 784, 25],
  [512, 512, 4608],
];
const THREADS = [1, 2];

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// PyTorch may still be installing when the bench starts; give it a few tries.
function torchAvailable(): boolean {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
      return true;
    } catch {
      if (attempt < 2) sleep(10_000);
    }
  }
  return false;
}

// Warm-up, then the median of 9 samples, each averaging enough calls to last >= 20 ms
// (the same procedure as bench/torch/gemm.py).
function timeMs(fn: () => void): number {
  fn();
  let t0 = performance.now();
  fn();
  const once = Math.max(performance.now() - t0, 1e-4);
  const reps = Math.max(1, Math.floor(20 / once));
  const samples: number[] = [];
  for (let s = 0; s < 9; s++) {
    t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    samples.push((performance.now() - t0) / reps);
  }
  samples.sort((a, b) => a - b);
  return samples[4];
}

function filled(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random();
  return a;
}

function torchTimes(threads: number): Map<string, number> {
  const out = new Map<string, number>();
  const script = path.join(root, 'bench/torch/gemm.py');
  const text = execFileSync(PYTHON, [script, '--threads', String(threads), '--json'], { encoding: 'utf8' });
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as { name: string; torch_ms: number };
    out.set(r.name, r.torch_ms);
  }
  return out;
}

function main(): void {
  const haveTorch = torchAvailable();
  if (!haveTorch) console.error('gemm bench: PyTorch not importable with /usr/bin/python3; torch_ms will be null');
  const savedThreads = addon.getNumThreads();
  for (const threads of THREADS) {
    addon.setNumThreads(threads);
    const normlab = new Map<string, number>();
    for (const [M, N, K] of SIZES) {
      const A = filled(M * K);
      const B = filled(K * N);
      const C = new Float32Array(M * N);
      normlab.set(`sgemm ${M}x${N}x${K}`, timeMs(() => addon.sgemm(false, false, M, N, K, 1, A, K, B, N, 0, C, N)));
    }
    const torch = haveTorch ? torchTimes(threads) : new Map<string, number>();
    for (const [M, N, K] of SIZES) {
      const name = `sgemm ${M}x${N}x${K}`;
      const ms = normlab.get(name)!;
      const torchMs = torch.get(name) ?? null;
      console.log(
        JSON.stringify({
          name,
          threads,
          normlab_ms: Number(ms.toFixed(4)),
          torch_ms: torchMs === null ? null : Number(torchMs.toFixed(4)),
          ratio: torchMs === null ? null : Number((torchMs / ms).toFixed(3)),
          gflops: Number(((2 * M * N * K) / ms / 1e6).toFixed(1)),
        }),
      );
    }
  }
  addon.setNumThreads(savedThreads);
}

main();

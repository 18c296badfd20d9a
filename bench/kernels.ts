// Every kernel of the Backend at a small and a large shape (bench/kernel_cases.ts) beside its
// PyTorch twin (bench/torch/kernels.py, run in the same process tree with
// OMP_WAIT_POLICY=PASSIVE and the same thread count), for 1 and 2 threads.
//
// Each line: {name, kernel, threads, normlab_ms, torch_ms, ratio (torch_ms / normlab_ms), bytes,
// flops, GBs, bw_frac, GFLOPs, peak_frac, load_normlab, load_torch}. bw_frac is the achieved
// compulsory traffic over the copy bandwidth measured here with the memory verb copy of the large
// activation (128x64x32x32 floats, 32 MiB; bytes read + written), the working set of the large
// lines (a 256 MiB copy, main memory only, is reported beside it); peak_frac the achieved FLOP
// rate over sgemm 1024^3 measured here. load_* is the
// 1-minute load average when each side was timed. A ratio is printed only when both load
// averages are at most the thread count; otherwise it is null and `note` says why, and the
// summary refuses to print ratios for that thread count.
//
//   npm run build && node dist/bench/kernels.js [threads=1,2] [reps=7] [name filter]
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { backend } from '../src/backend/index.js';
import { round, runTorchJson } from './common.js';
import { kernelCases, opCases, type KernelCase } from './kernel_cases.js';

/** Median ms per call: batches of calls so each sample lasts >= 0.2 ms, at least `reps` samples. */
function timeCall(fn: () => void, reps: number): number {
  fn();
  const t0 = process.hrtime.bigint();
  fn();
  const once = Math.max(Number(process.hrtime.bigint() - t0) / 1e6, 1e-4);
  const batch = Math.max(1, Math.ceil(0.2 / once));
  // About 150 ms of samples per case (more samples for fast calls), never fewer than reps.
  const samples = Math.max(reps, Math.min(200, Math.floor(150 / (once * batch))));
  for (let i = 0; i < batch; i++) fn();
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const a = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    times.push(Number(process.hrtime.bigint() - a) / 1e6 / batch);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}

interface Line {
  name: string;
  kernel: string;
  threads: number;
  normlab_ms: number;
  torch_ms: number | null;
  ratio: number | null;
  load_normlab: number;
  load_torch: number | null;
  [k: string]: unknown;
}

export function main(): void {
  const threadsList = (process.argv[2] ?? '1,2').split(',').map(Number);
  const reps = Number(process.argv[3] ?? 7);
  const filter = process.argv[4] ?? '';
  const cases: KernelCase[] = [...kernelCases(), ...opCases()].filter((c) => c.name.includes(filter));
  const torch = new Map<string, { ms: number | null; load: number }>();
  const torchRows = runTorchJson('kernels.py', [threadsList.join(','), String(reps), filter], { OMP_WAIT_POLICY: 'PASSIVE' });
  for (const r of torchRows) torch.set(`${String(r.name)}@${Number(r.threads)}`, { ms: r.ms as number | null, load: r.load as number });

  const big = backend.full(64 << 20, 1);
  const bigOut = backend.zeros(64 << 20);
  const act = backend.full(128 * 64 * 32 * 32, 1);
  const actOut = backend.zeros(act.length);
  const g = 1024;
  const ga = backend.full(g * g, 0.5), gb = backend.full(g * g, 0.25), gc = backend.zeros(g * g);
  const lines: Line[] = [];
  for (const threads of threadsList) {
    backend.setNumThreads(threads);
    const copyMs = timeCall(() => backend.copy(act, actOut), 9);
    const bwGBs = (2 * act.length * 4) / (copyMs * 1e6);
    const copy256Ms = timeCall(() => backend.copy(big, bigOut), 5);
    const gemmMs = timeCall(() => backend.sgemm({ transA: false, transB: false, M: g, N: g, K: g, alpha: 1, a: ga, lda: g, b: gb, ldb: g, beta: 0, c: gc, ldc: g }), 5);
    const peakGF = (2 * g ** 3) / (gemmMs * 1e6);
    console.log(JSON.stringify({ name: 'machine', threads, copy_GBs: round(bwGBs), copy256MiB_GBs: round((2 * big.length * 4) / (copy256Ms * 1e6)), sgemm1024_GFLOPs: round(peakGF), load: round(loadavg()[0]) }));
    for (const c of cases) {
      const fn = c.setup();
      const ms = timeCall(fn, reps);
      const load = loadavg()[0];
      const t = torch.get(`${c.name}@${threads}`);
      const torchMs = t?.ms ?? null;
      const quiet = load <= threads && (t === undefined || t.load <= threads);
      const line: Line = {
        name: c.name,
        kernel: c.kernel,
        threads,
        normlab_ms: round(ms),
        torch_ms: torchMs === null ? null : round(torchMs),
        ratio: torchMs !== null && quiet ? round(torchMs / ms) : null,
        bytes: c.bytes,
        flops: c.flops,
        GBs: round(c.bytes / (ms * 1e6)),
        bw_frac: round(c.bytes / (ms * 1e6) / bwGBs),
        GFLOPs: round(c.flops / (ms * 1e6)),
        peak_frac: round(c.flops / (ms * 1e6) / peakGF),
        load_normlab: round(load),
        load_torch: t === undefined ? null : round(t.load),
      };
      if (torchMs !== null && !quiet) line.note = `load average above ${threads}: no ratio`;
      if (t === undefined) line.note = 'no PyTorch twin';
      lines.push(line);
      console.log(JSON.stringify(line));
    }
  }
  for (const threads of threadsList) {
    const mine = lines.filter((l) => l.threads === threads && l.torch_ms !== null);
    const loaded = mine.filter((l) => l.load_normlab > threads || (l.load_torch ?? 0) > threads);
    if (loaded.length > 0) {
      const worst = Math.max(...loaded.map((l) => Math.max(l.load_normlab, l.load_torch ?? 0)));
      console.log(JSON.stringify({ summary: threads, refused: `${loaded.length} of ${mine.length} lines were timed at a load average above ${threads} (up to ${round(worst)}): no ratios reported` }));
      continue;
    }
    const ratios = mine.map((l) => l.ratio as number);
    const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
    const below = mine.filter((l) => (l.ratio as number) < 1).map((l) => `${l.name} (${l.ratio})`);
    console.log(JSON.stringify({ summary: threads, lines: mine.length, geomean_ratio: round(geo), below_1: below }));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();

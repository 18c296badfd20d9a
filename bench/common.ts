// Shared benchmark helpers: timing, the PyTorch counterpart runner and JSON-line output.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface BenchLine {
  name: string;
  threads: number;
  normlab_ms: number;
  torch_ms: number | null;
  ratio: number | null;
  [extra: string]: unknown;
}

/** Median wall time in ms of fn over `reps` runs after `warmup` runs. */
export function timeMs(fn: () => void, reps = 10, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * Median wall time and mean process CPU time (all threads, user + system) in ms of fn over `reps`
 * runs after `warmup` runs. On a loaded machine the CPU time of a single-threaded run is the
 * steadier number: it does not count the time the process waits for a core.
 */
export function timeWallCpu(fn: () => void, reps = 10, warmup = 2): { ms: number; cpuMs: number } {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const c = process.cpuUsage(c0);
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], cpuMs: (c.user + c.system) / 1e3 / reps };
}

export const PYTHON = '/usr/bin/python3';

/**
 * Runs bench/torch/<script> with args; it prints one JSON object per line with at least
 * {name, threads, ms}. Returns name@threads -> ms, or an empty map when PyTorch is missing.
 */
export function runTorch(script: string, args: string[]): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(PYTHON)) return out;
  const r = spawnSync(PYTHON, [`bench/torch/${script}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    process.stderr.write(`bench: ${script} failed (is python3-torch installed?): ${r.stderr.slice(-500)}\n`);
    return out;
  }
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const o = JSON.parse(line) as { name: string; threads: number; ms: number };
    out.set(`${o.name}@${o.threads}`, o.ms);
  }
  return out;
}

/**
 * Runs bench/torch/<script> with args and returns every JSON object it printed (one per line),
 * for counterparts that report more than a time (accuracy, seconds). Empty when PyTorch is missing
 * or the script fails (its stderr tail is printed).
 */
export function runTorchJson(script: string, args: string[], env: Record<string, string> = {}): Record<string, unknown>[] {
  if (!existsSync(PYTHON)) return [];
  const r = spawnSync(PYTHON, [`bench/torch/${script}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  if (r.status !== 0) {
    process.stderr.write(`bench: ${script} failed (is python3-torch installed?): ${(r.stderr ?? String(r.error)).slice(-500)}\n`);
    return [];
  }
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function report(name: string, threads: number, normlabMs: number, torchMs: number | undefined, extra: Record<string, unknown> = {}): BenchLine {
  const line: BenchLine = {
    name,
    threads,
    normlab_ms: round(normlabMs),
    torch_ms: torchMs === undefined ? null : round(torchMs),
    ratio: torchMs === undefined ? null : round(torchMs / normlabMs),
    ...extra,
  };
  console.log(JSON.stringify(line));
  return line;
}

export function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

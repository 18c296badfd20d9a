// Runs the normlab command in child processes (asynchronously, so several run at once).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './fixtures.js';

export const CLI = join(repoRoot, 'bin', 'normlab.js');

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `normlab args…`; a command still running after timeoutMs is killed (a hang fails the test instead of stalling it). */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 180_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NORMLAB_NUM_THREADS: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Runs the tasks with at most `limit` at a time; resolves with their results in order. */
export async function inPool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array<T>(tasks.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return out;
}

/** A JavaScript stack frame line, which a CLI message must not show (unless NORMLAB_DEBUG=1). */
export const STACK_LINE = /^\s+at .+(\(|:\d+:\d+)/m;

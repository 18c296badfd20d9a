// A run directory as `normlab train --out` uses it: checked before anything is loaded, locked for
// one training at a time, never overwritten unless asked.
//
// - The path must be a directory or creatable: a file, a path under /proc or an unwritable folder
//   fails at once with the path and the OS error.
// - Lock: `.normlab-lock` holds {pid, host, process start time, command}. It is created with
//   link(2) from a complete temp file, so another process sees a whole lock or none. A lock whose
//   process is gone (same host, pid not running or running with another start time) is stale and
//   taken over; a live one refuses the second training, naming the first.
// - A directory that already holds files is refused unless resume (continue the run) or
//   overwrite (replace it; its run files are removed only once the new run's data and model are
//   ready, so a command that fails early leaves the old run intact).
// - Temp files and temp checkpoint sets of killed runs are removed when the lock is taken.
import { linkSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureDir, processAlive, tempName } from '../io/atomic.js';
import { CHECKPOINTS, removeStaleCheckpointTemps } from './checkpoint.js';
import { jsonErrorAt } from '../io/jsonFile.js';

/** A refused run directory or resume (the CLI exits with code 2). */
export class RunDirError extends Error {
  override name = 'RunDirError';
}

export const LOCK_FILE = '.normlab-lock';

/** The files a run writes; --overwrite removes these and nothing else. */
export const RUN_FILES = [
  'config.json', 'metrics.jsonl', 'results.json', 'last.safetensors', 'best.safetensors', 'optimizer.safetensors',
  'trainer-state.json', CHECKPOINTS, 'report.html', 'eval.json', 'analysis.json', 'record.json', 'tensorboard',
];

interface LockInfo {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), to tell a reused pid. */
  start?: string;
  started: string;
  command: string;
}

function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function readLock(path: string): LockInfo | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return typeof v.pid === 'number' ? v : null;
  } catch {
    return null;
  }
}

function lockIsLive(l: LockInfo): boolean {
  if (l.host !== hostname()) return true;
  if (!processAlive(l.pid)) return false;
  const start = processStart(l.pid);
  return l.start === undefined || start === undefined || start === l.start;
}

export interface RunDirOptions {
  resume?: boolean;
  overwrite?: boolean;
  /** The flag that named the directory, for messages (default '--out'). */
  flag?: string;
  log?: (line: string) => void;
}

export interface RunDir {
  path: string;
  /** The stored config.json of the run in the directory, or null. */
  storedConfig(): Record<string, unknown> | null;
  /** Removes the previous run's files (RUN_FILES). */
  clear(): void;
  release(): void;
}

/** Checks, creates and locks a run directory; throws RunDirError or an Error naming the path and the OS error. */
export function openRunDir(dir: string, o: RunDirOptions = {}): RunDir {
  const flag = o.flag ?? '--out';
  const path = resolve(dir);
  let isDir = true;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // absent: created below
  }
  if (!isDir) throw new RunDirError(`${flag}: '${path}' is a file, expected a directory for the run`);
  try {
    ensureDir(path, flag);
  } catch (err) {
    throw new RunDirError((err as Error).message);
  }
  const release = takeLock(path, flag);
  try {
    const removed = removeStaleCheckpointTemps(path);
    if (removed.length > 0) o.log?.(`removed ${removed.length} temp file(s) left by an interrupted run in ${path}: ${removed.join(', ')}`);
    const entries = readdirSync(path).filter((n) => n !== LOCK_FILE);
    if (entries.length > 0 && !o.resume && !o.overwrite) {
      const shown = entries.sort().slice(0, 5).join(', ') + (entries.length > 5 ? `, … ${entries.length} in all` : '');
      throw new RunDirError(`${flag}: '${path}' already holds files (${shown}); pass --resume to continue the run there, --overwrite to replace it, or choose another ${flag}`);
    }
  } catch (err) {
    release();
    throw err;
  }
  return {
    path,
    storedConfig: () => {
      const f = join(path, 'config.json');
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch {
        return null;
      }
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch (err) {
        throw new RunDirError(`--resume: ${f}: ${jsonErrorAt(text, err)}; the run cannot be compared with the new flags`);
      }
    },
    clear: () => {
      for (const f of RUN_FILES) rmSync(join(path, f), { recursive: true, force: true });
    },
    release,
  };
}

function takeLock(dir: string, flag: string): () => void {
  const path = join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), start: processStart(process.pid), started: new Date().toISOString(), command: process.argv.slice(1).join(' ') };
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, JSON.stringify(mine) + '\n');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new RunDirError(`${flag}: cannot write in '${dir}': ${e.message}`);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      }
      const held = readLock(path);
      if (held !== null && lockIsLive(held)) {
        throw new RunDirError(
          `${flag}: '${dir}' is in use by another training (pid ${held.pid} on ${held.host}, started ${held.started}: ${held.command}); ` +
            `wait for it to finish or choose another ${flag}` + (held.host !== hostname() ? ` (if that process is gone, remove ${path})` : ''),
        );
      }
      // Stale (or unreadable): move it aside under a name of our own, so of two processes that
      // found the same stale lock only one removes it.
      const aside = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, aside);
      } catch {
        continue;
      }
      const moved = readLock(aside);
      if (moved !== null && held !== null && moved.pid !== held.pid && lockIsLive(moved)) {
        // Another process took the lock between our read and the rename: put it back.
        try {
          linkSync(aside, path);
        } catch {
          // a third process holds it now
        }
        unlinkSync(aside);
        throw new RunDirError(`${flag}: '${dir}' is in use by another training (pid ${moved.pid}, started ${moved.started}: ${moved.command}); wait for it to finish or choose another ${flag}`);
      }
      unlinkSync(aside);
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (readLock(path)?.pid === process.pid) {
      try {
        unlinkSync(path);
      } catch {
        // removed already
      }
    }
  };
  process.on('exit', release);
  return release;
}

/** Keys of a training configuration that do not change what is trained. */
// 'device': a run may continue on another device (checkpoints hold host values).
const OPERATIONAL = new Set(['device', 'threads', 'dataDir', 'download', 'label', 'derivedSeed', 'input', 'config_changes', 'paramGroups']);

function canonical(v: unknown): string {
  if (v === undefined) return 'unset';
  if (Array.isArray(v)) return `[${v.map(canonical).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${k}: ${canonical((v as Record<string, unknown>)[k])}`).join(', ')}}`;
  return JSON.stringify(v);
}

/** `key: stored → now` for each training setting that differs (operational ones excepted). */
export function configDifferences(stored: Record<string, unknown>, now: Record<string, unknown>, keys?: string[]): string[] {
  const all = keys ?? [...new Set([...Object.keys(stored), ...Object.keys(now)])].filter((k) => !OPERATIONAL.has(k));
  const out: string[] = [];
  for (const k of all.sort()) {
    const a = canonical(stored[k]);
    const b = canonical(now[k]);
    if (a !== b) out.push(`${k}: ${a} (stored) → ${b} (now)`);
  }
  return out;
}

// Atomic file writes: write a temp file in the same folder, then rename over the target, so a
// reader never sees a half-written file and a crash leaves the previous version in place.
// Temp names are `<target>.tmp-<pid>-<ms>`: a later run that finds one whose process is gone
// removes it (removeStaleTemps).
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, parse, resolve } from 'node:path';
import { faultPoint } from './faults.js';

const TEMP = /\.tmp-(\d+)-\d+$/;

/** A temp name next to path, owned by this process. */
export function tempName(path: string): string {
  return `${path}.tmp-${process.pid}-${Date.now()}`;
}

/**
 * Creates dir and its missing parents one level at a time. Node's mkdirSync(…, { recursive: true })
 * loops forever on some paths under /proc (Node 20: `mkdirSync('/proc/foo', { recursive: true })`
 * never returns); this fails at once with the path and the OS error instead. `what` names the flag
 * or function for the message.
 */
export function ensureDir(dir: string, what = 'ensureDir'): void {
  const abs = resolve(dir);
  const root = parse(abs).root;
  const parts = abs.slice(root.length).split(/[\\/]+/).filter((p) => p !== '');
  let cur = root;
  for (const part of parts) {
    cur = join(cur, part);
    try {
      mkdirSync(cur);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'EEXIST') throw new Error(`${what}: cannot create directory '${cur}': ${e.message}`);
      let isDir = false;
      try {
        isDir = statSync(cur).isDirectory();
      } catch {
        // a dangling link: reported below
      }
      if (!isDir) throw new Error(`${what}: '${cur}' exists and is not a directory${cur === abs ? '' : ` (needed as a parent of '${abs}')`}`);
    }
  }
}

/** Writes data to path with one write and (sync) an fsync, then closes. */
export function writeFileDurable(path: string, data: string | Uint8Array, sync = false): void {
  const fd = openSync(path, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  ensureDir(dirname(path), 'writeFileAtomic');
  const tmp = tempName(path);
  const name = basename(path);
  try {
    faultPoint(`before write ${name}`);
    writeFileDurable(tmp, data);
    faultPoint(`after write ${name} (before its rename)`);
    renameSync(tmp, path);
    faultPoint(`after rename ${name}`);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** Whether a process with this pid exists on this machine. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files and folders (`*.tmp-<pid>-<ms>`) in dir whose writing process is gone:
 * what a killed run left behind. Returns their names.
 */
export function removeStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP.exec(n);
    if (m === null || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    rmSync(join(dir, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}
